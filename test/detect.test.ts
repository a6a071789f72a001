import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_PROFILE } from "../src/detect/default-profile.js";
import { type Datapoint, datapointOfReport } from "../src/detect/datapoint.js";

const datapointOf = (r: Report) => datapointOfReport(r, r.header.report_id);
import { type AlarmStates, Baselines, type ViolationEvent, evaluate, percentile } from "../src/detect/evaluate.js";
import { type Behavior, type MetricValue, SecurityProfileSchema } from "../src/detect/profile-schema.js";
import { toShortNames } from "../src/report/names.js";
import type { Report } from "../src/report/schema.js";
import { BUNDLE } from "./bundle.js";
import { tempDir } from "./helpers.js";

const opts = { thingName: "gw-1", minStatisticalDatapoints: 3 };
const profile = (...behaviors: Behavior[]) => SecurityProfileSchema.parse({ securityProfileName: "P", behaviors });
const dp = (time: number, values: Record<string, MetricValue>): Datapoint => ({ time, values });

/** Gives each datapoint the seconds since the one before, as the component and replay do. */
function withIntervals(points: Datapoint[]): Datapoint[] {
  return points.map((d, i) => (i === 0 || d.interval !== undefined ? d : { ...d, interval: (d.time - points[i - 1]!.time) / 1000 }));
}

/** Runs datapoints through the evaluator; returns each datapoint's events. */
function run(behaviors: Behavior[], points: Datapoint[], states: AlarmStates = {}, options = opts) {
  const p = [profile(...behaviors)];
  const history: Datapoint[] = [];
  const out: ViolationEvent[][] = [];
  for (const d of withIntervals(points)) {
    out.push(evaluate(p, history, d, states, options).events);
    history.push(d);
  }
  return out;
}
const types = (evs: ViolationEvent[][]) => evs.map((e) => e.map((x) => x.violationEventType).join(",") || "-");

