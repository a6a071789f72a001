// stdout for the commands that write their answer there: a stdout that is closed, or whose
// reader goes away, is a failure the caller must hear about (exit 1, one line), never a report
// silently written nowhere.

import { readFileSync, readlinkSync } from "node:fs";

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

export const STDOUT_CLOSED = "stdout is closed: the command has nowhere to write its answer";
