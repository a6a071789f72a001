// Writing to stdout and stderr straight to the file descriptor, synchronously. `process.stdout`
// and `process.stderr` are built on first use, and for a pipe that loads Node's whole stream and
// net stack: ~12 ms of a one-shot command's start (`collect`, README "Start-up"). The answer and
// the log lines need none of it.
//
// A descriptor the parent left non-blocking (O_NONBLOCK belongs to the open file, shared with it)
// can refuse a write with EAGAIN when its pipe is full: from then on that descriptor is written
// through Node's stream, which waits, so nothing is lost and the order is kept.

import { writeSync } from "node:fs";

type Fd = 1 | 2;

const viaStream = new Set<Fd>();
const stream = (fd: Fd) => (fd === 1 ? process.stdout : process.stderr);
let stdoutFailed: (err: NodeJS.ErrnoException) => void = () => undefined;

/** What to do when stdout fails after the switch to its stream (a failed direct write throws instead). */
export function onStdoutError(handler: (err: NodeJS.ErrnoException) => void): void {
  stdoutFailed = handler;
}

/** Writes all of `data` to `fd`; throws what the write throws (EPIPE: the reader went away). */
export function writeFd(fd: Fd, data: string | Uint8Array): void {
  if (viaStream.has(fd)) {
    stream(fd).write(data);
    return;
  }
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      viaStream.add(fd);
      // stderr has nobody to tell of its own failure: a log line that cannot go must not stop the agent.
      stream(fd).on("error", fd === 1 ? (e: NodeJS.ErrnoException) => stdoutFailed(e) : () => undefined);
      stream(fd).write(bytes.subarray(done));
      return;
    }
  }
}

/** Writes to stderr; what cannot be written (its reader gone) is dropped: there is nowhere left to say it. */
export function writeStderr(text: string): void {
  try {
    writeFd(2, text);
  } catch {
    // Dropped, as above.
  }
}

/** Calls `then` once everything written through a stream has gone (at once when nothing was). */
export function whenWritten(then: (err?: Error | null) => void): void {
  if (!viaStream.has(1)) {
    then();
    return;
  }
  process.stdout.write("", then);
}