describe("compliance: a behavior describes normal behaviour", () => {
  it("numeric operators: measured OP value holds → complies (the CLI example alarms at 0 for greater-than 10)", () => {
    const b = (op: string, count: number): Behavior => ({
      name: "b",
      metric: "aws:num-established-tcp-connections",
      criteria: { comparisonOperator: op as never, value: { count } },
    });
    const at = (n: number) => dp(1000 * n, { "aws:num-established-tcp-connections": { count: n } });
    assert.deepEqual(types(run([b("greater-than", 10)], [at(0)])), ["in-alarm"]);
    assert.deepEqual(types(run([b("less-than", 5)], [at(4), at(5), at(4)])), ["-", "in-alarm", "alarm-cleared"]);
    assert.deepEqual(types(run([b("less-than-equals", 5)], [at(5), at(6)])), ["-", "in-alarm"]);
    assert.deepEqual(types(run([b("greater-than-equals", 5)], [at(5), at(4)])), ["-", "in-alarm"]);
  });

  it("port sets: in-port-set is an allow list, not-in-port-set a deny list; an empty list complies", () => {
    const allow: Behavior = { name: "allow", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22, 443] } } };
    const deny: Behavior = {
      name: "deny",
      metric: "aws:listening-tcp-ports",
      criteria: { comparisonOperator: "not-in-port-set", value: { ports: [23, 2323] } },
    };
    const ports = (...p: number[]) => dp(Date.now(), { "aws:listening-tcp-ports": { ports: p } });
    assert.deepEqual(types(run([allow], [ports(22, 443), ports(22, 8080), ports()])), ["-", "in-alarm", "alarm-cleared"]);
    assert.deepEqual(types(run([deny], [ports(22, 8080), ports(22, 2323), ports()])), ["-", "in-alarm", "alarm-cleared"]);
  });

  it("CIDR sets contain IPv4 and IPv6 peers", () => {
    const b: Behavior = {
      name: "dst",
      metric: "aws:destination-ip-addresses",
      criteria: { comparisonOperator: "in-cidr-set", value: { cidrs: ["10.0.0.0/8", "2001:db8::/32"] } },
    };
    const ips = (...c: string[]) => dp(0, { "aws:destination-ip-addresses": { cidrs: c } });
    assert.deepEqual(types(run([b], [ips("10.1.2.3", "2001:db8:5::1"), ips("10.1.2.3", "192.0.2.1"), ips("2001:db9::1")])), ["-", "in-alarm", "-"]);
    const deny: Behavior = {
      name: "deny",
      metric: "aws:destination-ip-addresses",
      criteria: { comparisonOperator: "not-in-cidr-set", value: { cidrs: ["203.0.113.0/24"] } },
    };
    assert.deepEqual(types(run([deny], [ips("203.0.112.255"), ips("203.0.113.7")])), ["-", "in-alarm"]);
  });

  it("custom metrics: a number and a string-list (in-set / not-in-set)", () => {
    const temp: Behavior = {
      name: "temp",
      metric: "soc_temp",
      criteria: { comparisonOperator: "less-than", value: { number: 80 }, consecutiveDatapointsToAlarm: 2 },
    };
    const procs: Behavior = { name: "procs", metric: "listeners", criteria: { comparisonOperator: "in-set", value: { strings: ["sshd", "nginx"] } } };
    const miner: Behavior = { name: "miner", metric: "listeners", criteria: { comparisonOperator: "not-in-set", value: { strings: ["xmrig"] } } };
    const point = (t: number, temperature: number, names: string[]) => dp(t, { soc_temp: { number: temperature }, listeners: { strings: names } });
    const events = run(
      [temp, procs, miner],
      [point(1, 70, ["sshd"]), point(2, 85, ["sshd", "nginx"]), point(3, 90, ["sshd", "xmrig"]), point(4, 60, ["sshd"])],
    );
    assert.deepEqual(
      events.map((e) =>
        e
          .map((x) => `${x.behavior.name}:${x.violationEventType}`)
          .sort()
          .join(","),
      ),
      ["", "", "miner:in-alarm,procs:in-alarm,temp:in-alarm", "miner:alarm-cleared,procs:alarm-cleared,temp:alarm-cleared"],
    );
    assert.deepEqual(events[2]!.find((e) => e.behavior.name === "temp")!.metricValue, { number: 90 });
  });
});

