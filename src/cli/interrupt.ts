/**
 * Ctrl-C (SIGINT) and SIGTERM (what Slurm and Snakemake send) cancel cleanly: the first one calls
 * `cancel` (an AbortController: the running step stops at its next progress report and leaves the
 * session, and the last checkpoint, as they were); a second Ctrl-C quits at once.
 * Returns the function that removes the handlers.
 */
export const CANCELLED_EXIT_CODE = 130;

export function handleInterrupts(cancel: () => void, say: (line: string) => void): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(`hdmea: ${signal === "SIGINT" ? "Ctrl-C" : signal}: cancelling after the current step's next progress report (Ctrl-C again to quit at once)`);
      cancel();
    } else {
      say("hdmea: quitting without cleaning up");
      process.exit(CANCELLED_EXIT_CODE);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
