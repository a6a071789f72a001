// The one option parser of the commands. Options are parsed strictly (node:util parseArgs); an
// option that sets a configuration key is validated by that key's own zod schema
// (src/config/schema.ts), so `--format CBOR`, `--interval 0` or `--proc-root rel/path` are
// accepted or refused exactly as the same value in a deployment would be. A bad option is a
// usage error (exit 2, with the usage); a bad file or a failure is a command error (exit 1, one line).

import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { z } from "zod";
import { type ComponentConfig, type ConfigKey, configKeys } from "../config/schema.js";

import { CommandError, UsageError } from "./errors.js";

export function parseCommandLine<T extends ParseArgsConfig["options"]>(argv: string[], options: T, allowPositionals: boolean) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals, options });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parseOptions<T extends ParseArgsConfig["options"]>(argv: string[], options: T) {
  return parseCommandLine(argv, options, false).values;
}

/**
 * Options that set configuration keys, validated by the keys' schemas. `flags` maps an option to
 * its key; the result holds the parsed values of the options given.
 */
export function configOptions(values: Record<string, unknown>, flags: Readonly<Record<string, ConfigKey>>): Partial<ComponentConfig> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [flag, key] of Object.entries(flags)) {
    const v = values[flag];
    if (v === undefined) continue;
    const parsed = (configKeys()[key] as z.ZodType).safeParse(v);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`--${flag} ${JSON.stringify(v)}: ${parsed.error.issues.map((i) => i.message).join("; ")} (the ${key} setting)`);
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return out;
}

/** A whole-number option in [min, max], or the fallback when it is not given. */
export function wholeNumber(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${text}"`);
  return n;
}

/** A JSON file named on the command line; one that cannot be read or parsed is a command error naming it. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CommandError(`${what} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CommandError(`${what} ${path}: not valid JSON (${(err as Error).message})`);
  }
}