describe("datapoints, windows and streaks", () => {
  it("a report without the metric is no datapoint: it neither violates nor breaks a streak", () => {
    const b: Behavior = {
      name: "b",
      metric: "aws:all-bytes-out",
      criteria: { comparisonOperator: "less-than", value: { count: 100 }, consecutiveDatapointsToAlarm: 2 },
    };
    const bytes = (t: number, n?: number) => dp(t, n === undefined ? {} : { "aws:all-bytes-out": { count: n } });
    assert.deepEqual(types(run([b], [bytes(1, 500), bytes(2), bytes(3, 500)])), ["-", "-", "in-alarm"]);
  });

  it("durationSeconds sums a delta metric over the trailing window; gauges take the latest", () => {
    const b: Behavior = {
      name: "b",
      metric: "aws:all-bytes-out",
      criteria: { comparisonOperator: "less-than-equals", value: { count: 1000 }, durationSeconds: 600 },
    };
    const bytes = (s: number, n: number) => dp(s * 1000, { "aws:all-bytes-out": { count: n } });
    const events = run([b], [bytes(0, 400), bytes(300, 400), bytes(600, 400), bytes(900, 100)]);
    // windows (t-600, t]: 400, 800, 800 (0 s is out), 500
    assert.deepEqual(types(events), ["-", "-", "-", "-"]);
    const ev = run([b], [bytes(0, 400), bytes(300, 700)]);
    assert.deepEqual(ev[1]![0]!.metricValue, { count: 1100 });
  });

  it("alarm after N violating datapoints in a row, clear after M compliant ones", () => {
    const b: Behavior = {
      name: "b",
      metric: "aws:num-listening-tcp-ports",
      criteria: { comparisonOperator: "less-than-equals", value: { count: 3 }, consecutiveDatapointsToAlarm: 3, consecutiveDatapointsToClear: 2 },
    };
    const n = (t: number, c: number) => dp(t, { "aws:num-listening-tcp-ports": { count: c } });
    const ev = run([b], [n(1, 5), n(2, 5), n(3, 1), n(4, 5), n(5, 5), n(6, 5), n(7, 1), n(8, 5), n(9, 1), n(10, 1)]);
    assert.deepEqual(types(ev), ["-", "-", "-", "-", "-", "in-alarm", "-", "-", "-", "alarm-cleared"]);
    const raised = ev[5]![0]!;
    assert.equal(raised.violationEventTime, 6);
    assert.equal(ev[9]![0]!.violationId, raised.violationId, "one id per alarm episode");
    assert.match(raised.violationId, /^[0-9a-f]{32}$/);
    assert.deepEqual(Object.keys(raised).sort(), [
      "behavior",
      "metricValue",
      "securityProfileName",
      "thingName",
      "violationEventTime",
      "violationEventType",
      "violationId",
    ]);
  });

  it("a behavior or profile removed while in alarm ends as alarm-invalidated", () => {
    const b: Behavior = { name: "b", metric: "aws:num-listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: 1 } } };
    const states: AlarmStates = {};
    run([b], [dp(1, { "aws:num-listening-tcp-ports": { count: 5 } })], states);
    const { events } = evaluate([], [], dp(2, {}), states, opts);
    assert.deepEqual(
      events.map((e) => [e.violationEventType, e.behavior.name, e.metricValue]),
      [["alarm-invalidated", "b", { count: 5 }]],
    );
    assert.deepEqual(states, {});
  });
});

describe("statistical thresholds: the device's own baseline", () => {
  it("nearest-rank percentiles", () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, "p0"), 1);
    assert.equal(percentile(v, "p50"), 50);
    assert.equal(percentile(v, "p99"), 99);
    assert.equal(percentile(v, "p99.99"), 100);
    assert.equal(percentile(v, "p100"), 100);
  });

  it("learns until enough earlier datapoints exist, then judges against them (current one excluded)", () => {
    const b: Behavior = {
      name: "b",
      metric: "aws:all-packets-out",
      criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p100" } },
    };
    const pk = (t: number, n: number) => dp(t, { "aws:all-packets-out": { count: n } });
    const p = [profile(b)];
    const states: AlarmStates = {};
    const history: Datapoint[] = [];
    const verdicts: string[] = [];
    for (const d of withIntervals([pk(0, 10), pk(1000, 10), pk(2000, 12), pk(3000, 11), pk(4000, 12), pk(5000, 50), pk(6000, 12)]).slice(1)) {
      verdicts.push(evaluate(p, history, d, states, opts).verdicts[0]!.outcome);
      history.push(d);
    }
    assert.deepEqual(verdicts, ["learning", "learning", "learning", "complies", "violates", "complies"]);
  });

  it("ordinary datapoints above the percentile do not wear the baseline down; a storm's run stays out of it until it ends", () => {
    const b: Behavior = {
      name: "b",
      metric: "aws:num-established-tcp-connections",
      criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p90" } },
    };
    const conns = (t: number, n: number) => dp(t, { "aws:num-established-tcp-connections": { count: n } });
    // 3,000 samples of 0-99 connections, evenly spread: about 10% are above p90 by definition.
    const points = Array.from({ length: 3000 }, (_, i) => conns(i * 300_000, (i * 37) % 100));
    const states: AlarmStates = {};
    const history: Datapoint[] = [];
    const thresholds: number[] = [];
    for (const d of points) {
      thresholds.push(evaluate([profile(b)], history, d, states, { ...opts, minStatisticalDatapoints: 30 }).verdicts[0]!.threshold ?? NaN);
      history.push(d);
    }
    // Kept out for good, each of them would lower the next p90 (it had fallen to 58 here before this was fixed).
    const last = thresholds.at(-1)!;
    assert.ok(last >= 88 && last <= 90, `about the true p90 of 0-99: ${last}`);
    // A storm of two samples after them: both violate (the first stays out of the baseline while the run lasts).
    const storm = [conns(3000 * 300_000, 5000), conns(3001 * 300_000, 5000)];
    const outcomes = storm.map((d) => {
      const v = evaluate([profile(b)], history, d, states, { ...opts, minStatisticalDatapoints: 30 }).verdicts[0]!.outcome;
      history.push(d);
      return v;
    });
    assert.deepEqual(outcomes, ["violates", "violates"]);
  });

  it("the blog's greater-than p99.99 flags nearly everything; less-than-equals is what it meant", () => {
    const make = (op: "greater-than" | "less-than-equals"): Behavior => ({
      name: op,
      metric: "aws:all-packets-out",
      criteria: { comparisonOperator: op, statisticalThreshold: { statistic: "p99.99" }, durationSeconds: 300 },
    });
    const points = Array.from({ length: 60 }, (_, i) => dp(i * 300_000, { "aws:all-packets-out": { count: 100 + (i % 7) } }));
    points.push(dp(60 * 300_000, { "aws:all-packets-out": { count: 100_000 } }));
    const learned = { ...opts, minStatisticalDatapoints: 30 };
    const gt = run([make("greater-than")], points, {}, learned).flat();
    const le = run([make("less-than-equals")], points, {}, learned).flat();
    assert.equal(gt[0]?.violationEventType, "in-alarm");
    assert.ok(gt[0].violationEventTime < 60 * 300_000, "alarms on ordinary traffic");
    assert.deepEqual(
      le.map((e) => [e.violationEventType, e.violationEventTime]),
      [["in-alarm", 60 * 300_000]],
    );
  });
});

