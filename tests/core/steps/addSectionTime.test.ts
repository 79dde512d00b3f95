import { describe, expect, it } from "vitest";
import { nanMeanTemplate } from "../../../src/core/lightTemplate.ts";
import { NDArray, scalarNumber, type SourceBytes, type SourceFile } from "../../../src/core/ndarray.ts";
import { runPipeline } from "../../../src/core/pipeline.ts";
import { playlistSectionFrames, repeatPlaylist } from "../../../src/core/playlistSections.ts";
import { exampleFrameTimestamps, exampleInputs, expected, loadedSession, nums, readFixture } from "../fixtures/exampleSession.ts";

const LENGTHS: Record<string, number> = { gray_baseline_60: 300, step_flash_4s_4i_2x: 960, checker_noise_10x10_20hz_s7_1min: 3600 };
const MARGINS = { pad_frame: 180, pre_margin_frame_num: 60, post_margin_frame_num: 120 };
const movies = Object.keys(expected.movies);

const sectionTime = (s: ReturnType<typeof loadedSession>) => s.stimulus.section_time as Record<string, NDArray>;

describe("playlist section frames", () => {
  it("reproduces the worked example's frames and final count", () => {
    const result = playlistSectionFrames(movies, (m) => LENGTHS[m], MARGINS);
    for (const o of result.occurrences) expect([o.startFrame, o.endFrame]).toEqual(expected.movies[o.movie].section_frames);
    expect(result.finalFrameCount).toBe(expected.final_frame_count);
    expect(result.skipped).toEqual([]);
  });

  it("skips a movie missing from the table without advancing the counter, as the original", () => {
    const result = playlistSectionFrames(movies, (m) => (m === "gray_baseline_60" ? undefined : LENGTHS[m]), MARGINS);
    expect(result.skipped).toEqual([{ movie: "gray_baseline_60", position: 0 }]);
    // step_flash now starts where gray_baseline_60 did
    expect([result.occurrences[0].movie, result.occurrences[0].startFrame]).toEqual(["step_flash_4s_4i_2x", 120]);
  });

  it("repeats the playlist, ≤ 0 counting as 1", () => {
    expect(repeatPlaylist(["a", "b"], 2)).toEqual(["a", "b", "a", "b"]);
    expect(repeatPlaylist(["a"], 0)).toEqual(["a"]);
  });
});

describe("light template", () => {
  it("is the NaN-ignoring mean over occurrences padded to the longest", () => {
    const t = nanMeanTemplate([Float32Array.of(1, 2, 3), Float32Array.of(3, Number.NaN), Float32Array.of(5)]);
    expect(Array.from(t)).toEqual([3, 2, 3]);
    expect(Array.from(nanMeanTemplate([Float32Array.of(Number.NaN)]))).toEqual([Number.NaN]);
  });
});

