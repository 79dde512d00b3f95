/** Minimal argv parsing for the CLI: positionals, `--flag value`, `--flag=value` and boolean `--flag`. */
export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

/** With `valueOptions`, any other `--name` is a usage error (instead of swallowing the next argument). */
export function parseArgs(argv: string[], booleanFlags: readonly string[] = [], valueOptions?: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (booleanFlags.includes(name)) {
      parsed.flags.add(name);
      continue;
    }
    if (valueOptions && !valueOptions.includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    parsed.options.set(name, [...(parsed.options.get(name) ?? []), value]);
  }
  return parsed;
}

export function option(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.at(-1);
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** Every value of a repeatable option (`--param a=1 --param b=2`), in order. */
export function options(args: ParsedArgs, name: string): string[] {
  return args.options.get(name) ?? [];
}

/** Rejects options the command does not know, so a typo is a usage error instead of being ignored. */
export function rejectUnknown(args: ParsedArgs, known: readonly string[]): void {
  const unknown = [...args.options.keys(), ...args.flags].filter((n) => !known.includes(n));
  if (unknown.length) throw new UsageError(`unknown option(s) ${unknown.map((n) => `--${n}`).join(", ")}`);
}
