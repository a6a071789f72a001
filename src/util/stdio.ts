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

/** What a descriptor is written with: the write(2) call, and Node's stream for when it refuses. */
export interface Descriptor {
  write(bytes: Uint8Array, from: number): number;
  stream(): Pick<NodeJS.WritableStream, "write" | "on">;
}

/** One descriptor's writer: direct until the first EAGAIN, through the stream from then on. */
export class DescriptorWriter {
  viaStream = false;
  constructor(
    private readonly fd: Descriptor,
    private readonly onStreamError: (err: NodeJS.ErrnoException) => void,
  ) {}

  /** Writes all of `data`; throws what a direct write throws (EPIPE: the reader went away). */
  write(data: string | Uint8Array): void {
    if (this.viaStream) {
      this.fd.stream().write(data);
      return;
    }
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let done = 0;
    while (done < bytes.length) {
      try {
        done += this.fd.write(bytes, done);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
        this.viaStream = true;
        this.fd.stream().on("error", this.onStreamError);
        this.fd.stream().write(bytes.subarray(done));
        return;
      }
    }
  }
}

let stdoutFailed: (err: NodeJS.ErrnoException) => void = () => undefined;

/** What to do when stdout fails after the switch to its stream (a failed direct write throws instead). */
export function onStdoutError(handler: (err: NodeJS.ErrnoException) => void): void {
  stdoutFailed = handler;
}

const descriptor = (fd: Fd, stream: () => NodeJS.WriteStream): Descriptor => ({
  write: (bytes, from) => writeSync(fd, bytes, from, bytes.length - from),
  stream,
});
const writers: Record<Fd, DescriptorWriter> = {
  1: new DescriptorWriter(
    descriptor(1, () => process.stdout),
    (e) => stdoutFailed(e),
  ),
  // stderr has nobody to tell of its own failure: a log line that cannot go must not stop the agent.
  2: new DescriptorWriter(
    descriptor(2, () => process.stderr),
    () => undefined,
  ),
};

/** Writes all of `data` to `fd`; throws what the write throws (EPIPE: the reader went away). */
export function writeFd(fd: Fd, data: string | Uint8Array): void {
  writers[fd].write(data);
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
  if (!writers[1].viaStream) {
    then();
    return;
  }
  process.stdout.write("", then);
}
