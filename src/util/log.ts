// One line per event, "LEVEL event key=value ...", which reads well in
// /greengrass/v2/logs/<component>.log (the nucleus adds its own timestamp there) and in a
// terminal. Never a stack trace for an expected condition: callers pass err.message.

import { writeStderr } from "./stdio.js";

export type Level = "DEBUG" | "INFO" | "WARN" | "ERROR";
export type Fields = Record<string, string | number | boolean | undefined | null>;

const ORDER: Record<Level, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export interface Logger {
  debug(event: string, fields?: Fields): void;
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
}

export function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return s === "" || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function formatLine(level: Level, event: string, fields: Fields = {}): string {
  let line = `${level} ${event}`;
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) line += ` ${k}=${formatValue(v)}`;
  return line;
}

export function createLogger(
  write: (line: string) => void = (l) => writeStderr(`${l}\n`),
  minLevel: Level = (process.env.DEFENDER_LOG_LEVEL?.toUpperCase() as Level | undefined) ?? "INFO",
): Logger {
  // minLevel may be any text (DEFENDER_LOG_LEVEL is read unchecked): an unknown one means INFO.
  const min = (ORDER as Partial<Record<string, number>>)[minLevel] ?? ORDER.INFO;
  const at = (level: Level) => (event: string, fields?: Fields) => {
    if (ORDER[level] >= min) write(formatLine(level, event, fields));
  };
  return { debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A value read from outside (the network, a file) as text: as String() prints it, `absent` for undefined or null. */
export function textOf(v: unknown, absent = ""): string {
  if (v === undefined || v === null) return absent;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the value may be anything; a malformed one is shown as String() has always shown it
  return String(v);
}

/**
 * The one "log once" helper: a condition that persists (a refused operation, a missing grant) is
 * news the first time, so each distinct key is logged once per process and then kept quiet.
 */
export class LogOnce {
  private readonly seen = new Set<string>();
  constructor(private readonly log: Logger) {}

  /** Logs `event` at `level` unless `key` was logged before; returns whether it logged. */
  say(level: Exclude<Level, "DEBUG">, key: string, event: string, fields?: Fields): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.log[level === "INFO" ? "info" : level === "WARN" ? "warn" : "error"](event, fields);
    return true;
  }
}
