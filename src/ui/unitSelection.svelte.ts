/**
 * Which units of one recording are selected. The table and the electrode map change it; the plots
 * read it. The last unit picked is the "primary" one (raster, details); all selected units are
 * overlaid where a plot can compare them (waveform, firing rate), up to `MAX_OVERLAY`.
 */
export const MAX_OVERLAY = 6;

export class UnitSelection {
  ids = $state<string[]>([]);

  readonly primary = $derived(this.ids.at(-1));
  /** The most recent picks, oldest first, for overlays. */
  readonly overlay = $derived(this.ids.slice(-MAX_OVERLAY));

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  /** A plain pick replaces the selection; `additive` (Ctrl/⌘/Shift-click) toggles one unit in it. */
  pick(id: string, additive = false): void {
    if (!additive) this.ids = [id];
    else if (this.has(id)) this.ids = this.ids.filter((x) => x !== id);
    else this.ids = [...this.ids, id];
  }

  clear(): void {
    this.ids = [];
  }
}
