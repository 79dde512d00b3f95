/**
 * The demo's stimulus inputs in public/demo/stimulus/, from the same definitions the demo recording
 * was generated with (tools/demoStimulus.ts): the playlist (`demo_full`), the movie-length
 * table, one trial config per movie (`<movie>.json`) and the dense-noise movie (`<movie>.npy`,
 * uint8 [frames, 15, 15], one frame per display frame), so the whole pipeline runs on the demo from
 * the page. `index.json` lists them for the page's *Use the demo's stimulus files*.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_FULL_PLAYLIST, DEMO_FULL_PLAYLIST_NAME, NOISE_GRID, noiseMovieFrames } from "../tools/demoStimulus.ts";

const to = "public/demo/stimulus";
mkdirSync(to, { recursive: true });
// Only what this script writes stays: no stale config of an older demo is offered to the page.
for (const name of readdirSync(to)) rmSync(join(to, name));

const playlist = "demo_playlist.csv";
const movieLength = "demo_movie_length.csv";
const movies = DEMO_FULL_PLAYLIST.map((m) => m.name);
writeFileSync(
  join(to, playlist),
  `playlist_name,movie_names\n${DEMO_FULL_PLAYLIST_NAME},"[${movies.map((m) => `'${m}.mov'`).join(", ")}]"\n`,
);
writeFileSync(join(to, movieLength), `movie_name,movie_length\n${DEMO_FULL_PLAYLIST.map((m) => `${m.name},${m.length}`).join("\n")}\n`);
const configs = DEMO_FULL_PLAYLIST.map((m) => {
  const { name, generate_kwargs, section_kwargs, description } = m;
  writeFileSync(join(to, `${name}.json`), `${JSON.stringify({ name, generate_kwargs, section_kwargs, description }, null, 4)}\n`);
  return `${name}.json`;
});

const noise = DEMO_FULL_PLAYLIST.find((m) => m.name.includes("noise"))!.name;
const { frames, data } = noiseMovieFrames();
let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${frames}, ${NOISE_GRID}, ${NOISE_GRID}), }`;
header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
const head = new Uint8Array(10 + header.length);
head.set([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
head.set(Buffer.from(header, "latin1"), 10);
writeFileSync(join(to, `${noise}.npy`), Buffer.concat([head, data]));

writeFileSync(
  join(to, "index.json"),
  `${JSON.stringify({ playlist, playlistName: DEMO_FULL_PLAYLIST_NAME, movieLength, configs, movies: [`${noise}.npy`] }, null, 2)}\n`,
);
process.stdout.write(`wrote the demo's stimulus inputs to ${to}: ${configs.length} configs, ${noise}.npy (${frames} frames)\n`);