describe("incremental baselines", () => {
  it("give the same verdicts as sorting the history each time, while the history grows and loses its oldest", () => {
    const b = (stat: string, durationSeconds?: number): Behavior => ({
      name: `${stat.replace(".", "_")}-${durationSeconds ?? 0}`,
      metric: "aws:all-bytes-out",
      criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: stat as never }, ...(durationSeconds ? { durationSeconds } : {}) },
    });
    const p = [profile(b("p50"), b("p90", 600), b("p100"), b("p0.1", 900))];
    const cached = new Baselines();
    const history: Datapoint[] = [];
    const a: AlarmStates = {};
    const z: AlarmStates = {};
    for (let i = 0; i < 300; i++) {
      const d = {
        ...dp(i * 300_000, { "aws:all-bytes-out": { count: ((i * 7919) % 1000) + (i % 50 === 0 ? 5000 : 0) } }),
        interval: i === 0 ? undefined : 300 - (i % 3) * 100,
      };
      const plain = evaluate(p, history, d, a, opts).verdicts.map((v) => `${v.outcome}:${v.threshold}`);
      const fast = evaluate(p, history, d, z, { ...opts, baselines: cached }).verdicts.map((v) => `${v.outcome}:${v.threshold}`);
      assert.deepEqual(fast, plain, `datapoint ${i}`);
      history.push(d);
      if (history.length > 100) history.shift(); // the age limit drops the oldest
    }
  });
});

