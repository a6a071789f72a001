// npm run bench -- flags | attack | startup: the component under a socket storm.
//
// - flags: each candidate set of node flags, the component run as the recipe runs it under the
//   nucleus double, on the idle machine's /proc and on synthetic proc roots of 10k, 70k and 200k
//   established connections: CPU per sample and resident memory. What the recipe's flags are
//   chosen from (README, Performance).
// - attack: the shipped flags at 10k, 100k, 400k and 1M rows: CPU per sample and peak RSS.
// - startup: whole-process `collect` at 30,000 rows against a bare read of the same files by a
//   node process (node's own start-up included in both).

import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { tempDir } from "../helpers.js";
import { procStatus } from "./proc-status.js";
import { writeSyntheticProc } from "./synthetic-proc.js";

/** The flags the recipe shipped before this measurement, and the alternatives measured against them. */
export const FLAG_SETS: Record<string, string[]> = {
  "jitless (before)": ["--jitless", "--no-expose-wasm", "--optimize-for-size", "--expose-gc", "--max-semi-space-size=1", "--max-old-space-size=64"],
  "JIT, small heap (before)": ["--no-expose-wasm", "--optimize-for-size", "--expose-gc", "--max-semi-space-size=1", "--max-old-space-size=64"],
  "JIT, small heap, no inlining": [
    "--no-expose-wasm",
    "--optimize-for-size",
    "--no-turbo-inlining",
    "--expose-gc",
    "--max-semi-space-size=1",
    "--max-old-space-size=64",
  ],
  "JIT, small heap, no inlining, compiled on the main thread": [
    "--no-expose-wasm",
    "--optimize-for-size",
    "--no-turbo-inlining",
    "--no-concurrent-recompilation",
    "--expose-gc",
    "--max-semi-space-size=1",
    "--max-old-space-size=64",
  ],
  "JIT, semi-space 4": ["--no-expose-wasm", "--optimize-for-size", "--expose-gc", "--max-semi-space-size=4", "--max-old-space-size=64"],
  "JIT, optimizing 4x later": [
    "--no-expose-wasm",
    "--optimize-for-size",
    "--expose-gc",
    "--interrupt-budget=528000",
    "--max-semi-space-size=1",
    "--max-old-space-size=64",
  ],
  "JIT, no optimize-for-size": ["--no-expose-wasm", "--expose-gc", "--max-semi-space-size=1", "--max-old-space-size=64"],
  "baseline compiler only (--no-opt)": [
    "--no-opt",
    "--no-expose-wasm",
    "--optimize-for-size",
    "--expose-gc",
    "--max-semi-space-size=1",
    "--max-old-space-size=64",
  ],
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

interface Run {
  cpuPerSampleMs: number;
  rssMedianMb: number;
  peakMb: number;
}

/**
 * What the benches start the component with: the variables the nucleus double stands for (its
 * socket in `dir`), the test pace (a configured second lasts `msPerSecond` ms), `extra`, and the
 * recipe's own (`recipeEnv`, last, as the nucleus sets them).
 */
export function componentEnv(dir: string, msPerSecond: number, recipeEnv: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: join(dir, "ipc.socket"),
    SVCUID: "bench",
    AWS_IOT_THING_NAME: "bench-thing",
    DEFENDER_TEST_MS_PER_SECOND: String(msPerSecond),
    ...extra,
    ...recipeEnv,
  };
}

/**
 * Starts the component once with `cacheDir` as its code cache folder (src/cli/start.ts) and stops
 * it after its first report, as the nucleus stops it: the cache an installed component starts with
 * from its second start on.
 */
export async function primeCodeCache(bundle: string, flags: string[], cacheDir: string): Promise<void> {
  const { benchNucleus, recipeRun } = await import("../nucleus/harness.js");
  const dir = tempDir("defender-bench-prime-");
  const nucleus = benchNucleus(dir, "/proc");
  await nucleus.start();
  const child = spawn(process.execPath, [...flags, bundle], {
    cwd: dir,
    stdio: "ignore",
    env: componentEnv(dir, 0.2, recipeRun().env, { DEFENDER_WORK_DIR: join(dir, "work"), DEFENDER_CACHE_DIR: cacheDir }),
  });
  try {
    await nucleus.waitFor(() => nucleus.publishes.length >= 1, 60_000, "first publish");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  } finally {
    await nucleus.stop();
  }
}

/** The component as the recipe starts it (with `flags`), `samples` samples of `procRoot`, under the nucleus double. */
export async function runComponent(bundle: string, flags: string[], procRoot: string, samples: number, msPerSecond: number): Promise<Run> {
  const { benchNucleus, recipeRun } = await import("../nucleus/harness.js");
  const dir = tempDir("defender-bench-flags-");
  const nucleus = benchNucleus(dir, procRoot);
  await nucleus.start();
  const child = spawn(process.execPath, [...flags, bundle], {
    cwd: dir,
    stdio: "ignore",
    env: componentEnv(dir, msPerSecond, recipeRun().env, { DEFENDER_WORK_DIR: join(dir, "work") }),
  });
  try {
    // The first samples warm up (code compiled, history opened); then `samples` are measured.
    const warm = 3;
    await nucleus.waitFor(() => nucleus.publishes.length >= warm, 600_000, "warm-up samples");
    const from = procStatus(child.pid!);
    const rss: number[] = [];
    for (let n = warm + 1; n <= warm + samples; n++) {
      await nucleus.waitFor(() => nucleus.publishes.length >= n, 600_000, `${n} samples`);
      rss.push(procStatus(child.pid!).rssKb / 1024);
    }
    const to = procStatus(child.pid!);
    return { cpuPerSampleMs: (to.cpuMs - from.cpuMs) / samples, rssMedianMb: median(rss), peakMb: to.hwmKb / 1024 };
  } finally {
    child.kill("SIGKILL");
    await nucleus.stop();
  }
}

