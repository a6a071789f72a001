// The artifact's first code: it runs the bundle (src/cli/main.ts and all it imports, carried here
// as one string by scripts/build.ts) through V8's code cache. Compiling ~1 MB of JavaScript, then
// each function on its first call, was most of a one-shot command's start-up (README "Start-up");
// with the cache V8 reads back the bytecode of every function the last run compiled instead.
// Node 22's module.enableCompileCache() does this; Node 20 has only vm.Script's cachedData.
//
// The cache is executable code, so it is only read from a folder that this user owns and nobody
// else can write, and only a file of that user's, written with mode 0600. V8 itself refuses a
// cache made by another V8 version, other flags or another source (vm.Script cachedDataRejected):
// then the bundle is compiled as if there were none and the cache is written again. Where it goes:
//   DEFENDER_COMPILE_CACHE=off   no cache
//   DEFENDER_CACHE_DIR           that folder
//   DEFENDER_WORK_DIR            <work>/cache (the component: the recipe sets it)
//   otherwise                    $XDG_CACHE_HOME or ~/.cache, /greengrass-device-defender
// Nothing here may stop the agent: a cache that cannot be read or written only costs time, and it
// is not written when it would leave less than 16 MB or 5% of the disk free (the agent's state
// needs that room more). Say DEFENDER_LOG_LEVEL=DEBUG to see each read and write.
//
// No closure made here outlives this file's run (the cache is written by a function compiled from
// its own small source), so V8 can drop this script, and with it its copy of the bundle's text.

import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statfsSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";

/** The bundle's text, wrapped as Node wraps a CommonJS module (scripts/build.ts). */
declare const __BUNDLE__: string;
/** The first hex digits of its SHA-256: a new build never reads an old build's cache. */
declare const __BUNDLE_ID__: string;

const env = process.env;
/** The cache is not written when less than this (or 5% of the disk) would be left free. */
const MIN_FREE_BYTES = 16 * 1024 * 1024;
const debug = env.DEFENDER_LOG_LEVEL?.toUpperCase() === "DEBUG";
const say = (line: string) => {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr gone: nowhere to say it.
  }
};

/** FNV-1a of the node flags: a cache per flag set, so the component and the commands do not take turns rewriting one. */
function flagsId(flags: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const c of flags.join(" ")) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

function cacheFolder(): string | undefined {
  if (env.DEFENDER_COMPILE_CACHE === "off") return undefined;
  if (env.DEFENDER_CACHE_DIR) return env.DEFENDER_CACHE_DIR;
  if (env.DEFENDER_WORK_DIR) return join(env.DEFENDER_WORK_DIR, "cache");
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  return base === undefined ? undefined : join(base, "greengrass-device-defender");
}

/** Why `path` may not hold executable code for this user (undefined: it may; absent is fine too). */
function unsafe(path: string, kind: "folder" | "file"): string | undefined {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (kind === "folder" ? !st.isDirectory() : !st.isFile()) return `not a ${kind}`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return `writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

const folder = cacheFolder();
// One cache per command too: each holds what its own runs compile (`--help` would make a poor one for `collect`).
const command = /^[a-z-]{1,20}$/.test(process.argv[2] ?? "") ? process.argv[2]! : "component";
const file =
  folder === undefined ? undefined : join(folder, `${__BUNDLE_ID__}-${command}-${process.version}-${process.arch}-${flagsId(process.execArgv)}.v8cache`);
// Judged once: an unsafe folder or file is neither read nor written, as the warning says.
const why = folder === undefined || file === undefined ? undefined : (unsafe(folder, "folder") ?? unsafe(file, "file"));
if (why !== undefined)
  say(`WARN compile_cache.unsafe file=${JSON.stringify(file)} reason=${JSON.stringify(why)} effect="not read or written: start-up compiles the bundle"`);
const usable = folder !== undefined && file !== undefined && why === undefined;
let cached: Buffer | undefined;
if (usable) {
  try {
    cached = readFileSync(file);
  } catch {
    cached = undefined; // none yet
  }
}

const script = new Script(__BUNDLE__, { filename: __filename, cachedData: cached });
const used = cached !== undefined && !script.cachedDataRejected;
if (debug && cached !== undefined) say(`DEBUG compile_cache.${used ? "used" : "rejected"} file=${JSON.stringify(file)}`);
if (!used && usable) {
  // Written at exit, when the run has compiled what it uses, by a function compiled as a script
  // of its own: a closure of this file, or one made by new Function (V8 keeps its caller as the
  // eval origin), would keep this file's text, the bundle's second copy, alive (~1 MB).
  const write = new Script(
    // At exit: make the cache, keep room on the disk (16 MB or 5% left free), write it atomically
    // (0600), then remove an earlier build's caches (never read again). Kept terse: it ships as text.
    `(script, file, folder, id, fs, debug) => () => {
const say = (l) => { try { fs.writeSync(2, l + "\\n"); } catch {} };
try {
fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
const data = script.createCachedData();
const d = fs.statfsSync(folder);
if (d.bavail * d.bsize - data.length < Math.max(${MIN_FREE_BYTES}, (d.blocks * d.bsize) / 20)) throw new Error("less than 16 MB or 5% of the disk would be left free");
const tmp = file + "." + process.pid + ".tmp";
fs.writeFileSync(tmp, data, { mode: 0o600 });
fs.renameSync(tmp, file);
if (debug) say("DEBUG compile_cache.written file=" + JSON.stringify(file));
for (const n of fs.readdirSync(folder)) if (n.endsWith(".v8cache") && !n.startsWith(id + "-")) fs.rmSync(folder + "/" + n, { force: true });
} catch (err) {
if (debug) say("DEBUG compile_cache.not_written file=" + JSON.stringify(file) + " reason=" + JSON.stringify(String(err && err.message)));
}
};`,
    { filename: "defender-compile-cache-writer" },
  ).runInThisContext() as (...args: unknown[]) => () => void;
  process.once("exit", write(script, file, folder, __BUNDLE_ID__, { mkdirSync, writeFileSync, renameSync, writeSync, statfsSync, readdirSync, rmSync }, debug));
}
(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, __filename, __dirname);
