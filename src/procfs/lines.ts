// Reading a proc file line by line through one fixed buffer. /proc/net/tcp on a device under a
// connection storm is tens or hundreds of megabytes (about 150 bytes per socket); read whole it
// was a string that alone could exceed the component's heap. Here memory is the buffer, whatever
// the file's size, and each line is handed over as a byte range of it.

import { closeSync, openSync, readSync } from "node:fs";

/** Lines longer than this are left out as malformed (socket rows are about 150 bytes; IPv6 ones 180). */
export const MAX_LINE_BYTES = 4096;
const BUFFER_BYTES = 64 * 1024;
const NL = 10;

/** One buffer for every read: proc files are read one at a time, synchronously. */
const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
/** The same bytes as a plain typed array, searched with its own indexOf: a V8 builtin, where Buffer's goes through C++ per call. */
const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);

/**
 * Calls `onLine(buf, start, end)` for each line of the file (end excludes the newline; a last
 * line without one is a line too). Returns the number of lines longer than MAX_LINE_BYTES, which
 * were skipped. Throws the open or read error (ENOENT, EACCES, ...).
 */
export function forEachLine(path: string, onLine: (buf: Buffer, start: number, end: number) => void): number {
  const fd = openSync(path, "r");
  let overlong = 0;
  try {
    let filled = 0; // bytes in buffer[0, filled)
    let skipping = false; // inside an over-long line: drop bytes until its newline
    for (;;) {
      const got = readSync(fd, buffer, filled, BUFFER_BYTES - filled, null);
      const end = filled + got;
      let start = 0;
      for (;;) {
        const nl = bytes.indexOf(NL, start);
        if (nl < 0 || nl >= end) break;
        if (skipping) skipping = false;
        else onLine(buffer, start, nl);
        start = nl + 1;
      }
      if (got === 0) {
        if (start < end && !skipping) onLine(buffer, start, end);
        return overlong;
      }
      // Keep the unfinished line at the front; a line that fills the buffer is over-long.
      const rest = end - start;
      if (rest >= MAX_LINE_BYTES || (skipping && rest > 0)) {
        if (!skipping) overlong++;
        skipping = true;
        filled = 0;
      } else {
        buffer.copy(buffer, 0, start, end);
        filled = rest;
      }
    }
  } finally {
    closeSync(fd);
  }
}