describe("the default profile", () => {
  it("raises unusual outbound traffic and a connection surge against the device baseline, after learning", () => {
    const report = (i: number, bytesOut: number, packetsOut: number, connections: number): Report => ({
      header: { report_id: 1_790_000_000_000 + i * 300_000, version: "1.0" },
      metrics: {
        network_stats: { bytes_in: 1000, bytes_out: bytesOut, packets_in: 10, packets_out: packetsOut },
        tcp_connections: { established_connections: { connections: [], total: connections } },
      },
    });
    const normal = Array.from({ length: 40 }, (_, i) => report(i, 5000 + (i % 9) * 100, 50 + (i % 5), 3 + (i % 3)));
    const spike = [report(40, 900_000, 7000, 400), report(41, 950_000, 7100, 420), report(42, 5000, 50, 3), report(43, 5100, 51, 4)];
    const history: Datapoint[] = [];
    const states: AlarmStates = {};
    const seen: string[] = [];
    for (const [i, r] of [...normal, ...spike].entries()) {
      const d = { ...datapointOf(r), ...(i > 0 ? { interval: 300 } : {}) };
      for (const e of evaluate([DEFAULT_PROFILE], history, d, states, { ...opts, minStatisticalDatapoints: 30 }).events)
        seen.push(`${(d.time - 1_790_000_000_000) / 300_000}:${e.behavior.name}:${e.violationEventType}`);
      history.push(d);
    }
    // Two violating datapoints in a row raise each alarm; two compliant ones clear it.
    assert.deepEqual(seen.sort(), [
      "41:BytesOutWithinBaseline:in-alarm",
      "41:EstablishedConnectionsWithinBaseline:in-alarm",
      "41:PacketsOutWithinBaseline:in-alarm",
      "43:BytesOutWithinBaseline:alarm-cleared",
      "43:EstablishedConnectionsWithinBaseline:alarm-cleared",
      "43:PacketsOutWithinBaseline:alarm-cleared",
    ]);
  });

  it("raises telnet listening and a new listening port above the baseline", () => {
    const report = (t: number, ports: number[]): Report => ({
      header: { report_id: t, version: "1.0" },
      metrics: { listening_tcp_ports: { ports: ports.map((port) => ({ port })), total: ports.length } },
    });
    const points = [...Array.from({ length: 5 }, (_, i) => report(i + 1, [22, 443])), report(6, [22, 443, 31337]), report(7, [22, 23, 443])].map(datapointOf);
    const history: Datapoint[] = [];
    const states: AlarmStates = {};
    const seen: string[] = [];
    for (const d of points) {
      for (const e of evaluate([DEFAULT_PROFILE], history, d, states, opts).events) seen.push(`${d.time}:${e.behavior.name}:${e.violationEventType}`);
      history.push(d);
    }
    // At 7 the count is still 3 where 2 is normal: the 3 ports at 6 violated, so they did not become the baseline.
    assert.deepEqual(seen, ["6:ListeningTcpPortsWithinBaseline:in-alarm", "7:NoTelnetListening:in-alarm"]);
  });
});

