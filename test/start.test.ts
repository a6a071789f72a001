// The artifact's start (src/cli/start.ts): the bundle run through V8's code cache, which is read
// only from a folder and a file of this user's that nobody else can write, and never changes
// what a command prints.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BUNDLE } from "./bundle.js";
import { procFixture, tempDir } from "./helpers.js";

/** `check-profile --default`: a command whose answer is the same every time. */
function run(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BUNDLE, "check-profile", "--default"], {
    env: { PATH: process.env.PATH, DEFENDER_LOG_LEVEL: "DEBUG", ...env },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, cache: r.stderr.split("\n").filter((l) => l.includes("compile_cache")) };
}

const asRoot = process.getuid?.() === 0;
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync("umount", ["-l", m]);
});

const caches = (folder: string) => readdirSync(folder).filter((f) => f.endsWith(".v8cache"));

describe("the code cache at start", () => {
  it("is written by the first run (folder 0700, file 0600), used by the next, and the answer is the same", () => {
    const folder = join(tempDir(), "cache");
    const first = run({ DEFENDER_CACHE_DIR: folder });
    assert.equal(first.code, 0);
    assert.match(first.cache.join("\n"), /^DEBUG compile_cache\.written file=/);
    const [file] = caches(folder);
    assert.match(file!, /-check-profile-v\d+\.\d+\.\d+-/, "one cache per command and node version");
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.equal(statSync(join(folder, file!)).mode & 0o777, 0o600);
    const second = run({ DEFENDER_CACHE_DIR: folder });
    assert.deepEqual(second.cache, [`DEBUG compile_cache.used file=${JSON.stringify(join(folder, file!))}`]);
    assert.equal(second.stdout, first.stdout);
  });

  it("an earlier build's caches are removed when this build writes its own; other files are left", () => {
    const folder = join(tempDir(), "cache");
    mkdirSync(folder, { mode: 0o700 });
    writeFileSync(join(folder, "0123456789abcdef-collect-v20.0.0-x64-00000000.v8cache"), "old", { mode: 0o600 });
    writeFileSync(join(folder, "notes.txt"), "mine", { mode: 0o600 });
    run({ DEFENDER_CACHE_DIR: folder });
    const left = readdirSync(folder).sort();
    assert.equal(left.length, 2);
    assert.equal(left[1], "notes.txt");
    assert.match(left[0]!, /-check-profile-/);
  });

  it("a cache V8 refuses (damaged) is compiled around and written again", () => {
    const folder = join(tempDir(), "cache");
    run({ DEFENDER_CACHE_DIR: folder });
    const [file] = caches(folder);
    writeFileSync(join(folder, file!), Buffer.alloc(4096, 7), { mode: 0o600 });
    const damaged = run({ DEFENDER_CACHE_DIR: folder });
    assert.equal(damaged.code, 0);
    assert.match(damaged.cache[0]!, /^DEBUG compile_cache\.rejected /);
    assert.match(damaged.cache[1]!, /^DEBUG compile_cache\.written /);
    assert.match(run({ DEFENDER_CACHE_DIR: folder }).cache[0]!, /^DEBUG compile_cache\.used /);
  });

  it("a folder others can write is neither read nor written, said once, and the command still answers", () => {
    const folder = join(tempDir(), "cache");
    mkdirSync(folder);
    chmodSync(folder, 0o777);
    const r = run({ DEFENDER_CACHE_DIR: folder });
    assert.equal(r.code, 0);
    assert.deepEqual(r.cache.length, 1);
    assert.match(r.cache[0]!, /^WARN compile_cache\.unsafe file=.* reason="writable by others \(mode 777\)"/);
    assert.deepEqual(caches(folder), []);
  });

  it("a cache file others can write is neither read nor written", () => {
    const folder = join(tempDir(), "cache");
    run({ DEFENDER_CACHE_DIR: folder });
    const [file] = caches(folder);
    chmodSync(join(folder, file!), 0o666);
    const r = run({ DEFENDER_CACHE_DIR: folder });
    assert.deepEqual(r.cache.length, 1, "warned, and nothing written either");
    assert.match(r.cache[0]!, /^WARN compile_cache\.unsafe .*reason="writable by others \(mode 666\)"/);
    assert.equal(statSync(join(folder, file!)).mode & 0o777, 0o666, "left as it was");
  });

  it("off: nothing is written; the component's goes to its work folder", () => {
    const home = tempDir();
    run({ HOME: home, DEFENDER_COMPILE_CACHE: "off" });
    assert.deepEqual(readdirSync(home), []);
    const work = tempDir();
    const r = spawnSync(process.execPath, [BUNDLE, "collect", "--proc-root", procFixture("tricky")], {
      env: { PATH: process.env.PATH, DEFENDER_WORK_DIR: work },
    });
    assert.equal(r.status, 0);
    assert.equal(caches(join(work, "cache")).length, 1);
  });

  it(
    "is not written where it would leave the disk short (16 MB tmpfs), and is where there is room (64 MB)",
    asRoot ? {} : { skip: "needs root (CI runs as root): mounts a tmpfs" },
    () => {
      for (const [size, written] of [
        ["16m", false],
        ["64m", true],
      ] as const) {
        const disk = tempDir();
        assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", disk]).status, 0);
        mounts.push(disk);
        const r = run({ DEFENDER_CACHE_DIR: join(disk, "cache") });
        assert.equal(r.code, 0);
        if (written) {
          assert.match(r.cache[0]!, /^DEBUG compile_cache\.written /);
        } else {
          assert.match(r.cache[0]!, /^DEBUG compile_cache\.not_written .*reason="less than 16 MB or 5% of the disk would be left free"/);
          assert.deepEqual(caches(join(disk, "cache")), []);
        }
      }
    },
  );
});
