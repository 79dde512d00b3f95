/**
 * Movie sections of a playlist in display frames (domain brief §3.2), exactly as the original's
 * `_get_movie_start_end_frame`:
 *
 *   counter = 0; for each movie (the playlist repeated `repeats` times) of length L frames:
 *     start = counter + pad − pre,  end = counter + pad + post + L + 1,  counter += 2·pad + L + 1
 *
 * A movie missing from the length table is skipped and does NOT advance the counter (the original's
 * behaviour, kept for parity); the caller turns `skipped` into warnings and checks the result
 * against the recorded frame pulses (`sectionTimeChecks.ts`).
 */

export interface SectionFrameParams {
  pad_frame: number;
  pre_margin_frame_num: number;
  post_margin_frame_num: number;
}

export interface MovieOccurrence {
  movie: string;
  /** Position in the repeated movie list. */
  position: number;
  /** Occurrence number of this movie (0 for its first showing). */
  occurrence: number;
  startFrame: number;
  endFrame: number;
  /** First and one-past-last frame of the movie's content (without margins). */
  contentStart: number;
  contentEnd: number;
}

export interface PlaylistSections {
  occurrences: MovieOccurrence[];
  skipped: { movie: string; position: number }[];
  /** The frame counter after the last movie: frames the playlist accounts for. */
  finalFrameCount: number;
}

export function playlistSectionFrames(
  movies: readonly string[],
  lengthOf: (movie: string) => number | undefined,
  params: SectionFrameParams,
): PlaylistSections {
  const { pad_frame: pad, pre_margin_frame_num: pre, post_margin_frame_num: post } = params;
  const occurrences: MovieOccurrence[] = [];
  const skipped: { movie: string; position: number }[] = [];
  const seen = new Map<string, number>();
  let count = 0;
  movies.forEach((movie, position) => {
    const length = lengthOf(movie);
    if (length === undefined) {
      skipped.push({ movie, position });
      return;
    }
    const occurrence = seen.get(movie) ?? 0;
    seen.set(movie, occurrence + 1);
    occurrences.push({
      movie,
      position,
      occurrence,
      startFrame: count + pad - pre,
      endFrame: count + pad + post + length + 1,
      contentStart: count + pad,
      contentEnd: count + pad + length,
    });
    count += 2 * pad + length + 1;
  });
  return { occurrences, skipped, finalFrameCount: count };
}

/** The movie list repeated `repeats` times (≤ 0 counts as 1, as in the original). */
export function repeatPlaylist(movies: readonly string[], repeats: number): string[] {
  const n = repeats <= 0 ? 1 : Math.floor(repeats);
  const out: string[] = [];
  for (let r = 0; r < n; r++) out.push(...movies);
  return out;
}
