/**
 * The demo's stimulus inputs in public/demo/stimulus/: the example playlist, movie-length table and
 * trial configs (copies of the shared examples the demo recording was generated from) and the
 * checkerboard noise movie as .npy, so the whole pipeline runs on the demo from the page.
 */
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeNoiseMovie } from "../tests/cli/cliHarness.ts";

const from = "tests/core/fixtures/stimulus";
const to = "public/demo/stimulus";
mkdirSync(to, { recursive: true });
for (const name of ["playlist.example.csv", "movie_length.example.csv"]) copyFileSync(join(from, name), join(to, name));
for (const name of readdirSync(join(from, "stimuli"))) copyFileSync(join(from, "stimuli", name), join(to, name));
// The generator drives its units with this same sequence (Prng(7, 20)), so the STA is meaningful.
writeNoiseMovie(join(to, "checker_noise_10x10_20hz_s7_1min.npy"));
process.stdout.write(`wrote the demo's stimulus inputs to ${to}\n`);