/** Synthetic proc roots of `n` established connections (70% IPv4, 30% IPv6) and 500 listeners. */
function stormRoot(n: number): string {
  const root = join(tempDir("defender-bench-storm-"), "proc");
  writeSyntheticProc(root, { tcp: Math.round(n * 0.7), tcp6: n - Math.round(n * 0.7), listeners: 500 });
  return root;
}

export async function benchFlags(lines: string[]): Promise<void> {
  const { BUNDLE } = await import("../bundle.js");
  const roots: Array<[string, string]> = [
    ["idle", "/proc"],
    ["10k", stormRoot(10_000)],
    ["70k", stormRoot(70_000)],
    ["200k", stormRoot(200_000)],
  ];
  lines.push(
    "flags: the component under the nucleus double, as the recipe runs it; CPU per sample (user + kernel) and RSS (median over the measured samples / peak)",
  );
  lines.push(`| flags | ${roots.map(([n]) => n).join(" | ")} |`);
  lines.push(`|---|${roots.map(() => "---").join("|")}|`);
  for (const [name, flags] of Object.entries(FLAG_SETS)) {
    const cells: string[] = [];
    for (const [size, root] of roots) {
      // Idle: many quick samples; a storm: a few, each given the time it takes.
      const r = size === "idle" ? await runComponent(BUNDLE, flags, root, 100, 0.2) : await runComponent(BUNDLE, flags, root, 8, 20);
      cells.push(`${r.cpuPerSampleMs.toFixed(0)} ms, ${r.rssMedianMb.toFixed(1)} / ${r.peakMb.toFixed(1)} MB`);
    }
    lines.push(`| ${name}: \`${flags.join(" ")}\` | ${cells.join(" | ")} |`);
  }
}

export async function benchAttack(lines: string[]): Promise<void> {
  const { BUNDLE } = await import("../bundle.js");
  const { recipeRun } = await import("../nucleus/harness.js");
  const { flags } = recipeRun();
  lines.push(
    `attack: the shipped flags (${flags.join(" ")}), the component under the nucleus double; per sample of a proc root with N established connections`,
  );
  for (const n of [10_000, 100_000, 400_000, 1_000_000]) {
    const r = await runComponent(BUNDLE, flags, stormRoot(n), 5, 40);
    lines.push(
      `attack: ${n.toLocaleString("en")} rows: CPU ${r.cpuPerSampleMs.toFixed(0)} ms per sample, RSS ${r.rssMedianMb.toFixed(1)} MB, peak ${r.peakMb.toFixed(1)} MB`,
    );
  }
}

export async function benchStartup(lines: string[]): Promise<void> {
  const { BUNDLE } = await import("../bundle.js");
  const { recipeRun } = await import("../nucleus/harness.js");
  const { flags, env } = recipeRun();
  const root = stormRoot(30_000);
  const files = ["net/tcp", "net/tcp6", "net/udp", "net/udp6", "net/dev", "net/route", "net/fib_trie", "net/if_inet6"].map((f) => join(root, f));
  const bare = `for (const f of ${JSON.stringify(files)}) { try { require("fs").readFileSync(f, "latin1"); } catch {} }`;
  // CPU of the whole child (user + kernel, every thread) from bash's `times`: to the millisecond.
  const cpuOf = (args: string[], extraEnv: Record<string, string> = {}) => {
    const r = spawnSync("bash", ["-c", '"$@" >/dev/null 2>&1; times', "_", process.execPath, ...args], {
      env: { ...process.env, ...env, ...extraEnv },
      encoding: "utf8",
    });
    const [u, s] = r.stdout
      .trim()
      .split("\n")
      .at(-1)!
      .split(" ")
      .map((t) => {
        const [, m, sec] = /^(\d+)m([\d.]+)s$/.exec(t)!;
        return Number(m) * 60 + Number(sec);
      });
    return (u! + s!) * 1000;
  };
  const runs = 11;
  const collect = [...flags, BUNDLE, "collect", "--proc-root", root];
  const cache = { DEFENDER_CACHE_DIR: tempDir("defender-bench-cache-") };
  cpuOf(collect, cache); // the first run writes the cache the others read
  const warm = median(Array.from({ length: runs }, () => cpuOf(collect, cache)));
  const cold = median(Array.from({ length: runs }, () => cpuOf(collect, { DEFENDER_COMPILE_CACHE: "off" })));
  const read = median(Array.from({ length: runs }, () => cpuOf([...flags, "-e", bare])));
  const nothing = median(Array.from({ length: runs }, () => cpuOf([...flags, "-e", "0"])));
  lines.push(
    `startup: whole-process collect at 30,000 rows ${warm.toFixed(0)} ms CPU with the code cache written by an earlier run, ${cold.toFixed(0)} ms without one (the first run), against ${read.toFixed(0)} ms for a node process that reads the same files (node alone: ${nothing.toFixed(0)} ms) = ${(warm / read).toFixed(2)}x / ${(cold / read).toFixed(2)}x (target <= 2x), median of ${runs}`,
  );
}
