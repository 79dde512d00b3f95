/**
 * One `hdmea` subcommand, as `main.ts` lists it in the help and runs it. The commands (one file each
 * under commands/) import this file, not main.ts, so imports run one way: main → commands.
 */
export interface Command {
  summary: string;
  usage: string;
  /** Options and behaviour, shown by `hdmea --help` and `hdmea <command> --help`. */
  help?: string;
  run(argv: string[]): Promise<number>;
}
