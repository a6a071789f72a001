// `baseline` on a generated fleet: each statistical threshold resolved to the fleet's percentile
// (within the sketch's 1%, against the exact nearest-rank percentile computed here), window sums
// for durationSeconds, shards merged equal to one pass, bad lines skipped with a count and the
// first line number, and the result a profile check-profile takes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { BUNDLE } from "./bundle.js";
import { tempDir } from "./helpers.js";

const THINGS = 40;
const POINTS = 150;
const T0 = 1_790_000_000_000;

/** A deterministic fleet: thing i sends about (i + 1) × 1,000 bytes a sample, with noise. */
function fleet(): Array<{ thing: string; time: number; value: number }> {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out = [];
  for (let k = 0; k < POINTS; k++)
    for (let i = 0; i < THINGS; i++) out.push({ thing: `thing-${i}`, time: T0 + k * 300_000, value: Math.round((i + 1) * 1000 * (0.5 + rand())) });
  return out;
}

const line = (p: { thing: string; time: number; value: number }) =>
  JSON.stringify({ version: "1.0", metrics: [{ name: "aws:all-bytes-out", thing: p.thing, value: { count: p.value }, version: 1, timestamp: p.time }] });

function nearestRank(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil((p / 100) * s.length)) - 1]!;
}

const profile = {
  securityProfileName: "Fleet",
  behaviors: [
    { name: "OutP90", metric: "aws:all-bytes-out", criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p90" } } },
    {
      name: "OutWindowP50",
      metric: "aws:all-bytes-out",
      criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p50" }, durationSeconds: 900 },
    },
    { name: "NoTelnet", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "not-in-port-set", value: { ports: [23] } } },
    { name: "OutMax", metric: "aws:all-bytes-out", criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p100" } } },
  ],
};

function run(args: string[]) {
  return spawnSync(process.execPath, [BUNDLE, "baseline", ...args], { encoding: "utf8" });
}

describe("baseline", () => {
  const dir = tempDir("defender-baseline-");
  const points = fleet();
  const half = points.length / 2;
  // Shard 1 plain with two bad lines (lines 3 and 10), shard 2 gzip.
  const first = points.slice(0, half).map(line);
  first.splice(2, 0, "not json");
  first.splice(9, 0, JSON.stringify({ version: "2.0", metrics: [] }));
  writeFileSync(join(dir, "a.ndjson"), `${first.join("\n")}\n`);
  writeFileSync(join(dir, "b.ndjson.gz"), gzipSync(`${points.slice(half).map(line).join("\n")}\n`));
  writeFileSync(join(dir, "profile.json"), JSON.stringify(profile));
  const files = ["--exported", join(dir, "a.ndjson"), "--exported", join(dir, "b.ndjson.gz")];

  it("resolves each statistical threshold to the fleet percentile, in the unit the device judges", () => {
    const r = run(["--profile", join(dir, "profile.json"), ...files]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as typeof profile & {
      behaviors: Array<{ name: string; criteria: { value?: { count: number }; statisticalThreshold?: unknown; durationSeconds?: number } }>;
    };
    const [p90, window, telnet] = out.behaviors;
    const exact90 = nearestRank(
      points.map((p) => p.value),
      90,
    );
    assert.equal(p90!.criteria.statisticalThreshold, undefined);
    assert.ok(Math.abs(p90!.criteria.value.count - exact90) <= exact90 * 0.01 + 1, `${p90!.criteria.value.count} against ${exact90}`);
    // Window sums: each thing's datapoints in (t - 900 s, t], here the last three.
    const sums: number[] = [];
    for (let i = 0; i < THINGS; i++) {
      const mine = points.filter((p) => p.thing === `thing-${i}`);
      mine.forEach((p, k) => sums.push(mine.slice(Math.max(0, k - 2), k + 1).reduce((n, q) => n + q.value, 0)));
    }
    const exact50 = nearestRank(sums, 50);
    assert.ok(Math.abs(window!.criteria.value!.count - exact50) <= exact50 * 0.01 + 1, `${window!.criteria.value!.count} against ${exact50}`);
    assert.equal(window!.criteria.durationSeconds, 900, "the window stays");
    assert.deepEqual(telnet, profile.behaviors[2], "a static behavior is untouched");
    assert.match(r.stderr, /^OutP90: aws:all-bytes-out: 40 things, 6000 datapoints, p90 = \d+$/m);
    assert.match(
      r.stderr,
      new RegExp(`^WARN ${join(dir, "a.ndjson").replace(/[/.]/g, "\\$&")}: 2 of 3002 lines skipped \\(not an export message\\), the first at line 3$`, "m"),
    );
    // Ready for check-profile (and a deployment).
    writeFileSync(join(dir, "resolved.json"), r.stdout);
    const check = spawnSync(process.execPath, [BUNDLE, "check-profile", join(dir, "resolved.json")], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
  });

  it("shards merged give what one pass gives", () => {
    const one = run(["--profile", join(dir, "profile.json"), ...files]);
    const s1 = run([
      "--profile",
      join(dir, "profile.json"),
      "--exported",
      join(dir, "a.ndjson"),
      "--sketch-out",
      join(dir, "s1.json"),
      "--out",
      join(dir, "r1.json"),
    ]);
    const s2 = run([
      "--profile",
      join(dir, "profile.json"),
      "--exported",
      join(dir, "b.ndjson.gz"),
      "--sketch-out",
      join(dir, "s2.json"),
      "--out",
      join(dir, "r2.json"),
    ]);
    assert.equal(s1.status, 0, s1.stderr);
    assert.equal(s2.status, 0, s2.stderr);
    // Shard 2 starts mid-stream for each thing: its first two window sums hold fewer datapoints,
    // so the window behavior is compared on the plain percentile only.
    const merged = run(["--profile", join(dir, "profile.json"), "--merge", join(dir, "s1.json"), "--merge", join(dir, "s2.json")]);
    assert.equal(merged.status, 0, merged.stderr);
    const value = (out: string, name: string) =>
      (JSON.parse(out) as { behaviors: Array<{ name: string; criteria: { value: unknown } }> }).behaviors.find((b) => b.name === name)!.criteria.value;
    assert.deepEqual(value(merged.stdout, "OutP90"), value(one.stdout, "OutP90"));
    // p100 is the exact maximum, across shards too.
    const max = Math.max(...points.map((p) => p.value));
    assert.deepEqual(value(one.stdout, "OutMax"), { count: max });
    assert.deepEqual(value(merged.stdout, "OutMax"), { count: max });
    assert.match(merged.stderr, /^OutP90: aws:all-bytes-out: 40 things, 6000 datapoints/m);
  });

  it("reads a folder as Firehose lands it, counts a message sent twice once, and skips what came out of order", () => {
    // Firehose's layout: YYYY/MM/DD/HH folders, objects gzip without an extension.
    const lake = join(dir, "lake");
    const byHour = new Map<number, string[]>();
    for (const p of points) {
      const hour = Math.floor((p.time - T0) / 3_600_000);
      byHour.set(hour, [...(byHour.get(hour) ?? []), line(p)]);
    }
    for (const [hour, lines] of byHour) {
      const d = new Date(T0 + hour * 3_600_000);
      const folder = join(lake, String(d.getUTCFullYear()), String(d.getUTCMonth() + 1).padStart(2, "0"), String(d.getUTCDate()).padStart(2, "0"));
      mkdirSync(folder, { recursive: true });
      // At least once: the first 50 messages of each hour sent again, as a delivery pass repeated.
      const text = [...lines, ...lines.slice(0, 50)].join("\n");
      writeFileSync(join(folder, `defender-export-1-${String(d.getUTCHours()).padStart(2, "0")}-0000`), gzipSync(text));
    }
    const one = run(["--profile", join(dir, "profile.json"), ...files]);
    const fromLake = run(["--profile", join(dir, "profile.json"), "--exported", lake]);
    assert.equal(fromLake.status, 0, fromLake.stderr);
    assert.equal(fromLake.stdout, one.stdout, "the same fleet, the same thresholds");
    assert.match(fromLake.stderr, /^OutP90: aws:all-bytes-out: 40 things, 6000 datapoints/m);
    assert.match(fromLake.stderr, new RegExp(`^INFO ${50 * byHour.size} datapoints seen twice \\(the export is at least once\\) counted once$`, "m"));
    // One thing's datapoint older than its latest, not a repeat: skipped, with where it was.
    const late = join(dir, "late.ndjson");
    writeFileSync(late, `${line({ thing: "thing-0", time: T0 - 300_000, value: 5 })}\n`);
    const withLate = run(["--profile", join(dir, "profile.json"), ...files, "--exported", late]);
    assert.equal(withLate.status, 0, withLate.stderr);
    assert.equal(withLate.stdout, one.stdout);
    assert.match(
      withLate.stderr,
      new RegExp(`^WARN 1 datapoints skipped: older than a later one of the same thing and metric, the first at ${late.replace(/[/.]/g, "\\$&")}:1;`, "m"),
    );
  });

  it("says what is wrong with its input in one line", () => {
    const none = run(["--profile", join(dir, "profile.json")]);
    assert.equal(none.status, 2);
    writeFileSync(join(dir, "static.json"), JSON.stringify({ securityProfileName: "S", behaviors: [profile.behaviors[2]] }));
    const nothing = run(["--profile", join(dir, "static.json"), ...files]);
    assert.equal(nothing.status, 1);
    assert.match(nothing.stderr, /^ERROR --profile .*: no behavior has a statisticalThreshold/m);
    const missing = run(["--profile", join(dir, "profile.json"), "--exported", join(dir, "nope.ndjson")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^ERROR --exported .*nope\.ndjson: cannot read it \(ENOENT\)$/m);
  });
});
