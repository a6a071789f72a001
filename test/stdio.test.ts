// Direct writes to a descriptor, and the switch to Node's stream when the descriptor is
// non-blocking and full (src/util/stdio.ts). The descriptor is a pipe of fixed room that
// refuses with EAGAIN as write(2) does; the stream is Node's own.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { type Descriptor, DescriptorWriter } from "../src/util/stdio.js";

/** A non-blocking pipe with `room` bytes free: takes what fits, then refuses. */
function fullingPipe(room: number) {
  const taken: Buffer[] = [];
  const stream = new PassThrough();
  const streamed: Buffer[] = [];
  stream.on("data", (b: Buffer) => streamed.push(b));
  const fd: Descriptor = {
    write(bytes, from) {
      if (room === 0) throw Object.assign(new Error("EAGAIN: resource temporarily unavailable, write"), { code: "EAGAIN" });
      const n = Math.min(room, bytes.length - from);
      taken.push(Buffer.from(bytes.subarray(from, from + n)));
      room -= n;
      return n;
    },
    stream: () => stream,
  };
  return { fd, stream, text: () => Buffer.concat([...taken, ...streamed]).toString() };
}

describe("writes to stdout and stderr", () => {
  it("a full non-blocking descriptor: the rest goes through the stream, nothing lost, in order", () => {
    const pipe = fullingPipe(10);
    const w = new DescriptorWriter(pipe.fd, () => assert.fail("no error expected"));
    w.write("first line, longer than the room\n");
    assert.equal(w.viaStream, true);
    w.write(Buffer.from("second\n"));
    assert.equal(pipe.text(), "first line, longer than the room\nsecond\n");
  });

  it("a descriptor with room is written directly", () => {
    const pipe = fullingPipe(1000);
    const w = new DescriptorWriter(pipe.fd, () => undefined);
    w.write("all of it\n");
    assert.equal(w.viaStream, false);
    assert.equal(pipe.text(), "all of it\n");
  });

  it("a write refused otherwise (EPIPE) is thrown to the caller, not switched", () => {
    const fd: Descriptor = {
      write: () => {
        throw Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
      },
      stream: () => assert.fail("the stream is not for EPIPE"),
    };
    const w = new DescriptorWriter(fd, () => undefined);
    assert.throws(() => w.write("x"), { code: "EPIPE" });
    assert.equal(w.viaStream, false);
  });

  it("after the switch, the stream's failure reaches the handler", () => {
    const pipe = fullingPipe(0);
    const errors: string[] = [];
    const w = new DescriptorWriter(pipe.fd, (e) => errors.push(e.message));
    w.write("x");
    pipe.stream.emit("error", new Error("EPIPE"));
    assert.deepEqual(errors, ["EPIPE"]);
  });
});
