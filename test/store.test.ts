// The persistence module's own rules (src/store/files.ts), beyond what the fault suite drives.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { WorkDir } from "../src/store/files.js";
import { recordingLogger, tempDir } from "./helpers.js";

describe("JSON files in the work folder", () => {
  it("a document saved again unchanged is not rewritten; a changed one is, atomically", () => {
    const dir = tempDir();
    const file = new WorkDir(dir, recordingLogger()).json("state.json", z.object({ n: z.number() }));
    assert.equal(file.save({ n: 1 }), true);
    const first = statSync(join(dir, "state.json"));
    assert.equal(file.save({ n: 1 }), true);
    assert.equal(statSync(join(dir, "state.json")).ino, first.ino, "the same document: no new file, no sync");
    assert.equal(file.save({ n: 2 }), true);
    assert.notEqual(statSync(join(dir, "state.json")).ino, first.ino, "a new document replaces the file");
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")), { n: 2 });
  });

  it("after a refused write, the same document is written once the disk takes it", () => {
    const dir = tempDir();
    const file = new WorkDir(dir, recordingLogger()).json("state.json", z.object({ n: z.number() }));
    file.save({ n: 1 });
    // A directory where the file goes: the rename fails, as root too.
    rmSync(join(dir, "state.json"));
    mkdirSync(join(dir, "state.json", "x"), { recursive: true });
    assert.equal(file.save({ n: 2 }), false);
    rmSync(join(dir, "state.json"), { recursive: true });
    assert.equal(file.save({ n: 2 }), true);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")), { n: 2 });
  });
});
