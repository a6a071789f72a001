// Detect must never look clean when it is not: each case here failed before (issue "Detect you
// can trust"), and is checked against the API model (botocore iot 2015-05-28), the developer
// guide, and reports as other agents send them.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { ConnectionEntry } from "../src/collect/collectors/established-connections.js";
import type { PortEntry } from "../src/collect/collectors/listening-ports.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import { INVALIDATE_AFTER_MS } from "../src/detect/alarms.js";
import { SampleClock } from "../src/detect/clock.js";
import { type Datapoint, datapointOfSample } from "../src/detect/datapoint.js";
import { DEFAULT_PROFILE } from "../src/detect/default-profile.js";
import { DETECT_STATE_FILE, Detector } from "../src/detect/detector.js";
import { type AlarmStates, evaluate } from "../src/detect/evaluate.js";
import { lintProfile } from "../src/detect/lint.js";
import { type Behavior, SecurityProfileSchema } from "../src/detect/profile-schema.js";
import { ProfilesInForce } from "../src/detect/profiles.js";
import { produceReport } from "../src/report/build.js";
import { WorkDir } from "../src/store/files.js";
import { describeZodError } from "../src/util/zod-errors.js";
import { chartOf } from "../src/detect/chart.js";
import { BUNDLE } from "./bundle.js";
import { copyFixture, recordingLogger, tempDir } from "./helpers.js";
import { ComponentProcess } from "./nucleus/harness.js";

const opts = { thingName: "gw-1", minStatisticalDatapoints: 3 };
const problemsOf = (doc: unknown) => {
  const r = SecurityProfileSchema.safeParse(doc);
  return r.success ? "" : describeZodError(r.error, doc);
};
const withBehavior = (b: Record<string, unknown>) => ({ securityProfileName: "P", behaviors: [b] });
const bundle = (args: string[]) => spawnSync(process.execPath, [BUNDLE, ...args], { encoding: "utf8" });

const listed = <T>(items: T[]) => ({ items, total: items.length });

describe("1. Detect judges everything the device saw; a cut report keeps what matters", () => {
  const allowPorts: Behavior = {
    name: "KnownPorts",
    metric: "aws:listening-tcp-ports",
    criteria: { comparisonOperator: "in-port-set", value: { ports: Array.from({ length: 120 }, (_, i) => 1000 + i) } },
  };
  const lanOnly: Behavior = {
    name: "LanOnly",
    metric: "aws:destination-ip-addresses",
    criteria: { comparisonOperator: "in-cidr-set", value: { cidrs: ["10.0.0.0/8"] } },
  };
  const ports: PortEntry[] = [...Array.from({ length: 120 }, (_, i) => ({ port: 1000 + i })), { port: 31337 }];
  const conns: ConnectionEntry[] = [
    ...Array.from({ length: 150 }, (_, i) => ({ remote_addr: `10.0.${i >> 8}.${i & 255}:443`, local_port: 40000 + i })),
    { remote_addr: "198.51.100.66:4444", local_port: 50000 },
  ];
  const sample = {
    takenAt: 1_790_000_000_000,
    bootId: "b",
    counters: undefined,
    customMetrics: {},
    snapshot: { skippedLines: {}, failures: {}, listening_tcp_ports: listed(ports), established_connections: listed(conns) },
  };

  it("a port and a peer beyond the first 100 entries raise their alarms", () => {
    const { events } = evaluate(
      [SecurityProfileSchema.parse({ securityProfileName: "P", behaviors: [allowPorts, lanOnly] })],
      [],
      datapointOfSample(sample, undefined),
      {},
      opts,
    );
    assert.deepEqual(events.map((e) => e.behavior.name).sort(), ["KnownPorts", "LanOnly"]);
  });

  it("the report cut to 100 entries keeps the offending port and peer, then new entries, then the rest in order", () => {
    const config = {
      ...DEFAULT_CONFIG,
      DefaultProfile: false,
      SecurityProfiles: [withBehavior(allowPorts), { securityProfileName: "Q", behaviors: [lanOnly] }],
    };
    const detector = new Detector({ work: new WorkDir(undefined, recordingLogger()), thingName: "t", log: recordingLogger(), config: () => config });
    detector.configure(config);
    const previous = new Set(ports.slice(0, 110).map((p) => String(p.port)));
    const rank = (list: string, key: string) => (detector.breaks(list, key) ? 0 : list === "listening_tcp_ports" && !previous.has(key) ? 1 : 2);
    const { report } = produceReport(sample.snapshot, { reportId: 1, maxListEntries: 100, networkStats: undefined, format: "json", shortNames: false, rank });
    const reported = report.metrics!.listening_tcp_ports!.ports!.map((p) => p.port);
    assert.ok(reported.includes(31337), "the port that breaks the allow list");
    assert.ok(reported.includes(1119) && reported.includes(1110), "ports new since the previous report");
    assert.equal(report.metrics!.listening_tcp_ports!.total, 121);
    const peers = report.metrics!.tcp_connections!.established_connections!.connections!.map((c) => c.remote_addr);
    assert.ok(peers.includes("198.51.100.66:4444"), "the peer outside the allowed CIDRs");
    assert.equal(peers.length, 100);
  });
});

