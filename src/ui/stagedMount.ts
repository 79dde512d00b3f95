/**
 * Views mounted a task apart. Mounting every view of a 1,000-unit session at once (units table,
 * electrode map, unit plots, raster, features, light reference, layout tree, with the layout
 * their size bindings force) was one main-thread task of 120–220 ms when a session opened and
 * again after every pipeline run (the views are rebuilt then). `{#await afterTasks(k) then}` mounts
 * view k `k` tasks later, so each view's setup and layout is a task of its own and the page stays
 * responsive between them.
 */
export function afterTasks(count: number): Promise<void> {
  return new Promise((resolve) => {
    const next = (left: number): void => {
      if (left <= 0) resolve();
      else setTimeout(() => next(left - 1), 0);
    };
    next(count);
  });
}
