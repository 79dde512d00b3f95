/**
 * Per-movie stimulus configs (`<movie>.json`, domain brief §6.1). Only `section_kwargs` is read:
 *
 * | field                | rule                      |
 * |----------------------|---------------------------|
 * | `start_frame`        | int ≥ 0, required         |
 * | `trial_length_frame` | int > 0, required         |
 * | `repeat`             | int ≥ 1, required         |
 * | `group_count`        | int ≥ 1, default 1        |
 * | `group_gap`          | int ≥ 0, default 0        |
 *
 * Values must be JSON integers: `480.0` and `4.8e2` are refused although `JSON.parse` would turn
 * them into 480, so number literals are classified before parsing. JSON booleans are refused too
 * (Python's `isinstance(True, int)` let them through in the original). Every problem of every movie
 * is collected and reported in one message.
 */
import { ConfigFileError } from "./csvTable.ts";

export interface SectionKwargs {
  start_frame: number;
  trial_length_frame: number;
  repeat: number;
  group_count: number;
  group_gap: number;
}

export class StimulusConfigError extends ConfigFileError {
  override name = "StimulusConfigError";
  /** Problems, one line each, by movie. */
  readonly problems: Map<string, string[]>;
  constructor(problems: Map<string, string[]>) {
    const lines: string[] = [];
    for (const [movie, list] of problems) for (const p of list) lines.push(`  ${movie}.json: ${p}`);
    super(`stimulus configs are missing or invalid for ${problems.size} movie(s):\n${lines.join("\n")}`);
    this.problems = problems;
  }
}

const FIELD_RULES: { field: keyof SectionKwargs; min: number; required: boolean; fallback: number }[] = [
  { field: "start_frame", min: 0, required: true, fallback: 0 },
  { field: "trial_length_frame", min: 1, required: true, fallback: 1 },
  { field: "repeat", min: 1, required: true, fallback: 1 },
  { field: "group_count", min: 1, required: false, fallback: 1 },
  { field: "group_gap", min: 0, required: false, fallback: 0 },
];

/** Movie name for a config file name (`a.json` → `a`); other keys are taken as movie names. */
export function configMovieName(key: string): string {
  return key.toLowerCase().endsWith(".json") ? key.slice(0, -5) : key;
}

/**
 * Validates the configs of `movies`. `texts` maps a movie name (or `<movie>.json`) to the file's text.
 * Throws StimulusConfigError listing every problem; returns the section kwargs by movie otherwise.
 */
export function loadStimulusConfigs(movies: readonly string[], texts: Readonly<Record<string, string>>): Map<string, SectionKwargs> {
  const byMovie = new Map<string, string>();
  for (const [key, text] of Object.entries(texts)) byMovie.set(configMovieName(key), text);
  const configs = new Map<string, SectionKwargs>();
  const problems = new Map<string, string[]>();
  for (const movie of movies) {
    const text = byMovie.get(movie);
    if (text === undefined) {
      problems.set(movie, [`no config file (needed to cut "${movie}" into trials)`]);
      continue;
    }
    const result = parseStimulusConfig(text);
    if (result.ok) configs.set(movie, result.kwargs);
    else problems.set(movie, result.problems);
  }
  if (problems.size) throw new StimulusConfigError(problems);
  return configs;
}

export type StimulusConfigResult = { ok: true; kwargs: SectionKwargs } | { ok: false; problems: string[] };

/** Validates one config's text; problems are phrased for a person ("repeat must be …, got 2.0"). */
export function parseStimulusConfig(text: string): StimulusConfigResult {
  let root: unknown;
  try {
    root = JSON.parse(markNonIntegerNumbers(text));
  } catch (e) {
    return { ok: false, problems: [`not valid JSON (${(e as Error).message})`] };
  }
  if (!isObject(root)) return { ok: false, problems: ["the file must hold a JSON object"] };
  const kwargs = root.section_kwargs;
  if (!isObject(kwargs)) {
    return { ok: false, problems: [kwargs === undefined ? "no section_kwargs object" : "section_kwargs must be an object"] };
  }
  const problems: string[] = [];
  const out = {} as SectionKwargs;
  for (const rule of FIELD_RULES) {
    const value = kwargs[rule.field];
    if (value === undefined) {
      if (rule.required) problems.push(`section_kwargs.${rule.field} is required`);
      out[rule.field] = rule.fallback;
      continue;
    }
    const bound = rule.min === 0 ? "≥ 0" : rule.min === 1 && rule.field === "trial_length_frame" ? "> 0" : `≥ ${rule.min}`;
    if (typeof value === "string" && value.startsWith(NUMBER_MARK)) {
      problems.push(`section_kwargs.${rule.field} must be an integer ${bound}, got ${value.slice(NUMBER_MARK.length)}`);
    } else if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      problems.push(`section_kwargs.${rule.field} must be an integer ${bound}, got ${describe(value)}`);
    } else if (value < rule.min) {
      problems.push(`section_kwargs.${rule.field} must be an integer ${bound}, got ${value}`);
    } else {
      out[rule.field] = value;
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, kwargs: out };
}

/** Total number of trials of a config (`group_count × repeat`). */
export function trialCount(kwargs: SectionKwargs): number {
  return kwargs.group_count * kwargs.repeat;
}

// A number literal with a fraction or exponent becomes this prefix + its source text, so the
// validator can tell `480.0` from `480` after JSON.parse.
const NUMBER_MARK = "\u0000number:";

function markNonIntegerNumbers(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      // Copy a string literal verbatim, escapes included.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      let j = i + 1;
      while (j < text.length && /[0-9eE+\-.]/.test(text[j])) j++;
      const literal = text.slice(i, j);
      out += /[.eE]/.test(literal) ? JSON.stringify(NUMBER_MARK + literal) : literal;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function describe(value: unknown): string {
  if (typeof value === "string") return value.startsWith(NUMBER_MARK) ? value.slice(NUMBER_MARK.length) : `the string ${JSON.stringify(value)}`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
