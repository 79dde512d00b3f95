/** Display formatting only; the page does no data work itself. */

// The same byte formatting as the CLI (a pure function; no work happens here).
export { formatBytes } from "../core/formatBytes.ts";

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Parameters a step recorded, minus its bookkeeping (what it found, input hashes), each kept short. */
export function formatParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params).filter(([k]) => k !== "summary" && k !== "inputs_fingerprint");
  if (entries.length === 0) return "no parameters";
  const short = (text: string) => (text.length > 60 ? `${text.slice(0, 57)}…` : text);
  return entries.map(([k, v]) => `${k}=${short(typeof v === "string" ? v : JSON.stringify(v))}`).join(", ");
}

export function formatRate(hz: number): string {
  return Number.isFinite(hz) ? hz.toFixed(2) : "—";
}

export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