describe("add_section_time", () => {
  it("stores the worked example's sample bounds as int64 [n, 2], light templates and metadata", async () => {
    const session = loadedSession();
    const report = await runPipeline(session, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a" } }, inputs: exampleInputs() });
    expect(report.steps.map((s) => s.status)).toEqual(["completed"]);
    for (const movie of movies) {
      const st = sectionTime(session)[movie];
      expect(st.dtype).toBe("int64");
      expect(st.shape).toEqual([1, 2]);
      expect(nums(st.data)).toEqual(expected.movies[movie].section_time_samples.flat());
      // One showing: the template is the raw_ch1 slice [start, end).
      const [start, end] = expected.movies[movie].section_time_samples[0];
      const template = (session.stimulus.light_template as Record<string, NDArray>)[movie];
      expect(template.dtype).toBe("float32");
      expect(template.data.length).toBe(end - start);
      expect(template.data[0]).toBe(start % 1000);
    }
    expect(session.metadata.section_time_playlist).toBe("demo_set_a");
    expect((session.metadata.section_time_repeats as NDArray).dtype).toBe("int64");
    expect(scalarNumber(session.metadata.section_time_repeats)).toBe(1);
    expect(session.warnings).toEqual([]);
    expect(session.completedSteps.at(-1)).toMatchObject({ name: "add_section_time", params: { playlist_name: "demo_set_a", repeats: 1, pad_frame: 180 } });
  });

  it("gives a repeated movie one row per showing and averages its templates", async () => {
    const session = loadedSession();
    await runPipeline(session, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_single_flash", repeats: 2 } }, inputs: exampleInputs() });
    const st = sectionTime(session).step_flash_4s_4i_2x;
    expect(st.shape).toEqual([2, 2]);
    // frames 120–1261 and 1441–2582 (counter 0, then 2·180 + 960 + 1 = 1321)
    const ts = exampleFrameTimestamps();
    expect(nums(st.data)).toEqual([120, 1261, 1441, 2582].map((f) => Number(ts[f])));
    expect(scalarNumber(session.metadata.section_time_repeats)).toBe(2);
  });

  it("warns about a movie missing from the length table and the sections it shifts", async () => {
    const session = loadedSession();
    const lengths = readFixture("movie_length.example.csv").replace("gray_baseline_60,300\n", "");
    await runPipeline(session, {
      steps: ["add_section_time"],
      params: { add_section_time: { playlist_name: "demo_set_a" } },
      inputs: exampleInputs({ movieLengthCsv: { name: "movie_length.csv", text: lengths } }),
    });
    expect(Object.keys(session.stimulus.section_time as object)).toEqual(["step_flash_4s_4i_2x", "checker_noise_10x10_20hz_s7_1min"]);
    const messages = session.warnings.map((w) => w.message);
    expect(messages[0]).toMatch(/^add_section_time: movie "gray_baseline_60" \(position 1 of the playlist\) is not in movie_length\.csv: it was skipped without advancing the frame counter/);
    expect(messages[0]).toMatch(/the 2 later section\(s\) \(step_flash_4s_4i_2x, checker_noise_10x10_20hz_s7_1min\) may start too early/);
    expect(messages[1]).toMatch(/6200 frame pulses; the playlist without the skipped movie\(s\) accounts for 5282 \(918 frames unexplained\)/);
  });

  it("warns when sections run past the last frame pulse and clips them", async () => {
    const frames = exampleFrameTimestamps(3000);
    const session = loadedSession({ frames });
    await runPipeline(session, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a" } }, inputs: exampleInputs() });
    expect(nums(sectionTime(session).checker_noise_10x10_20hz_s7_1min.data)).toEqual([740666, Number(frames[2999])]);
    expect(session.warnings.map((w) => w.message)).toEqual([
      "add_section_time: 1 section(s) end after the last detected frame pulse (frame 2999) and were clipped to it: checker_noise_10x10_20hz_s7_1min frames 2102–5883 — the playlist needs 5943 frames but 3000 were detected",
    ]);
  });

  it("warns when frame pulses pause inside a movie's content", async () => {
    // a 2 s pause after frame 1000 (inside step_flash content, frames 841–1801)
    const frames = exampleFrameTimestamps().map((t, k) => (k > 1000 ? t + 40000n : t));
    const session = loadedSession({ frames });
    await runPipeline(session, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a" } }, inputs: exampleInputs() });
    expect(session.warnings.map((w) => w.message)).toEqual([
      'add_section_time: frame pulses pause for 2.02 s inside the content of "step_flash_4s_4i_2x" (after frame 1000; 1 pause(s) in all): the playlist or movie_length.example.csv may not match this recording',
    ]);
  });

  it("warns when the light reference of a repeated movie does not match between showings", async () => {
    // The true movie is 1200 frames long, the table says 960: showing 2 is computed 240 frames
    // (half a flash period) early, so its light trace is the inverse of showing 1's.
    const ts = exampleFrameTimestamps();
    const light = new Float32Array(Number(ts[ts.length - 1]) + 1000);
    for (const contentStart of [180, 180 + 1200 + 361]) {
      for (let f = 0; f < 1200; f++) {
        const level = Math.floor(f / 240) % 2 === 0 ? 255 : 0;
        light.fill(level, Number(ts[contentStart + f]), Number(ts[contentStart + f + 1]));
      }
    }
    const run = async (length: number) => {
      const session = loadedSession({ light });
      const text = `movie_name,movie_length\nstep_flash_4s_4i_2x,${length}\n`;
      await runPipeline(session, {
        steps: ["add_section_time"],
        params: { add_section_time: { playlist_name: "demo_single_flash", repeats: 2 } },
        inputs: exampleInputs({ movieLengthCsv: { name: "len.csv", text } }),
      });
      return session.warnings.map((w) => w.message);
    };
    expect(await run(1200)).toEqual([]);
    const warnings = await run(960);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/the light reference of "step_flash_4s_4i_2x" showing 2 does not match showing 1 \(correlation -1\.00\): its section is probably shifted/);
  });

  it("reads a light reference left in its source file a showing at a time, never whole, with the same templates and checks", async () => {
    // Showing 2 of the flash is shifted (the table says 960 frames, the movie has 1200), so the check warns.
    const ts = exampleFrameTimestamps();
    const trace = new Float32Array(Number(ts[ts.length - 1]) + 1000);
    for (const contentStart of [180, 180 + 1200 + 361]) {
      for (let f = 0; f < 1200; f++) trace.fill(Math.floor(f / 240) % 2 === 0 ? 255 : 0, Number(ts[contentStart + f]), Number(ts[contentStart + f + 1]));
    }
    const run = async (inFile: boolean) => {
      const session = loadedSession({ light: trace });
      const read = { whole: 0, bytes: 0 };
      if (inFile) {
        const raw = new Uint8Array(trace.buffer);
        const bytes: SourceBytes = {
          source: { name: "rec.cmcr" } as SourceFile,
          dtype: "float32",
          byteLength: trace.byteLength,
          read: () => (read.whole++, trace),
          readBytes(at, into) {
            read.bytes += into.byteLength;
            into.set(raw.subarray(at, at + into.byteLength));
          },
          release() {},
        };
        (session.stimulus.light_reference as Record<string, NDArray>).raw_ch1 = NDArray.fromSource(bytes, [trace.length]);
      }
      const text = "movie_name,movie_length\nstep_flash_4s_4i_2x,960\n";
      await runPipeline(session, {
        steps: ["add_section_time"],
        params: { add_section_time: { playlist_name: "demo_single_flash", repeats: 2 } },
        inputs: exampleInputs({ movieLengthCsv: { name: "len.csv", text } }),
      });
      const template = ((session.stimulus.light_template as Record<string, NDArray>).step_flash_4s_4i_2x.data as Float32Array).slice();
      return { template, warnings: session.warnings.map((w) => w.message), read };
    };
    const inMemory = await run(false);
    const inFile = await run(true);
    expect(inFile.template).toEqual(inMemory.template);
    expect(inFile.warnings).toEqual(inMemory.warnings);
    expect(inFile.warnings.join("\n")).toMatch(/does not match showing 1/);
    expect(inFile.read.whole).toBe(0);
    expect(inFile.read.bytes).toBeGreaterThan(0);
    expect(inFile.read.bytes).toBeLessThan(trace.byteLength);
  });

  it("keeps an existing section_time unless forced, and gives up with a warning on bad inputs", async () => {
    const session = loadedSession();
    const existing = new NDArray(BigInt64Array.of(1n, 2n), [1, 2]);
    session.addStimulus({ section_time: { old_movie: existing } });
    const report = await runPipeline(session, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a" } }, inputs: exampleInputs() });
    expect(report.steps[0].status).toBe("completed");
    expect(session.stimulus.section_time).toEqual({ old_movie: existing });
    expect(session.warnings.at(-1)!.message).toMatch(/section_time already exists: kept as it is/);

    await runPipeline(session, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a" } }, inputs: exampleInputs(), force: true });
    expect(Object.keys(session.stimulus.section_time as object)).toEqual(movies);

    const fresh = loadedSession();
    const bailed = await runPipeline(fresh, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "nope" } }, inputs: exampleInputs() });
    expect(bailed.steps[0].status).toBe("bailed");
    expect(fresh.hasCompleted("add_section_time")).toBe(false);
    expect(fresh.stimulus.section_time).toBeUndefined();
    expect(fresh.warnings.at(-1)!.message).toMatch(/^add_section_time: playlist\.example\.csv: no playlist "nope"/);

    const noTables = await runPipeline(fresh, { steps: ["add_section_time"], params: { add_section_time: { playlist_name: "demo_set_a" } } });
    expect(noTables.steps[0].message).toBe("needs the playlist table (playlist.csv); none was given");
  });
});
