import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Datapoint, type MetricValue, datapointOfReport } from "../src/detect/datapoint.js";
import { Datapoints } from "../src/detect/datapoints.js";
import { Baselines, evaluate } from "../src/detect/evaluate.js";
import { Detector, LEGACY_HISTORY_FILE } from "../src/detect/detector.js";
import { WorkDir } from "../src/store/files.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import { HISTORY_FOLDER, History, LISTS_FOLDER } from "../src/detect/history.js";
import { SecurityProfileSchema } from "../src/detect/profile-schema.js";
import type { Report } from "../src/report/schema.js";
import { BUNDLE } from "./bundle.js";
import { recordingLogger, tempDir } from "./helpers.js";

const dp = (time: number, n: number) => ({ time, values: { "aws:all-bytes-out": { count: n }, "aws:listening-tcp-ports": { ports: [22, n % 65535] } } });
const big = { maxAgeMs: Infinity, maxBytes: Infinity };

describe("history", () => {
  const files = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".ndjson"))
      .sort();

  it("keeps datapoints across reopening", () => {
    const dir = join(tempDir(), HISTORY_FOLDER);
    const h = new History(dir, big);
    for (let i = 1; i <= 5; i++) h.append(dp(i * 1000, i));
    assert.deepEqual(
      new History(dir, big).datapoints,
      [1, 2, 3, 4, 5].map((i) => dp(i * 1000, i)),
    );
  });

  it("a power cut mid-write loses only the datapoint being written", () => {
    const dir = join(tempDir(), HISTORY_FOLDER);
    const h = new History(dir, big);
    for (let i = 1; i <= 4; i++) h.append(dp(i * 1000, i));
    const last = join(dir, files(dir).at(-1)!);
    truncateSync(last, statSync(last).size - 7); // the last record is cut in the middle
    const reopened = new History(dir, big);
    assert.equal(reopened.dropped, 1);
    assert.deepEqual(
      reopened.datapoints.map((d) => d.time),
      [1000, 2000, 3000],
    );
    reopened.append(dp(5000, 5)); // and the file is whole again
    assert.deepEqual(
      new History(dir, big).datapoints.map((d) => d.time),
      [1000, 2000, 3000, 5000],
    );
  });

  it("drops the oldest first, by age and by size, a whole segment at a time, rewriting nothing that stays", () => {
    const dir = join(tempDir(), HISTORY_FOLDER);
    const byAge = new History(dir, { maxAgeMs: 3000, maxBytes: Infinity });
    for (let i = 1; i <= 6; i++) byAge.append(dp(i * 1000, i));
    assert.deepEqual(
      byAge.datapoints.map((d) => d.time),
      [4000, 5000, 6000],
      "in memory: exactly the age bound",
    );
    assert.deepEqual(
      new History(dir, { maxAgeMs: 3000, maxBytes: Infinity }).datapoints.map((d) => d.time),
      [4000, 5000, 6000],
    );
    const dir2 = join(tempDir(), HISTORY_FOLDER);
    const bySize = new History(dir2, { maxAgeMs: Infinity, maxBytes: 4000 });
    const seen = new Map<string, { ino: number; text: string }>();
    for (let i = 1; i <= 200; i++) {
      bySize.append(dp(i * 1000, i));
      // A segment that stays is only ever appended to: same file, and what it held is still its start.
      for (const f of files(dir2)) {
        const st = statSync(join(dir2, f));
        const text = readFileSync(join(dir2, f), "utf8");
        const before = seen.get(f);
        if (before) {
          assert.equal(st.ino, before.ino, `${f} was rewritten`);
          assert.ok(text.startsWith(before.text), `${f} was changed, not appended to`);
        }
        seen.set(f, { ino: st.ino, text });
      }
    }
    const total = files(dir2).reduce((n, f) => n + statSync(join(dir2, f)).size, 0);
    assert.ok(total <= 4000, `${total} bytes on disk`);
    const kept = new History(dir2, big).datapoints.map((d) => d.time);
    assert.equal(kept.at(-1), 200_000);
    assert.deepEqual(
      kept,
      [...kept].sort((a, b) => a - b),
    );
    assert.ok(kept.length > 10 && kept[0]! > 1000);
    assert.deepEqual(
      bySize.datapoints.map((d) => d.time),
      kept,
      "memory holds no more than the disk",
    );
  });

  it("adopts the single-file history of version 1.0.0", () => {
    const work = tempDir();
    writeFileSync(join(work, LEGACY_HISTORY_FILE), `${JSON.stringify({ t: 1000, v: { "aws:all-bytes-out": { c: 7 } } })}\n`);
    const h = new History(join(work, HISTORY_FOLDER), big, false, undefined, undefined, join(work, LEGACY_HISTORY_FILE));
    assert.deepEqual(h.datapoints, [{ time: 1000, values: { "aws:all-bytes-out": { count: 7 } } }]);
  });
});

