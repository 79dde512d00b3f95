/**
 * The lab's playlist table (`playlist.csv`, domain brief §6.2): columns `playlist_name` (key) and
 * `movie_names`, a Python list literal of quoted file names, e.g. "['movie_a.mov', 'movie_b.mov']".
 *
 * The original runs `eval()` on that cell. Here it is parsed as exactly one list of string literals
 * (single or double quotes, `\\`, `\'` and `\"` escapes, an optional trailing comma); anything else —
 * names, numbers, nested lists, tuples, string prefixes, implicit concatenation — is refused with the
 * file, line and playlist in the message.
 */
import { ConfigFileError, parseCsvTable, type CsvRecord } from "./csvTable.ts";

export interface PlaylistTable {
  fileName: string;
  /** Records by playlist name; more than one means the key is duplicated. */
  byName: Map<string, CsvRecord[]>;
}

export interface PlaylistMovies {
  playlistName: string;
  /** File names as written in the cell, e.g. `step_flash_4s_4i_2x.mov`. */
  fileNames: string[];
  /** Movie names: the file names cut at the first `.` (as the original's `x.split(".")[0]`). */
  movies: string[];
  line: number;
}

export function parsePlaylistCsv(text: string, fileName: string): PlaylistTable {
  const table = parseCsvTable(text, fileName, ["playlist_name", "movie_names"]);
  const byName = new Map<string, CsvRecord[]>();
  for (const record of table.records) {
    const name = record.cells.playlist_name;
    if (!name) throw new ConfigFileError(`${fileName} line ${record.line}: empty playlist_name`, fileName);
    byName.set(name, [...(byName.get(name) ?? []), record]);
  }
  return { fileName, byName };
}

/** The movies of one playlist, in play order (not yet repeated). */
export function playlistMovies(table: PlaylistTable, playlistName: string): PlaylistMovies {
  const records = table.byName.get(playlistName);
  if (!records) {
    const known = [...table.byName.keys()];
    throw new ConfigFileError(
      `${table.fileName}: no playlist "${playlistName}" ` +
        `(it lists ${known.length ? known.map((k) => `"${k}"`).join(", ") : "no playlists"})`,
      table.fileName,
    );
  }
  if (records.length > 1) {
    throw new ConfigFileError(
      `${table.fileName}: playlist "${playlistName}" is defined ${records.length} times ` +
        `(lines ${records.map((r) => r.line).join(", ")}); playlist_name must be unique`,
      table.fileName,
    );
  }
  const record = records[0];
  const where = `${table.fileName} line ${record.line} (playlist "${playlistName}")`;
  const fileNames = parsePythonStringList(record.cells.movie_names, where, table.fileName);
  const movies = fileNames.map((f) => {
    const movie = movieNameOf(f);
    if (!movie) throw new ConfigFileError(`${where}: movie file name "${f}" has no name before its first "."`, table.fileName);
    return movie;
  });
  return { playlistName, fileNames, movies, line: record.line };
}

/** `a.b.mov` → `a`: the original cuts at the FIRST dot. */
export function movieNameOf(fileName: string): string {
  return fileName.split(".")[0].trim();
}

/**
 * Parses a Python list literal of strings, e.g. `['a.mov', "b.mov"]`. `where` names the source in
 * error messages, `file` the file it came from.
 */
export function parsePythonStringList(cell: string, where: string, file?: string): string[] {
  const s = cell.trim();
  let i = 0;
  const fail = (what: string): never => {
    throw new ConfigFileError(
      `${where}: movie_names must be a list of quoted names like ['a.mov', 'b.mov']; ${what} ` +
        `in ${JSON.stringify(cell.length > 120 ? cell.slice(0, 117) + "…" : cell)}`,
      file,
    );
  };
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };

  if (s[i] !== "[") fail(s ? `it starts with "${s[0]}" instead of "["` : "the cell is empty");
  i++;
  const names: string[] = [];
  skipSpace();
  if (s[i] === "]") {
    i++;
  } else {
    for (;;) {
      skipSpace();
      const quote = s[i];
      if (quote !== "'" && quote !== '"') {
        fail(i >= s.length ? "the list is not closed" : `expected a quoted name at character ${i + 1}, found "${s[i]}"`);
      }
      i++;
      let value = "";
      for (;;) {
        if (i >= s.length || s[i] === "\n") fail(`a name starting with ${quote} is not closed`);
        const c = s[i];
        if (c === "\\") {
          const next = s[i + 1];
          if (next === "\\" || next === "'" || next === '"') {
            value += next;
            i += 2;
            continue;
          }
          fail(`unsupported escape "\\${next ?? ""}"`);
        }
        i++;
        if (c === quote) break;
        value += c;
      }
      names.push(value);
      skipSpace();
      if (s[i] === ",") {
        i++;
        skipSpace();
        if (s[i] === "]") {
          i++;
          break;
        }
        continue;
      }
      if (s[i] === "]") {
        i++;
        break;
      }
      fail(i >= s.length ? "the list is not closed" : `expected "," or "]" at character ${i + 1}, found "${s[i]}"`);
    }
  }
  skipSpace();
  if (i < s.length) fail(`unexpected text after the closing "]"`);
  return names;
}
