/**
 * The lab's movie-length table (`movie_length.csv`, domain brief §6.3): columns `movie_name` (no
 * extension, key) and `movie_length` (integer display frames of content, without the 180-frame pads).
 *
 * Rows are checked when the table is read, but a bad row only matters if a playlist uses that movie:
 * it is kept in `invalid` and reported by `lookupMovieLength`, so one broken line in the lab's shared
 * table does not block every other playlist.
 */
import { ConfigFileError, parseCsvTable } from "./csvTable.ts";

export interface MovieLengthTable {
  fileName: string;
  lengths: Map<string, { frames: number; line: number }>;
  /** Movies whose row cannot be used, with the reason (bad number, conflicting duplicates). */
  invalid: Map<string, string>;
}

export function parseMovieLengthCsv(text: string, fileName: string): MovieLengthTable {
  const table = parseCsvTable(text, fileName, ["movie_name", "movie_length"]);
  const lengths = new Map<string, { frames: number; line: number }>();
  const invalid = new Map<string, string>();
  for (const { line, cells } of table.records) {
    const movie = cells.movie_name;
    if (!movie) throw new ConfigFileError(`${fileName} line ${line}: empty movie_name`, fileName);
    const raw = cells.movie_length;
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      invalid.set(movie, `${fileName} line ${line}: movie_length of "${movie}" must be a whole number of frames ≥ 0, got "${raw}"`);
      continue;
    }
    const frames = Number(raw);
    const previous = lengths.get(movie);
    if (previous && previous.frames !== frames) {
      invalid.set(
        movie,
        `${fileName}: "${movie}" has two lengths (${previous.frames} on line ${previous.line}, ${frames} on line ${line})`,
      );
      continue;
    }
    if (!previous) lengths.set(movie, { frames, line });
  }
  for (const movie of invalid.keys()) lengths.delete(movie);
  return { fileName, lengths, invalid };
}

/**
 * The length of `movie` in display frames, or undefined when the table does not list it (the
 * original then skips the movie with a warning). A listed movie with an unusable row throws.
 */
export function lookupMovieLength(table: MovieLengthTable, movie: string): number | undefined {
  const problem = table.invalid.get(movie);
  if (problem) throw new ConfigFileError(problem, table.fileName);
  return table.lengths.get(movie)?.frames;
}