describe("history in memory", () => {
  /** A reproducible mix: counts, numbers, lists that change or stay, metrics that come and go, a first datapoint with no interval. */
  function mixed(seed: number, count: number): Datapoint[] {
    let x = seed;
    const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    return Array.from({ length: count }, (_, i) => {
      const values: Record<string, MetricValue> = { "aws:all-bytes-out": { count: Math.floor(next() * 1e6) } };
      if (next() < 0.7) values["aws:num-established-tcp-connections"] = { count: Math.floor(next() * 9) };
      if (next() < 0.5) values.temperature = { number: Math.round(next() * 1e4) / 100 };
      values["aws:listening-tcp-ports"] = { ports: next() < 0.9 ? [22, 443] : [22, 23, 443] };
      if (next() < 0.3) values["aws:destination-ip-addresses"] = { cidrs: [`10.0.0.${Math.floor(next() * 255)}`] };
      if (i === 40) values["aws:all-bytes-out"] = { number: 1.5 }; // a kind that changed: kept as it came
      return i === 0 ? { time: 1000, values } : { time: 1000 + i * 300_000, interval: 300 + (i % 3) / 10, values };
    });
  }

  it("the columns give back exactly the datapoints they were given, also after dropping the oldest", () => {
    const given = mixed(7, 300);
    const points = new Datapoints();
    for (const dp of given) points.push(dp);
    assert.deepEqual(points.toArray(), given);
    points.dropUntil(given[99]!.time);
    assert.deepEqual(points.toArray(), given.slice(100));
    assert.equal(points.timeAt(0), given[100]!.time);
    points.dropUntil(Infinity);
    assert.equal(points.length, 0);
    points.push(given[5]!);
    assert.deepEqual(points.toArray(), [given[5]]);
  });

  it("the evaluator judges the columns exactly as it judges the datapoints", () => {
    const profile = SecurityProfileSchema.parse({
      securityProfileName: "P",
      behaviors: [
        {
          name: "Rate",
          metric: "aws:all-bytes-out",
          criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p90" }, durationSeconds: 900 },
        },
        {
          name: "Conns",
          metric: "aws:num-established-tcp-connections",
          criteria: { comparisonOperator: "less-than", statisticalThreshold: { statistic: "p99" } },
        },
        { name: "Temp", metric: "temperature", criteria: { comparisonOperator: "less-than", value: { number: 90 }, consecutiveDatapointsToAlarm: 2 } },
        { name: "Ports", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22, 443] } } },
      ],
    });
    const all = mixed(11, 600);
    const run = (asColumns: boolean) => {
      const opts = { thingName: "t", minStatisticalDatapoints: 20, baselines: new Baselines() };
      const states = {};
      const history = new History(undefined, { maxAgeMs: 86_400_000, maxBytes: Infinity });
      const events: string[] = [];
      let array: Datapoint[] = [];
      for (const dp of all) {
        const earlier = asColumns ? history.points : array;
        events.push(
          ...evaluate([profile], earlier, dp, states, opts).events.map((e) => `${e.behavior.name}:${e.violationEventType}:${JSON.stringify(e.metricValue)}`),
        );
        history.append(dp);
        array = [...array, dp].filter((p) => p.time > dp.time - 86_400_000);
      }
      return events;
    };
    const fromColumns = run(true);
    assert.ok(fromColumns.length > 10, `${fromColumns.length} events: the data must exercise the behaviors`);
    assert.deepEqual(fromColumns, run(false));
  });

  it("memory holds the metrics the behaviors judge; a behavior on a metric only retained until now finds its history on disk", () => {
    const work = tempDir();
    const retainOnly = SecurityProfileSchema.parse({
      securityProfileName: "P",
      behaviors: [{ name: "Out", metric: "aws:all-bytes-out", criteria: { comparisonOperator: "less-than", value: { count: 1e9 } } }],
      additionalMetricsToRetainV2: [{ metric: "aws:num-established-tcp-connections" }],
    });
    const judging = SecurityProfileSchema.parse({
      ...retainOnly,
      behaviors: [
        ...retainOnly.behaviors!,
        {
          name: "Conns",
          metric: "aws:num-established-tcp-connections",
          criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p100" } },
        },
      ],
    });
    let config = { ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [retainOnly], StatisticalMinDatapoints: 5 };
    const detector = new Detector({ work: new WorkDir(work, recordingLogger()), thingName: "t", log: recordingLogger(), config: () => config });
    detector.configure(config);
    const at = (i: number, conns: number): Datapoint => ({
      time: 1_790_000_000_000 + i * 300_000,
      interval: 300,
      values: { "aws:all-bytes-out": { count: 10 }, "aws:num-established-tcp-connections": { count: conns } },
    });
    for (let i = 0; i < 10; i++) detector.observe(at(i, 3));
    const history = (detector as unknown as { history: History }).history;
    assert.deepEqual(Object.keys(history.points.get(0).values), ["aws:all-bytes-out"], "memory: only what is judged");
    config = { ...config, SecurityProfiles: [judging] };
    detector.configure(config);
    assert.equal(history.points.length, 10);
    assert.deepEqual(history.points.get(9).values["aws:num-established-tcp-connections"], { count: 3 }, "read again from disk");
    const events = detector.observe(at(10, 50));
    assert.deepEqual(
      events.map((e) => `${e.behavior.name}:${e.violationEventType}`),
      ["Conns:in-alarm"],
      "judged against the ten datapoints it had only retained",
    );
  });
});

