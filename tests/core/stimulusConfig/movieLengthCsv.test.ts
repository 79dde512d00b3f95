import { describe, expect, it } from "vitest";
import { lookupMovieLength, parseMovieLengthCsv } from "../../../src/core/stimulusConfig/movieLengthCsv.ts";
import { readFixture } from "../fixtures/exampleSession.ts";

describe("movie-length CSV", () => {
  it("reads the example lengths in display frames", () => {
    const table = parseMovieLengthCsv(readFixture("movie_length.example.csv"), "movie_length.csv");
    expect(lookupMovieLength(table, "gray_baseline_60")).toBe(300);
    expect(lookupMovieLength(table, "step_flash_4s_4i_2x")).toBe(960);
    expect(lookupMovieLength(table, "checker_noise_10x10_20hz_s7_1min")).toBe(3600);
    expect(lookupMovieLength(table, "not_listed")).toBeUndefined();
  });

  it("reports a bad row only when its movie is needed, naming file and line", () => {
    const table = parseMovieLengthCsv("movie_name,movie_length\na,300\nb,480.0\nc,-5\nd,\n", "len.csv");
    expect(lookupMovieLength(table, "a")).toBe(300);
    expect(() => lookupMovieLength(table, "b")).toThrow('len.csv line 3: movie_length of "b" must be a whole number of frames ≥ 0, got "480.0"');
    expect(() => lookupMovieLength(table, "c")).toThrow(/line 4: .* got "-5"/);
    expect(() => lookupMovieLength(table, "d")).toThrow(/line 5: .* got ""/);
  });

  it("accepts identical duplicates and refuses conflicting ones", () => {
    const table = parseMovieLengthCsv("movie_name,movie_length\na,300\na,300\nb,1\nb,2\n", "len.csv");
    expect(lookupMovieLength(table, "a")).toBe(300);
    expect(() => lookupMovieLength(table, "b")).toThrow('len.csv: "b" has two lengths (1 on line 4, 2 on line 5)');
  });

  it("refuses a table without its columns", () => {
    expect(() => parseMovieLengthCsv("movie,length\na,1\n", "len.csv")).toThrow(/len\.csv: missing column\(s\) movie_name, movie_length/);
  });
});
