// How the scripts run from the command line: strict options, and every mistake or failure as one
// line on stderr (exit 2 for a bad option, 1 for a failure), never a stack trace.

import { type ParseArgsConfig, parseArgs } from "node:util";

export class ScriptUsageError extends Error {}

export function scriptOptions<T extends ParseArgsConfig["options"]>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new ScriptUsageError(`${(err as Error).message}\n${usage}`);
  }
}

export function runScript(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const usage = err instanceof ScriptUsageError;
    process.stderr.write(`${usage ? "" : `${name} failed: `}${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = usage ? 2 : 1;
  });
}