describe("violations and explore", () => {
  const dir = tempDir();
  const profile = SecurityProfileSchema.parse({
    securityProfileName: "Egress",
    behaviors: [
      { name: "BytesOut", metric: "aws:all-bytes-out", criteria: { comparisonOperator: "less-than-equals", value: { count: 5000 } } },
      { name: "Dst", metric: "aws:destination-ip-addresses", criteria: { comparisonOperator: "in-cidr-set", value: { cidrs: ["10.0.0.0/8"] } } },
    ],
    additionalMetricsToRetainV2: [{ metric: "aws:all-packets-out" }],
  });
  const t0 = Date.parse("2026-11-20T10:00:00Z");
  const report = (i: number, bytes: number, peers: string[]): Report => ({
    header: { report_id: t0 + i * 300_000, version: "1.0" },
    metrics: {
      network_stats: { bytes_in: 1, bytes_out: bytes, packets_in: 1, packets_out: 2 },
      tcp_connections: { established_connections: { connections: peers.map((p) => ({ remote_addr: `${p}:443`, local_port: 40000 })), total: peers.length } },
    },
  });
  const config = { ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [profile] };
  const detector = new Detector({ work: new WorkDir(dir, recordingLogger()), thingName: "gw-1", log: recordingLogger(), config: () => config });
  detector.configure(config);
  const events = [
    report(0, 1000, ["10.0.0.1"]),
    report(1, 9000, ["10.0.0.1", "198.51.100.9"]),
    report(2, 9500, ["10.0.0.1"]),
    report(3, 800, ["10.0.0.2"]),
  ].flatMap((r) => detector.observe(datapointOfReport(r, r.header.report_id)));
  const cli = (args: string[]) => spawnSync(process.execPath, [BUNDLE, ...args, "--work-dir", dir], { encoding: "utf8" });

  it("the history holds only the metrics the profiles use or retain: numbers and lists apart", () => {
    const firstLine = (folder: string) => {
      const first = readdirSync(folder)
        .filter((f) => f.endsWith(".ndjson"))
        .sort()[0]!;
      return JSON.parse(readFileSync(join(folder, first), "utf8").split("\n")[0]!) as { v: object };
    };
    assert.deepEqual(Object.keys(firstLine(join(dir, HISTORY_FOLDER)).v).sort(), ["aws:all-bytes-out", "aws:all-packets-out"]);
    assert.deepEqual(Object.keys(firstLine(join(dir, HISTORY_FOLDER, LISTS_FOLDER)).v), ["aws:destination-ip-addresses"]);
    assert.deepEqual(
      events.map((e) => `${e.behavior.name}:${e.violationEventType}`),
      ["BytesOut:in-alarm", "Dst:in-alarm", "Dst:alarm-cleared", "BytesOut:alarm-cleared"],
    );
  });

  it("violations prints the active alarms and the recent events", () => {
    detector.observe(datapointOfReport(report(4, 7000, ["10.0.0.2"]), report(4, 7000, []).header.report_id));
    const r = cli(["violations"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Active violations: 1\n {2}Egress\/BytesOut \(aws:all-bytes-out\) since 2026-11-20T10:20:00\.000Z, last \{"count":7000\}/);
    assert.match(r.stdout, /Recent events: 5/);
    assert.match(r.stdout, /2026-11-20T10:05:00\.000Z in-alarm +Egress\/Dst \{"cidrs":\["198\.51\.100\.9"\]\}/);
  });

  it("explore prints a metric around a time and writes an SVG with the alarm shaded", () => {
    const svg = join(tempDir(), "chart.svg");
    const r = cli(["explore", "--metric", "aws:all-bytes-out", "--around", "2026-11-20T10:10:00Z", "--window", "1h", "--svg", svg]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2026-11-20T10:05:00\.000Z {2}9000\n2026-11-20T10:10:00\.000Z {2}9500/);
    const text = readFileSync(svg, "utf8");
    assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((text.match(/<rect [^>]*fill="#f4c7c3"/g) ?? []).length, 2, "two alarm intervals shaded");
    assert.equal((text.match(/<circle /g) ?? []).length, 5);
  });

  it("explore lists destination IPs with first and last seen", () => {
    const r = cli(["explore", "--metric", "aws:destination-ip-addresses", "--around", "2026-11-20T10:10:00Z", "--window", "2h"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /10\.0\.0\.1 +2026-11-20T10:00:00\.000Z +2026-11-20T10:10:00\.000Z +3/);
    assert.match(r.stdout, /198\.51\.100\.9 +2026-11-20T10:05:00\.000Z +2026-11-20T10:05:00\.000Z +1/);
  });

  it("names a bad window", () => {
    const r = cli(["explore", "--metric", "x", "--window", "soon"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--window must look like 30m, 2h or 1d, not "soon"/);
  });
});
