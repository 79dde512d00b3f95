/**
 * Cross-checks of playlist sections against what the recording itself shows, so a playlist or
 * movie-length table that does not match the recording produces warnings instead of silently
 * shifted sections (the original only logs "movie not found, skipping"):
 *
 * 1. skipped movies: every later section is computed without that movie's frames, so it is named
 *    together with the sections it may shift, and the frame pulses the playlist does not account for;
 * 2. sections past the last detected frame pulse (their bounds get clipped);
 * 3. pauses in the frame pulses inside a movie's content (the projector stops between movies, so a
 *    pause inside content means the section is not where the table says);
 * 4. repeated showings of a movie whose light-reference traces do not correlate (the same movie
 *    should give the same light trace each time; a shifted section does not).
 */
import type { FrameClock } from "./frameClock.ts";
import type { TraceRanges } from "./lightTemplate.ts";
import type { PlaylistSections } from "./playlistSections.ts";

/** An inter-frame interval this many times the median is a pause in the pulses. */
export const FRAME_PAUSE_FACTOR = 3;
/** Repeated showings whose light traces correlate below this are reported. */
export const MIN_REPEAT_CORRELATION = 0.5;

export function checkPlaylistSections(
  sections: PlaylistSections,
  clock: FrameClock,
  lightCh1: TraceRanges | undefined,
  rate: number,
  files: { playlist: string; movieLength: string },
): string[] {
  const warnings: string[] = [];
  const n = clock.frameCount;

  if (sections.skipped.length) {
    for (const { movie, position } of sections.skipped) {
      const later = sections.occurrences.filter((o) => o.position > position).map((o) => o.movie);
      warnings.push(
        `movie "${movie}" (position ${position + 1} of the playlist) is not in ${files.movieLength}: it was skipped ` +
          `without advancing the frame counter, as the original does, so ${later.length ? `the ${later.length} later section(s) (${unique(later).join(", ")}) may start too early by its length` : "no later section is affected"}`,
      );
    }
    const unexplained = n - sections.finalFrameCount;
    warnings.push(
      `the recording has ${n} frame pulses; the playlist without the skipped movie(s) accounts for ` +
        `${sections.finalFrameCount}` +
        (unexplained > 0 ? ` (${unexplained} frames unexplained): add the missing length(s) to ${files.movieLength} and run add_section_time again` : ""),
    );
  }

  const clipped = sections.occurrences.filter((o) => o.endFrame > clock.lastFrame);
  if (clipped.length) {
    warnings.push(
      `${clipped.length} section(s) end after the last detected frame pulse (frame ${clock.lastFrame}) and were clipped to it: ` +
        clipped.map((o) => `${o.movie} frames ${o.startFrame}–${o.endFrame}`).join(", ") +
        ` — the playlist needs ${sections.finalFrameCount} frames but ${n} were detected`,
    );
  }

  const pauses = framePauses(clock, rate);
  for (const o of sections.occurrences) {
    const inside = pauses.filter((p) => p.frame >= o.contentStart && p.frame + 1 < Math.min(o.contentEnd, n));
    if (inside.length) {
      const p = inside[0];
      warnings.push(
        `frame pulses pause for ${p.seconds.toFixed(2)} s inside the content of "${o.movie}"` +
          `${o.occurrence ? ` (showing ${o.occurrence + 1})` : ""} (after frame ${p.frame}; ${inside.length} pause(s) in all): ` +
          `the playlist or ${files.movieLength} may not match this recording`,
      );
    }
  }

  if (lightCh1) {
    const byMovie = new Map<string, [number, number][]>();
    for (const o of sections.occurrences) {
      const rows = byMovie.get(o.movie) ?? [];
      rows.push([clock.sampleAt(o.contentStart), clock.sampleAt(o.contentEnd)]);
      byMovie.set(o.movie, rows);
    }
    for (const [movie, rows] of byMovie) {
      if (rows.length < 2) continue;
      const first = lightCh1.slice(rows[0][0], rows[0][1]);
      for (let k = 1; k < rows.length; k++) {
        const r = pearson(first, lightCh1.slice(rows[k][0], rows[k][1]));
        if (r !== undefined && r < MIN_REPEAT_CORRELATION) {
          warnings.push(
            `the light reference of "${movie}" showing ${k + 1} does not match showing 1 (correlation ${r.toFixed(2)}): ` +
              `its section is probably shifted (check the playlist and ${files.movieLength})`,
          );
        }
      }
    }
  }
  return warnings;
}

/** Pauses in the frame pulses: intervals longer than FRAME_PAUSE_FACTOR × the median interval. */
export function framePauses(clock: FrameClock, rate: number): { frame: number; seconds: number; samples: number }[] {
  const t = clock.timestamps;
  if (t.length < 3) return [];
  const intervals = new Float64Array(t.length - 1);
  for (let i = 0; i < intervals.length; i++) intervals[i] = t[i + 1] - t[i];
  const median = Float64Array.from(intervals).sort()[intervals.length >> 1];
  const out: { frame: number; seconds: number; samples: number }[] = [];
  if (!(median > 0)) return out;
  for (let i = 0; i < intervals.length; i++) {
    if (intervals[i] > FRAME_PAUSE_FACTOR * median) {
      out.push({ frame: i, samples: intervals[i], seconds: intervals[i] / rate });
    }
  }
  return out;
}

/** Pearson correlation over the common length, or undefined if either trace is flat or too short. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | undefined {
  const n = Math.min(a.length, b.length);
  if (n < 3) return undefined;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0 && sbb > 0)) return undefined;
  return sab / Math.sqrt(saa * sbb);
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
