import { UsageError } from "./args.ts";
import type { Command } from "./command.ts";
import { infoCommand } from "./commands/info.ts";
import { processCommand } from "./commands/process.ts";
import { PathAliasError } from "./pathIdentity.ts";

/** Subcommands: one file each under commands/, one line here. */
const COMMANDS: Record<string, Command> = {
  info: infoCommand,
  process: processCommand,
};

function help(): string {
  const indent = (text: string) => text.replace(/\n(?=.)/g, "\n  ");
  const lines = Object.entries(COMMANDS).map(
    ([name, c]) => `  ${name.padEnd(10)} ${c.summary}\n\n  usage: ${indent(c.usage)}${c.help ? `\n\n  ${indent(c.help)}` : ""}\n`,
  );
  return `hdmea — HD-MEA retina recordings to session HDF5 files\n\nCommands:\n${lines.join("\n")}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`hdmea: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`usage: ${command.usage}\n${command.help ? `\n${command.help}\n` : ""}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`hdmea ${name}: ${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`usage: ${command.usage}\n`);
    return error instanceof UsageError || error instanceof PathAliasError ? 2 : 1;
  }
}
