// stdout for the commands that write their answer there: a stdout that is closed, or whose
// reader goes away, is a failure the caller must hear about (exit 1, one line), never a report
// silently written nowhere.

import { readFileSync, readlinkSync } from "node:fs";
import { writeFd } from "../util/stdio.js";
import { CommandError } from "./errors.js";

/**
 * Whether stdout was closed when the process started (`>&-`). Node.js puts /dev/null opened
 * read-write in the place of a closed standard fd (src/node.cc, PlatformInit), where a shell's
 * `>/dev/null` opens it write-only: the flags tell the two apart (Linux /proc/self/fdinfo).
 */
export function stdoutWasClosed(): boolean {
  try {
    if (readlinkSync("/proc/self/fd/1") !== "/dev/null") return false;
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync("/proc/self/fdinfo/1", "utf8"))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & 3) === 2; // O_RDWR
  } catch {
    return false;
  }
}

/**
 * Whether stdout is a terminal, told by the device it names (Linux /proc/self/fd): `tty.isatty`
 * would load Node's net stack for one newline (README "Start-up").
 */
export function stdoutIsTerminal(): boolean {
  try {
    return /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(readlinkSync("/proc/self/fd/1"));
  } catch {
    return false;
  }
}

export const STDOUT_CLOSED = "stdout is closed: the command has nowhere to write its answer";

/** The one line for a stdout whose reader went away (`defender.js collect | head -c 10`). */
export function stdoutFailure(err: NodeJS.ErrnoException): string {
  return `stdout.write_failed reason=${JSON.stringify(`${err.code ?? "EIO"}: the reader of stdout went away before the answer was written`)}`;
}

/** Writes a command's answer to stdout; a write that fails is the command's failure (exit 1). */
export function writeAnswer(data: string | Uint8Array): void {
  try {
    writeFd(1, data);
  } catch (err) {
    throw new CommandError(stdoutFailure(err as NodeJS.ErrnoException));
  }
}