describe("2-5. a profile the API would refuse is refused, with a message that says why", () => {
  it("invalid CIDRs", () => {
    for (const cidr of ["10.0.0.0/33", "999.1.1.1/8", "10.0.0/8", "10.0.0.0/8/9", "2001:db8::/129"]) {
      assert.match(
        problemsOf(
          withBehavior({
            name: "b",
            metric: "aws:destination-ip-addresses",
            criteria: { comparisonOperator: "not-in-cidr-set", value: { cidrs: ["192.0.2.0/24", cidr] } },
          }),
        ),
        /cidrs\.1: must be a CIDR/,
        cidr,
      );
    }
    assert.equal(
      problemsOf(
        withBehavior({
          name: "b",
          metric: "aws:destination-ip-addresses",
          criteria: { comparisonOperator: "in-cidr-set", value: { cidrs: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"] } },
        }),
      ),
      "",
    );
  });

  it("two behaviors with one name", () => {
    const b = { name: "Same", metric: "aws:num-listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: 5 } } };
    assert.match(
      problemsOf({ securityProfileName: "P", behaviors: [b, { ...b, criteria: { comparisonOperator: "less-than", value: { count: 9 } } }] }),
      /behaviors\.1\.name: "Same" is also the name of behavior 1; behavior names must be unique/,
    );
  });

  it("a misspelt aws: metric is an error; a known cloud-side metric is skipped with a note", () => {
    assert.match(
      problemsOf(withBehavior({ name: "b", metric: "aws:all-bytes-outt", criteria: { comparisonOperator: "less-than", value: { count: 5 } } })),
      /aws:all-bytes-outt is not a Device Defender metric \(did you mean aws:all-bytes-out\?\)/,
    );
    const { profile, findings } = lintProfile(
      withBehavior({ name: "b", metric: "aws:num-messages-sent", criteria: { comparisonOperator: "less-than", value: { count: 5 } } }),
      { minStatisticalDatapoints: 30, intervalSeconds: 300 },
    );
    assert.ok(profile);
    assert.match(findings.map((f) => `${f.level} ${f.message}`).join("\n"), /NOTE skipped on the device: aws:num-messages-sent is computed by AWS IoT Core/);
  });

  it("the model's constraints: alert targets, tags, export config, metric dimensions, description, names", () => {
    const base = { securityProfileName: "P" };
    const cases: Array<[unknown, RegExp]> = [
      [
        { ...base, alertTargets: { EMAIL: { alertTargetArn: "arn:x", roleArn: "arn:aws:iam::123456789012:role/r" } } },
        /alertTargets\.EMAIL: the only alert target type is SNS/,
      ],
      [{ ...base, alertTargets: { SNS: { alertTargetArn: "arn:aws:sns:us-east-1:123456789012:t" } } }, /alertTargets\.SNS\.roleArn: is required/],
      [{ ...base, alertTargets: { SNS: { alertTargetArn: "arn:aws:sns:x", roleArn: "arn:short" } } }, /roleArn: must be a role ARN of 20 to 2048 characters/],
      [{ ...base, tags: [{ Key: "", Value: "v" }] }, /tags\.0\.Key: must be 1-128 characters/],
      [{ ...base, tags: [{ Key: "bad\tkey" }] }, /tags\.0\.Key: must be letters, digits, spaces/],
      [{ ...base, tags: [{ Key: "k", Value: "v".repeat(257) }] }, /tags\.0\.Value: must be at most 256 characters/],
      [{ ...base, tags: [{ Value: "v" }] }, /tags\.0\.Key: is required/],
      [{ ...base, metricsExportConfig: { mqttTopic: "t" } }, /metricsExportConfig\.roleArn: is required/],
      [{ ...base, metricsExportConfig: { roleArn: "arn:aws:iam::123456789012:role/r" } }, /metricsExportConfig\.mqttTopic: is required/],
      [{ ...base, additionalMetricsToRetainV2: [{ metric: "aws:num-messages-sent", metricDimension: {} }] }, /metricDimension\.dimensionName: is required/],
      [
        { ...base, additionalMetricsToRetainV2: [{ metric: "aws:num-messages-sent", metricDimension: { dimensionName: "topic filter" } }] },
        /dimensionName: must be 1-128 characters, each a letter/,
      ],
      [
        { ...base, additionalMetricsToRetainV2: [{ metric: "aws:num-messages-sent", metricDimension: { dimensionName: "t", operator: "EQUALS" } }] },
        /operator: must be IN or NOT_IN/,
      ],
      [
        { ...base, additionalMetricsToRetainV2: [{ metric: "aws:all-bytes-out", metricDimension: { dimensionName: "t" } }] },
        /metricDimension: cannot be used with aws:all-bytes-out/,
      ],
      [
        withBehavior({
          name: "b",
          metric: "aws:all-bytes-out",
          metricDimension: { dimensionName: "t" },
          criteria: { comparisonOperator: "less-than", value: { count: 1 } },
        }),
        /metricDimension: cannot be used with aws:all-bytes-out/,
      ],
      [{ ...base, securityProfileDescription: "line one\nline two" }, /securityProfileDescription: must be printable characters and spaces only/],
      [
        withBehavior({ name: "Outbound traffic ML behavior", metric: "aws:all-bytes-out", criteria: { mlDetectionConfig: { confidenceLevel: "HIGH" } } }),
        /behaviors\.0\.name: must be 1-128 characters, each a letter, a digit, or one of : _ - \(no spaces\)/,
      ],
    ];
    for (const [doc, why] of cases) assert.match(problemsOf(doc), why, JSON.stringify(doc));
    const ok = {
      ...base,
      alertTargets: { SNS: { alertTargetArn: "arn:aws:sns:us-east-1:123456789012:t", roleArn: "arn:aws:iam::123456789012:role/r" } },
      tags: [{ Key: "site", Value: "Köln" }],
      metricsExportConfig: { mqttTopic: "t", roleArn: "arn:aws:iam::123456789012:role/r" },
      additionalMetricsToRetainV2: [{ metric: "aws:num-messages-sent", metricDimension: { dimensionName: "TopicFilter", operator: "NOT_IN" } }],
    };
    assert.equal(problemsOf(ok), "");
  });
});

describe("6. time: each datapoint has its sample time, monotonic across clock steps", () => {
  it("the sample clock never goes back, and keeps the true spacing after the wall clock steps back", () => {
    let wall = 1_790_000_000_000;
    let mono = 5_000;
    const clock = new SampleClock(
      undefined,
      1000,
      () => wall,
      () => mono,
    );
    assert.deepEqual(clock.next("b"), { time: wall });
    wall += 300_000;
    mono += 300_000;
    assert.deepEqual(clock.next("b"), { time: 1_790_000_300_000, interval: 300 });
    wall -= 3_600_000; // NTP steps the clock back an hour
    mono += 300_000;
    assert.deepEqual(clock.next("b"), { time: 1_790_000_600_000, interval: 300 }, "five minutes later, not an hour earlier");
    const restarted = new SampleClock(
      clock.last,
      1000,
      () => wall,
      () => mono + 300_000,
    );
    assert.deepEqual(restarted.next("b"), { time: 1_790_000_900_000, interval: 300 }, "across a restart on the same boot");
  });

  it("a 300 s window over reports sent every 300 s after a clock step sums one report, not all of them", () => {
    const b: Behavior = {
      name: "b",
      metric: "aws:all-bytes-out",
      criteria: { comparisonOperator: "less-than-equals", value: { count: 1500 }, durationSeconds: 300 },
    };
    const p = [SecurityProfileSchema.parse(withBehavior(b))];
    let wall = 1_790_000_000_000;
    let mono = 0;
    const clock = new SampleClock(
      undefined,
      1000,
      () => wall,
      () => mono,
    );
    const history: Datapoint[] = [];
    const states: AlarmStates = {};
    const events: string[] = [];
    for (let i = 0; i < 10; i++) {
      if (i === 3) wall -= 86_400_000; // a day back
      const { time, interval } = clock.next("b");
      const dp: Datapoint = { time, ...(interval ? { interval } : {}), values: { "aws:all-bytes-out": { count: 1000 } } };
      events.push(...evaluate(p, history, dp, states, opts).events.map((e) => e.violationEventType));
      history.push(dp);
      wall += 300_000;
      mono += 300_000;
    }
    assert.deepEqual(events, []);
  });

  it("replay reads report ids in epoch seconds (other agents) and milliseconds (this one)", () => {
    const dir = tempDir();
    const b = {
      name: "Bytes",
      metric: "aws:all-bytes-out",
      criteria: { comparisonOperator: "less-than-equals", value: { count: 2500 }, durationSeconds: 600 },
    };
    writeFileSync(join(dir, "p.json"), JSON.stringify(withBehavior(b)));
    for (const [unit, scale] of [
      ["seconds", 1],
      ["ms", 1000],
    ] as const) {
      const t0 = 1_790_000_000 * scale;
      const lines = Array.from({ length: 12 }, (_, i) =>
        JSON.stringify({
          header: { report_id: t0 + i * 300 * scale, version: "1.0" },
          metrics: { network_stats: { bytes_in: 0, bytes_out: 1000, packets_in: 0, packets_out: 0 } },
        }),
      );
      writeFileSync(join(dir, `r-${unit}.ndjson`), lines.join("\n"));
      const r = bundle(["replay", "--profile", join(dir, "p.json"), "--reports", join(dir, `r-${unit}.ndjson`)]);
      assert.equal(r.status, 0, r.stderr);
      // 600 s windows hold two reports (2000 bytes): never in alarm. Read as ms, seconds-ids would make the window hold all of them.
      assert.equal(r.stdout.trim(), "", `${unit}: ${r.stdout}`);
    }
  });
});

describe("7. alarm-invalidated after two days without datapoints", () => {
  const b: Behavior = { name: "b", metric: "aws:num-listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: 5 } } };
  const p = [SecurityProfileSchema.parse(withBehavior(b))];
  const n = (time: number, count: number): Datapoint => ({ time, values: { "aws:num-listening-tcp-ports": { count } } });

  it("invalidates at the two-day mark; a late compliant datapoint does not clear it, and a violating one starts a new episode", () => {
    const states: AlarmStates = {};
    const raised = evaluate(p, [], n(0, 9), states, opts).events;
    assert.deepEqual(
      raised.map((e) => e.violationEventType),
      ["in-alarm"],
    );
    const late = evaluate(p, [], n(INVALIDATE_AFTER_MS + 60_000, 1), states, opts).events;
    assert.deepEqual(
      late.map((e) => [e.violationEventType, e.violationEventTime, e.violationId]),
      [["alarm-invalidated", INVALIDATE_AFTER_MS, raised[0]!.violationId]],
    );
    const again = evaluate(p, [], n(INVALIDATE_AFTER_MS + 120_000, 9), states, opts).events;
    assert.equal(again[0]!.violationEventType, "in-alarm");
    assert.notEqual(again[0]!.violationId, raised[0]!.violationId);
  });

  it("the component invalidates even when no sample can be judged", () => {
    const config = { ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [withBehavior(b)] };
    const d = new Detector({ work: new WorkDir(undefined, recordingLogger()), thingName: "t", log: recordingLogger(), config: () => config });
    d.configure(config);
    d.observe(n(1000, 9));
    assert.deepEqual(
      d.expire(1000 + INVALIDATE_AFTER_MS).map((e) => e.violationEventType),
      [],
    );
    assert.deepEqual(
      d.expire(1001 + INVALIDATE_AFTER_MS).map((e) => e.violationEventType),
      ["alarm-invalidated"],
    );
  });
});

describe("8-9. a bad edit or a bad file never silences Detect", () => {
  it("a profile edited with a mistake keeps running in its last good version, and its alarm stays", () => {
    const log = recordingLogger();
    const inForce = new ProfilesInForce();
    const good = withBehavior({ name: "b", metric: "aws:num-listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: 5 } } });
    const cfg = (profile: unknown) => ({ ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [profile] });
    assert.deepEqual(
      inForce.update(cfg(good), log).map((p) => p.behaviors![0]!.criteria!.value),
      [{ count: 5 }],
    );
    const broken = withBehavior({ name: "b", metric: "aws:num-listening-tcp-ports", criteria: { comparisonOperator: "less-than", value: { count: -1 } } });
    const kept = inForce.update(cfg(broken), log);
    assert.deepEqual(
      kept.map((p) => p.behaviors![0]!.criteria!.value),
      [{ count: 5 }],
    );
    assert.match(log.lines.join("\n"), /ERROR profile\.rejected where=profile P behavior b .*kept=its last good version/);
    assert.deepEqual(inForce.update({ ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [] }, log), [], "a removed profile is gone");
  });

  it("a detect.json with wrong types is set aside with one warning, and Detect starts clean", () => {
    const dir = tempDir();
    writeFileSync(join(dir, DETECT_STATE_FILE), JSON.stringify({ alarms: { "P/b": { inAlarm: "yes" } }, recent: 7 }));
    const log = recordingLogger();
    const config = { ...DEFAULT_CONFIG };
    const d = new Detector({ work: new WorkDir(dir, log), thingName: "t", log, config: () => config });
    d.configure(config);
    assert.equal(log.lines.filter((l) => l.includes("store.file_set_aside")).length, 1);
    assert.match(
      log.lines.find((l) => l.includes("store.file_set_aside"))!,
      /detect\.json/,
    );
    assert.deepEqual(
      d.observe({ time: 1, values: { "aws:listening-tcp-ports": { ports: [23] } } }).map((e) => e.behavior.name),
      ["NoTelnetListening"],
    );
    assert.ok(existsSync(join(dir, DETECT_STATE_FILE)));
  });
});

describe("12. a new SampleIntervalSeconds does not move the device baselines", () => {
  it("the same traffic rate at 900 s after learning at 300 s raises nothing", () => {
    const history: Datapoint[] = [];
    const states: AlarmStates = {};
    const events: string[] = [];
    let t: number = 1_790_000_000_000;
    const at = (interval: number, bytesPerSecond: number) => {
      t += interval * 1000;
      const dp: Datapoint = {
        time: t,
        interval,
        values: { "aws:all-bytes-out": { count: bytesPerSecond * interval + (t % 7) }, "aws:all-packets-out": { count: interval + (t % 3) } },
      };
      events.push(
        ...evaluate([DEFAULT_PROFILE], history, dp, states, { ...opts, minStatisticalDatapoints: 30 }).events.map(
          (e) => `${e.behavior.name}:${e.violationEventType}`,
        ),
      );
      history.push(dp);
    };
    for (let i = 0; i < 150; i++) at(300, 100); // p99 needs 100 datapoints before it differs from the maximum
    for (let i = 0; i < 10; i++) at(900, 100);
    assert.deepEqual([...events], []);
    for (let i = 0; i < 2; i++) at(900, 10_000); // while a real surge still alarms
    assert.ok(
      events.some((e) => e === "BytesOutWithinBaseline:in-alarm"),
      events.join(),
    );
  });
});

describe("11, 14. run judges; explore, violations and check-profile say what they cannot see", () => {
  it("check-profile --default writes the profile alone on stdout; a bad or empty file is an error, not a usage mistake", () => {
    const def = bundle(["check-profile", "--default"]);
    assert.equal(def.status, 0);
    assert.deepEqual(SecurityProfileSchema.parse(JSON.parse(def.stdout)).securityProfileName, "EdgeDefault");
    const dir = tempDir();
    writeFileSync(join(dir, "bad.json"), "{not json");
    const bad = bundle(["check-profile", join(dir, "bad.json")]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^ERROR .*bad\.json: not valid JSON/);
    assert.doesNotMatch(bad.stderr, /Usage:/);
    writeFileSync(join(dir, "empty.json"), "[]");
    const empty = bundle(["check-profile", join(dir, "empty.json")]);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /empty\.json: holds no profile/);
  });

  it("violations and explore refuse a missing or wrong work folder instead of printing zero", () => {
    const missing = bundle(["violations", "--work-dir", join(tempDir(), "nope")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /work folder .*nope: does not exist/);
    const wrong = bundle(["violations", "--work-dir", tempDir()]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /holds no Detect files/);
  });

  it("run judges every sample into --work-dir: violations, explore (destination IPs retained by default) and a chart with its threshold", () => {
    const work = tempDir();
    const root = copyFixture("tricky");
    const tcp = readFileSync(join(root, "net/tcp"), "utf8");
    writeFileSync(
      join(root, "net/tcp"),
      `${tcp}   9: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0\n`,
    );
    const child = spawnSync(process.execPath, [BUNDLE, "run", "--proc-root", root, "--interval", "10", "--work-dir", work], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, DEFENDER_TEST_MS_PER_SECOND: "20" },
      timeout: 3000,
      killSignal: "SIGTERM",
    });
    assert.match(child.stderr, /WARN violation\.in_alarm profile=EdgeDefault behavior=NoTelnetListening/);
    const events = readFileSync(join(work, "violations.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { behavior: { name: string } });
    assert.equal(events[0]!.behavior.name, "NoTelnetListening");
    const v = bundle(["violations", "--work-dir", work]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /Active violations: 1\n {2}EdgeDefault\/NoTelnetListening/);
    const ips = bundle(["explore", "--metric", "aws:destination-ip-addresses", "--work-dir", work]);
    assert.equal(ips.status, 0, ips.stderr);
    assert.match(ips.stdout, /203\.0\.113\.7 +\d{4}-/);
    const notKept = bundle(["explore", "--metric", "aws:all-bytes-in", "--work-dir", work]);
    assert.equal(notKept.status, 1);
    assert.match(notKept.stderr, /aws:all-bytes-in is not in the history\. .*add it to a profile's additionalMetricsToRetainV2/);
    const svg = join(tempDir(), "c.svg");
    const chart = bundle(["explore", "--metric", "aws:listening-tcp-ports", "--work-dir", work, "--svg", svg]);
    assert.equal(chart.status, 0, chart.stderr);
    const text = readFileSync(svg, "utf8");
    assert.ok((text.match(/<text [^>]*text-anchor="middle">/g) ?? []).length >= 5, "time labels along the axis");
  });

  it("suppressAlerts: the alarm is raised, logged and listed as suppressed", () => {
    const work = tempDir();
    const root = copyFixture("tricky");
    const config = join(work, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        DefaultProfile: false,
        SecurityProfiles: [
          {
            securityProfileName: "Quiet",
            behaviors: [
              {
                name: "OnlyKnownTcpPorts",
                metric: "aws:listening-tcp-ports",
                criteria: { comparisonOperator: "in-port-set", value: { ports: [22] } },
                suppressAlerts: true,
              },
            ],
          },
        ],
      }),
    );
    const child = spawnSync(process.execPath, [BUNDLE, "run", "--proc-root", root, "--interval", "10", "--work-dir", work, "--config", config], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, DEFENDER_TEST_MS_PER_SECOND: "20" },
      timeout: 3000,
      killSignal: "SIGTERM",
    });
    assert.match(child.stderr, /WARN violation\.in_alarm profile=Quiet behavior=OnlyKnownTcpPorts .* suppressed=true/);
    const v = bundle(["violations", "--work-dir", work]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /Active violations: 1\n {2}Quiet\/OnlyKnownTcpPorts .*\(suppressed: not sent to ViolationIoTTopic\)/);
  });

  it("run ends an alarm after two days without datapoints, as component mode does, while the proc root cannot be read", async () => {
    const work = tempDir();
    const root = copyFixture("tricky");
    const tcp = readFileSync(join(root, "net/tcp"), "utf8");
    writeFileSync(
      join(root, "net/tcp"),
      `${tcp}   9: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 10 0\n`,
    );
    // One configured second is 30 µs: two days pass in about 5 s.
    const p = new ComponentProcess(
      spawn(process.execPath, [BUNDLE, "run", "--proc-root", root, "--interval", "10", "--work-dir", work], {
        env: { PATH: process.env.PATH, DEFENDER_TEST_MS_PER_SECOND: "0.03" },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    try {
      await p.waitForLine(/^WARN violation\.in_alarm profile=EdgeDefault behavior=NoTelnetListening/);
      renameSync(join(root, "net"), join(root, "net.gone"));
      await p.waitForLine(/^ERROR procfs\.no_network /);
      const line = await p.waitForLine(/^INFO violation\.alarm_invalidated profile=EdgeDefault behavior=NoTelnetListening/, 60_000);
      assert.ok(line);
      p.child.kill("SIGTERM");
      await p.exited;
      const types = readFileSync(join(work, "violations.ndjson"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { behavior: { name: string }; violationEventType: string })
        .filter((e) => e.behavior.name === "NoTelnetListening")
        .map((e) => e.violationEventType);
      assert.deepEqual(types, ["in-alarm", "alarm-invalidated"]);
    } finally {
      await p.stop();
    }
  });
});

describe("explore's chart draws what the device judged", () => {
  // 20 samples 300 s apart with 3,000 bytes out each (10 bytes/s), then one 60 s after with 3,000 (50 bytes/s).
  const t0 = 1_790_000_000_000;
  const points: Datapoint[] = Array.from({ length: 20 }, (_, i) => ({
    time: t0 + i * 300_000,
    interval: 300,
    values: { "aws:all-bytes-out": { count: 3000 } },
  }));
  points.push({ time: t0 + 19 * 300_000 + 60_000, interval: 60, values: { "aws:all-bytes-out": { count: 3000 } } });
  const from = t0;
  const to = points.at(-1)!.time;

  it("a traffic baseline in rates: the series and its p90 per second, not per datapoint", () => {
    const chart = chartOf("aws:all-bytes-out", points, from, to, [
      { key: "P/Out", name: "Out", criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p90" } } },
    ]);
    assert.match(chart.title, /per second/);
    assert.deepEqual(chart.values.slice(-2), [10, 50]);
    // The baseline at each datapoint, as the device judged it: none before the first rate, then 10.
    assert.equal(chart.lines.length, 1);
    assert.deepEqual(chart.lines[0]!.values.slice(-3), [10, 10, 10]);
    assert.deepEqual(chart.notes, []);
  });

  it("durationSeconds in window sums; a behavior in another unit is named, not drawn", () => {
    const chart = chartOf("aws:all-bytes-out", points, from, to, [
      { key: "P/Window", name: "Window", criteria: { comparisonOperator: "less-than-equals", value: { count: 7000 }, durationSeconds: 900 } },
      { key: "P/Rate", name: "Rate", criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p90" } } },
    ]);
    assert.match(chart.title, /summed over 900 s windows/);
    assert.equal(chart.values.at(-1), 12_000, "the 900 s up to the last datapoint hold four of 3,000 (60, 360 and 660 s before it, and itself)");
    assert.deepEqual(chart.lines, [{ label: "Window: less-than-equals 7000", values: chart.times.map(() => 7000) }]);
    assert.equal(chart.notes.length, 1);
    assert.match(chart.notes[0]!, /^note: Rate judges aws:all-bytes-out per second/);
  });
});