describe("commands", () => {
  const bundle = (args: string[]) => spawnSync(process.execPath, [BUNDLE, ...args], { encoding: "utf8" });

  it("check-profile: errors name profile, behavior and field (exit 1); lints the blog profile (exit 0)", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "bad.json"),
      JSON.stringify({
        securityProfileName: "Bad",
        behaviors: [
          {
            name: "B1",
            metric: "aws:listening-tcp-ports",
            criteria: { comparisonOperator: "less-than", value: { count: 3 }, consecutiveDatapointsToAlarm: 11 },
          },
        ],
      }),
    );
    const bad = bundle(["check-profile", join(dir, "bad.json")]);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /ERROR profile Bad behavior B1: criteria\.consecutiveDatapointsToAlarm: must be in range \[1,10\]/);
    assert.match(bad.stdout, /ERROR profile Bad behavior B1: criteria\.comparisonOperator: less-than does not apply to aws:listening-tcp-ports/);
    writeFileSync(
      join(dir, "blog.json"),
      JSON.stringify({
        securityProfileName: "DataExfiltrationCheck",
        behaviors: [
          {
            name: "PacketExfiltration",
            metric: "aws:all-packets-out",
            criteria: { comparisonOperator: "greater-than", durationSeconds: 300, statisticalThreshold: { statistic: "p99.99" } },
          },
          { name: "Msgs", metric: "aws:num-messages-sent", criteria: { comparisonOperator: "less-than", value: { count: 5 }, durationSeconds: 300 } },
          { name: "ML", metric: "aws:all-bytes-out", criteria: { mlDetectionConfig: { confidenceLevel: "HIGH" } } },
        ],
      }),
    );
    const blog = bundle(["check-profile", join(dir, "blog.json")]);
    assert.equal(blog.status, 0, blog.stdout);
    assert.match(blog.stdout, /WARN .*PacketExfiltration: "greater-than p99\.99" says normal is above the 99\.99th percentile/);
    assert.match(blog.stdout, /WARN .*p99\.99 needs about 10,000 datapoints before it differs from the maximum/);
    assert.match(blog.stdout, /NOTE .*p99\.99 is this device's own baseline/);
    assert.match(blog.stdout, /NOTE .*behavior Msgs: skipped on the device: aws:num-messages-sent is computed by AWS IoT Core/);
    assert.match(blog.stdout, /NOTE .*behavior ML: a model learnt on the device \(HIGH: alarms least\); it is learning until 4,032 datapoints/);
    const def = bundle(["check-profile", "--default"]);
    assert.equal(def.status, 0);
    assert.match(def.stdout, /"securityProfileName": "EdgeDefault"/);
  });

  it("replay evaluates NDJSON reports, long or short names, and prints violation events", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "p.json"),
      JSON.stringify([
        {
          securityProfileName: "Ports",
          behaviors: [{ name: "OnlySsh", metric: "aws:listening-tcp-ports", criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } } }],
        },
      ]),
    );
    const r = (id: number, ports: number[]) => ({
      header: { report_id: id, version: "1.0" },
      metrics: { listening_tcp_ports: { ports: ports.map((port) => ({ port })), total: ports.length } },
    });
    writeFileSync(
      join(dir, "reports.ndjson"),
      [JSON.stringify(r(1, [22])), JSON.stringify(toShortNames(r(2, [22, 8080]))), "not json", JSON.stringify(r(3, [22]))].join("\n"),
    );
    const out = bundle(["replay", "--profile", join(dir, "p.json"), "--reports", join(dir, "reports.ndjson"), "--thing", "gw-1"]);
    assert.equal(out.status, 0, out.stderr);
    const events = out.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { violationEventType: unknown; violationEventTime: unknown; thingName: unknown; metricValue: unknown });
    // Ids below 1e11 are epoch seconds (the Python agent, the embedded C demo): times are in ms.
    assert.deepEqual(
      events.map((e) => [e.violationEventType, e.violationEventTime, e.thingName, e.metricValue]),
      [
        // The in-alarm event carries the port that breaks the allow list, as the service's does.
        ["in-alarm", 2000, "gw-1", { ports: [8080] }],
        ["alarm-cleared", 3000, "gw-1", { ports: [22] }],
      ],
    );
    assert.match(out.stderr, /WARN replay\.line_skipped line=3/);
  });
});

describe("PublishMetrics", () => {
  it("lowers the interval floor from 300 s to 10 s when nothing goes to the service", async () => {
    const { DEFAULT_CONFIG } = await import("../src/config/schema.js");
    const { intervalFloor, logConfiguration } = await import("../src/config/apply.js");
    const { recordingLogger } = await import("./helpers.js");
    assert.equal(intervalFloor(DEFAULT_CONFIG), 300);
    const log = recordingLogger();
    const local = logConfiguration({ PublishMetrics: "false", SampleIntervalSeconds: "5" }, DEFAULT_CONFIG, log);
    assert.equal(intervalFloor(local), 10);
    assert.ok(log.lines.some((l) => /WARN config\.interval_raised key=SampleIntervalSeconds value=5 used=10/.test(l)));
    const ok = logConfiguration({ PublishMetrics: "false", SampleIntervalSeconds: "10" }, DEFAULT_CONFIG, recordingLogger());
    assert.equal(Math.max(ok.SampleIntervalSeconds, intervalFloor(ok)), 10);
  });
});
