import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { datapointOfReport } from "../src/detect/datapoint.js";
import { Detector, HISTORY_FILE } from "../src/detect/detector.js";
import { WorkDir } from "../src/store/files.js";
import { History } from "../src/detect/history.js";
import { SecurityProfileSchema } from "../src/detect/profile-schema.js";
import type { Report } from "../src/report/schema.js";
import { BUNDLE } from "./bundle.js";
import { recordingLogger, tempDir } from "./helpers.js";

const dp = (time: number, n: number) => ({ time, values: { "aws:all-bytes-out": { count: n }, "aws:listening-tcp-ports": { ports: [22, n % 65535] } } });
const big = { maxAgeMs: Infinity, maxBytes: Infinity };

describe("history", () => {
  it("keeps datapoints across reopening", () => {
    const path = join(tempDir(), HISTORY_FILE);
    const h = new History(path, big);
    for (let i = 1; i <= 5; i++) h.append(dp(i * 1000, i));
    assert.deepEqual(new History(path, big).datapoints, [1, 2, 3, 4, 5].map((i) => dp(i * 1000, i)));
  });

  it("a power cut mid-write loses only the datapoint being written", () => {
    const path = join(tempDir(), HISTORY_FILE);
    const h = new History(path, big);
    for (let i = 1; i <= 4; i++) h.append(dp(i * 1000, i));
    truncateSync(path, statSync(path).size - 7); // the last record is cut in the middle
    const reopened = new History(path, big);
    assert.equal(reopened.dropped, 1);
    assert.deepEqual(reopened.datapoints.map((d) => d.time), [1000, 2000, 3000]);
    reopened.append(dp(5000, 5)); // and the file is whole again
    assert.deepEqual(new History(path, big).datapoints.map((d) => d.time), [1000, 2000, 3000, 5000]);
  });

  it("drops the oldest first, by age and by size", () => {
    const path = join(tempDir(), HISTORY_FILE);
    const byAge = new History(path, { maxAgeMs: 3000, maxBytes: Infinity });
    for (let i = 1; i <= 6; i++) byAge.append(dp(i * 1000, i));
    assert.deepEqual(new History(path, big).datapoints.map((d) => d.time), [4000, 5000, 6000]);
    const path2 = join(tempDir(), HISTORY_FILE);
    const bySize = new History(path2, { maxAgeMs: Infinity, maxBytes: 2000 });
    for (let i = 1; i <= 100; i++) bySize.append(dp(i * 1000, i));
    assert.ok(statSync(path2).size <= 2000);
    const kept = new History(path2, big).datapoints.map((d) => d.time);
    assert.equal(kept.at(-1), 100_000);
    assert.deepEqual(kept, [...kept].sort((a, b) => a - b));
    assert.ok(kept.length > 10 && kept[0]! > 1000);
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
  const detector = new Detector({ work: new WorkDir(dir, recordingLogger()), thingName: "gw-1", log: recordingLogger(), minStatisticalDatapoints: () => 30, history: { maxAgeMs: 14 * 86_400_000, maxBytes: 5_000_000 } });
  detector.configure([profile]);
  const events = [
    report(0, 1000, ["10.0.0.1"]),
    report(1, 9000, ["10.0.0.1", "198.51.100.9"]),
    report(2, 9500, ["10.0.0.1"]),
    report(3, 800, ["10.0.0.2"]),
  ].flatMap((r) => detector.observe(datapointOfReport(r, r.header.report_id)));
  const cli = (args: string[]) => spawnSync(process.execPath, [BUNDLE, ...args, "--work-dir", dir], { encoding: "utf8" });

  it("the history holds only the metrics the profiles use or retain", () => {
    const line = JSON.parse(readFileSync(join(dir, HISTORY_FILE), "utf8").split("\n")[0]!);
    assert.deepEqual(Object.keys(line.v).sort(), ["aws:all-bytes-out", "aws:all-packets-out", "aws:destination-ip-addresses"]);
    assert.deepEqual(events.map((e) => `${e.behavior.name}:${e.violationEventType}`), ["BytesOut:in-alarm", "Dst:in-alarm", "Dst:alarm-cleared", "BytesOut:alarm-cleared"]);
  });

  it("violations prints the active alarms and the recent events", () => {
    detector.observe(datapointOfReport(report(4, 7000, ["10.0.0.2"]), report(4, 7000, []).header.report_id));
    const r = cli(["violations"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Active violations: 1\n {2}Egress\/BytesOut \(aws:all-bytes-out\) since 2026-11-20T10:20:00\.000Z, last \{"count":7000\}/);
    assert.match(r.stdout, /Recent events: 5/);
    assert.match(r.stdout, /2026-11-20T10:05:00\.000Z in-alarm +Egress\/Dst \{"cidrs":\["10\.0\.0\.1","198\.51\.100\.9"\]\}/);
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
