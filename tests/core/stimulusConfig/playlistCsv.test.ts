import { describe, expect, it } from "vitest";
import { ConfigFileError, parseCsvTable } from "../../../src/core/stimulusConfig/csvTable.ts";
import { movieNameOf, parsePlaylistCsv, parsePythonStringList, playlistMovies } from "../../../src/core/stimulusConfig/playlistCsv.ts";
import { readFixture } from "../fixtures/exampleSession.ts";

describe("playlist CSV", () => {
  it("reads the example playlists and cuts extensions at the first dot", () => {
    const table = parsePlaylistCsv(readFixture("playlist.example.csv"), "playlist.example.csv");
    expect([...table.byName.keys()]).toEqual(["demo_set_a", "demo_single_flash"]);
    const a = playlistMovies(table, "demo_set_a");
    expect(a.fileNames).toEqual(["gray_baseline_60.mov", "step_flash_4s_4i_2x.mov", "checker_noise_10x10_20hz_s7_1min.mov"]);
    expect(a.movies).toEqual(["gray_baseline_60", "step_flash_4s_4i_2x", "checker_noise_10x10_20hz_s7_1min"]);
    expect(a.line).toBe(2);
    expect(movieNameOf("a.b.mov")).toBe("a");
  });

  it("accepts double quotes, escapes, a trailing comma, CRLF and a BOM", () => {
    expect(parsePythonStringList(`["a.mov", 'b\\'s.mov',]`, "x")).toEqual(["a.mov", "b's.mov"]);
    expect(parsePythonStringList("[]", "x")).toEqual([]);
    const csv = '\uFEFFplaylist_name,movie_names\r\np,"[""x.mov"", \'y.avi\']"\r\n\r\n';
    expect(playlistMovies(parsePlaylistCsv(csv, "p.csv"), "p").movies).toEqual(["x", "y"]);
  });

  it.each([
    ["__import__('os').system('rm -rf /')", /starts with "_"/],
    ["['a.mov', 3]", /expected a quoted name at character 11, found "3"/],
    ["[['a.mov']]", /expected a quoted name/],
    ["('a.mov',)", /starts with "\("/],
    ["['a.mov' 'b.mov']", /expected "," or "\]"/],
    ["['a.mov'", /not closed/],
    ["['a.mov'] + ['b.mov']", /unexpected text after the closing/],
    ["[r'a.mov']", /expected a quoted name/],
    ["['a\\n.mov']", /unsupported escape/],
    ["", /the cell is empty/],
  ])("refuses %s with a message naming file, line and playlist", (cell, reason) => {
    const csv = `playlist_name,movie_names\nok,"['a.mov']"\nbad,"${cell.replaceAll('"', '""')}"\n`;
    const table = parsePlaylistCsv(csv, "playlist.csv");
    expect(() => playlistMovies(table, "ok")).not.toThrow();
    let error: unknown;
    try {
      playlistMovies(table, "bad");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as Error).message).toMatch(/^playlist\.csv line 3 \(playlist "bad"\): movie_names must be a list/);
    expect((error as Error).message).toMatch(reason);
  });

  it("names the known playlists when the requested one is missing, and refuses duplicates", () => {
    const table = parsePlaylistCsv(readFixture("playlist.example.csv"), "playlist.csv");
    expect(() => playlistMovies(table, "set6")).toThrow(/playlist\.csv: no playlist "set6" \(it lists "demo_set_a", "demo_single_flash"\)/);
    const dup = parsePlaylistCsv(`playlist_name,movie_names\np,"['a.mov']"\np,"['b.mov']"\n`, "d.csv");
    expect(() => playlistMovies(dup, "p")).toThrow(/defined 2 times \(lines 2, 3\)/);
  });

  it("refuses a file without the columns, and a movie name that is only an extension", () => {
    expect(() => parsePlaylistCsv("name,movies\na,b\n", "p.csv")).toThrow(/p\.csv: missing column\(s\) playlist_name, movie_names/);
    const table = parsePlaylistCsv(`playlist_name,movie_names\np,"['.mov']"\n`, "p.csv");
    expect(() => playlistMovies(table, "p")).toThrow(/no name before its first "\."/);
  });

  it("reports CSV structure errors with their line", () => {
    expect(() => parseCsvTable('a,b\n1,"open\n', "t.csv", ["a"])).toThrow(/t\.csv line 2: a quoted cell is never closed/);
    expect(() => parseCsvTable("a,b\n1,2,3\n", "t.csv", ["a"])).toThrow(/t\.csv line 2: 3 fields but the header has 2/);
    expect(parseCsvTable('a,b\n1,"x\ny"\n2,z\n', "t.csv", ["a"]).records.map((r) => r.line)).toEqual([2, 4]);
  });
});
