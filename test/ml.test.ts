// ML behaviors (mlDetectionConfig) judged on the device: the API's rules for them, the model's
// status as the service reported it, its state across a restart, and what it catches and learns
// on seeded traces (test/bench/ml-traces.ts).

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { readModels } from "../src/cli/detect.js";
import { DEFAULT_CONFIG } from "../src/config/schema.js";
import type { Datapoint } from "../src/detect/datapoint.js";
import { Detector } from "../src/detect/detector.js";
import { type AlarmStates, type ViolationEvent, evaluate } from "../src/detect/evaluate.js";
import { lintProfile } from "../src/detect/lint.js";
import { type MlStates, minDatapointsFor, modelStatus } from "../src/detect/ml/behavior.js";
import { SecurityProfileSchema } from "../src/detect/profile-schema.js";
import { WorkDir } from "../src/store/files.js";
import { PER_DAY, STEP_MS, type Trace, connections as connectionsTrace, inject, traffic } from "./bench/ml-traces.js";
import { writeSocketFiles, writeSyntheticProc } from "./bench/synthetic-proc.js";
import { BUNDLE } from "./bundle.js";
import { recordingLogger, tempDir } from "./helpers.js";
import { ComponentProcess, type Setup, THING, setup } from "./nucleus/harness.js";

const ml = (confidenceLevel: "LOW" | "MEDIUM" | "HIGH", metric = "aws:all-bytes-out", extra: Record<string, unknown> = {}) => ({
  securityProfileName: "Learnt",
  behaviors: [{ name: "BytesOutModel", metric, criteria: { mlDetectionConfig: { confidenceLevel }, ...extra } }],
});

const dpOf = (trace: Trace, i: number, metric = "aws:all-bytes-out"): Datapoint => ({
  time: trace.t[i]!,
  interval: STEP_MS / 1000,
  values: { [metric]: { count: trace.x[i]! } },
});

/** Runs a trace through evaluate with one profile: the events, and the verdict of every datapoint. */
function run(trace: Trace, profile: unknown, minDatapoints: number, states: MlStates = {}) {
  const p = SecurityProfileSchema.parse(profile);
  const alarms: AlarmStates = {};
  const history: Datapoint[] = [];
  const events: ViolationEvent[] = [];
  const outcomes: string[] = [];
  for (let i = 0; i < trace.t.length; i++) {
    const dp = dpOf(trace, i);
    const r = evaluate([p], history, dp, alarms, { thingName: "gw-1", minStatisticalDatapoints: 30, ml: { states, minDatapoints } });
    events.push(...r.events);
    outcomes.push(r.verdicts[0]!.outcome);
    history.push(dp);
    // The history holds 14 days, as the device's.
    while (history.length > 0 && history[0]!.time <= dp.time - 14 * 86_400_000) history.shift();
  }
  return { events, outcomes, states };
}

describe("ML behaviors: the API's rules", () => {
  const errors = (doc: unknown) =>
    lintProfile(doc, { minStatisticalDatapoints: 30, intervalSeconds: 300 })
      .findings.filter((f) => f.level === "ERROR")
      .map((f) => f.message);

  it("takes a confidence level and the consecutive datapoints (1-10), nothing else", () => {
    assert.deepEqual(errors(ml("HIGH", "aws:all-bytes-out", { consecutiveDatapointsToAlarm: 3, consecutiveDatapointsToClear: 2 })), []);
    for (const [extra, field] of [
      [{ comparisonOperator: "less-than" }, "comparisonOperator"],
      [{ value: { count: 5 } }, "value"],
      [{ statisticalThreshold: { statistic: "p90" } }, "statisticalThreshold"],
      [{ durationSeconds: 300 }, "durationSeconds"],
    ] as const) {
      assert.deepEqual(errors(ml("LOW", "aws:all-bytes-out", extra)), [
        `criteria.${field}: an ML behavior (mlDetectionConfig) takes no comparisonOperator, value, statisticalThreshold or durationSeconds`,
      ]);
    }
    assert.match(errors(ml("LOW", "aws:all-bytes-out", { consecutiveDatapointsToAlarm: 11 }))[0]!, /consecutiveDatapointsToAlarm: must be in range \[1,10\]/);
    assert.match(
      errors({ ...ml("LOW"), behaviors: [{ name: "B", metric: "aws:all-bytes-out", criteria: { mlDetectionConfig: { confidenceLevel: "SOME" } } }] })[0]!,
      /confidenceLevel/,
    );
  });

  it("refuses the metrics ML Detect does not take, with the reason; skips the cloud-side ones", () => {
    for (const metric of ["aws:listening-tcp-ports", "aws:destination-ip-addresses", "aws:source-ip-address", "aws:disconnect-duration"]) {
      assert.match(errors(ml("MEDIUM", metric)).join(" "), new RegExp(`metric: ML Detect does not support ${metric}: it takes aws:all-bytes-in`));
    }
    for (const metric of ["aws:all-packets-in", "aws:num-listening-udp-ports", "aws:num-established-tcp-connections", "batteryPercentage"]) {
      assert.deepEqual(errors(ml("MEDIUM", metric)), [], metric);
    }
    const cloud = lintProfile(ml("MEDIUM", "aws:num-messages-sent"), { minStatisticalDatapoints: 30, intervalSeconds: 300 }).findings;
    assert.ok(cloud.some((f) => f.level === "NOTE" && /skipped on the device: .*needs AWS IoT Core/.test(f.message)));
  });

  it("a custom metric must be of type number where the configuration says its type", () => {
    const lint = (types: Record<string, string>) =>
      lintProfile(ml("LOW", "free_disk"), { minStatisticalDatapoints: 30, intervalSeconds: 300, customMetricTypes: types }).findings;
    assert.deepEqual(
      lint({ free_disk: "string-list" })
        .filter((f) => f.level === "ERROR")
        .map((f) => f.message),
      ["metric: free_disk is a custom metric of type string-list; ML Detect takes custom metrics of type number"],
    );
    assert.equal(lint({ free_disk: "number" }).filter((f) => f.level === "ERROR").length, 0);
  });
});

describe("ML behaviors: training and status", () => {
  it("learns until MlMinDatapoints: no verdict, no streak; then ACTIVE, refreshed daily; EXPIRED after 30 days without datapoints", () => {
    const trace = traffic(7, 4);
    const min = PER_DAY * 2;
    const { outcomes, states } = run(trace, ml("HIGH"), min);
    // The datapoint at index min - 1 is the min-th: the model is built there and judges it.
    assert.deepEqual(new Set(outcomes.slice(0, min - 1)), new Set(["learning"]), "learning until the window holds enough");
    assert.ok(outcomes.slice(min - 1).every((o) => o === "complies" || o === "violates"));
    const s = states["Learnt/BytesOutModel"]!;
    const last = trace.t.at(-1)!;
    const pending = modelStatus({ ...s, model: undefined, collected: PER_DAY }, last, min);
    assert.deepEqual(pending, { modelStatus: "PENDING_BUILD", datapointsCollectionPercentage: 50, trainingDataCollectionStartDate: trace.t[0] });
    const active = modelStatus(s, last, min);
    assert.equal(active.modelStatus, "ACTIVE");
    // Built at the 576th datapoint, refreshed a day later, and again a day after that.
    assert.equal(active.lastModelRefreshDate, trace.t[min - 1 + 2 * PER_DAY]);
    assert.equal(modelStatus(s, last + 31 * 86_400_000, min).modelStatus, "EXPIRED");
  });

  it("MlMinDatapoints 0 is 14 days at the interval in force", () => {
    assert.equal(minDatapointsFor(0, 300), 4032);
    assert.equal(minDatapointsFor(0, 3600), 336);
    assert.equal(minDatapointsFor(500, 300), 500);
    assert.equal(DEFAULT_CONFIG.MlMinDatapoints, 0);
  });
});

describe("ML behaviors: what the model catches", () => {
  const TRAIN_DAYS = 14;

  it("an exfiltration burst raises in-alarm with the confidence level and the value that broke the model; normal traffic clears it", () => {
    const clean = traffic(11, TRAIN_DAYS + 3);
    const at = TRAIN_DAYS * PER_DAY + PER_DAY + 150;
    const trace = inject(clean, "burst", 3, at);
    const { events } = run(trace, ml("LOW"), TRAIN_DAYS * PER_DAY);
    const raised = events.find((e) => e.violationEventType === "in-alarm" && e.violationEventTime >= trace.t[at]!);
    assert.ok(raised, "the burst raised an alarm");
    assert.equal(raised.violationEventTime, trace.t[at], "on the first datapoint of the burst");
    assert.deepEqual(raised.violationEventAdditionalInfo, { confidenceLevel: "LOW" });
    assert.deepEqual(raised.metricValue, { count: trace.x[at] });
    assert.deepEqual(raised.behavior.criteria?.mlDetectionConfig, { confidenceLevel: "LOW" });
    const cleared = events.find((e) => e.violationId === raised.violationId && e.violationEventType === "alarm-cleared");
    assert.ok(cleared && cleared.violationEventTime > trace.t[trace.labels[0]![1] - 1]!, "cleared once the burst is over");
  });

  it("a level shift that lasts becomes normal: the alarm ends within three days and does not come back", () => {
    const clean = traffic(21, TRAIN_DAYS + 10);
    const at = TRAIN_DAYS * PER_DAY + 2 * PER_DAY + 100;
    let trace = inject(clean, "shift", 5, at);
    // Up by three times, whatever the seed picked.
    trace = { ...trace, x: clean.x.map((v, i) => (i >= at ? v * 3 : v)) };
    const { outcomes } = run(trace, ml("MEDIUM"), TRAIN_DAYS * PER_DAY);
    assert.ok(outcomes.slice(at, at + PER_DAY).includes("violates"), "the shift is anomalous when it happens");
    const settled = at + 3 * PER_DAY;
    assert.deepEqual(outcomes.slice(settled).filter((o) => o === "violates").length, 0, "three days on, the new level is normal");
  });

  it("the same verdicts after a restart as without one: the model is kept in the work folder", () => {
    const trace = inject(traffic(31, 5), "burst", 9, 4 * PER_DAY + 100);
    const config = { ...DEFAULT_CONFIG, DefaultProfile: false, SecurityProfiles: [ml("LOW")], MlMinDatapoints: 2 * PER_DAY };
    const detector = (dir: string) => {
      const d = new Detector({ work: new WorkDir(dir, recordingLogger()), thingName: "gw-1", log: recordingLogger(), config: () => config });
      d.configure(config);
      return d;
    };
    const straight = detector(tempDir());
    const once = trace.t.map((_, i) => straight.observe(dpOf(trace, i)));
    const dir = tempDir();
    let restarted = detector(dir);
    const twice = trace.t.map((_, i) => {
      // Restarts in the middle of learning, right after the model is built, and on the day of the burst.
      if (i === PER_DAY || i === 2 * PER_DAY + 1 || i === 4 * PER_DAY + 50) restarted = detector(dir);
      return restarted.observe(dpOf(trace, i));
    });
    assert.deepEqual(twice, once);
    assert.ok(
      once.flat().some((e) => e.violationEventType === "in-alarm"),
      "the trace does raise an alarm",
    );
  });
});

describe("ML behaviors in component mode, `run` and `replay`", () => {
  const setups: Setup[] = [];
  after(async () => {
    await Promise.all(setups.map((s) => s.close()));
  });
  const profile = {
    securityProfileName: "Learnt",
    behaviors: [{ name: "ConnectionsModel", metric: "aws:num-established-tcp-connections", criteria: { mlDetectionConfig: { confidenceLevel: "HIGH" } } }],
  };
  /** Rewrites the socket files with about 100 connections (a different count each time), or `n`. */
  const connections = (root: string, i: number, n?: number) =>
    writeSocketFiles(join(root, "net"), { tcp: n ?? 90 + ((i * 7919) % 21), tcp6: 0, listeners: 2, peerOffset: i });
  const modelActive = (dir: string) => {
    try {
      return Object.values(readModels(dir)).some((m) => m.model !== undefined);
    } catch {
      return false;
    }
  };

  /** Ordinary counts until the model is built (MlMinDatapoints 40), then a while more; the next count's index. */
  const learnt = async (root: string, work: string): Promise<number> => {
    let i = 0;
    while (!modelActive(work)) {
      connections(root, i++);
      await sleep(30);
    }
    for (let k = 0; k < 20; k++, i++) {
      connections(root, i);
      await sleep(30);
    }
    return i;
  };

  it("component mode: a surge raises in-alarm with the confidence level on the local topic and IoT Core; it clears after", async () => {
    const root = join(tempDir("defender-ml-"), "proc");
    writeSyntheticProc(root, { tcp: 100, tcp6: 0, listeners: 2 });
    const s = await setup(
      {
        ProcRoot: root,
        PublishMetrics: "false",
        SampleIntervalSeconds: "10",
        DefaultProfile: "false",
        MlMinDatapoints: "40",
        ViolationIoTTopic: "defender/violations/{thing}",
        SecurityProfiles: [profile],
      },
      { msPerSecond: 5 },
    );
    setups.push(s);
    s.start();
    const i = await learnt(root, s.workDir);
    connections(root, i, 5000);
    const isEvent = (type: string) => (m: unknown) => {
      const e = m as { violationEventType?: string; behavior?: { name?: string } };
      return e.violationEventType === type && e.behavior?.name === "ConnectionsModel";
    };
    const raised = await s.nucleus.waitFor(() => s.nucleus.localPublishes.find((x) => isEvent("in-alarm")(x.message)), 60_000, "in-alarm on the local topic");
    const event = raised.message as { violationEventAdditionalInfo?: unknown; metricValue?: unknown; behavior: { criteria: unknown } };
    assert.deepEqual(event.violationEventAdditionalInfo, { confidenceLevel: "HIGH" });
    assert.deepEqual(event.metricValue, { count: 5000 });
    assert.deepEqual(event.behavior.criteria, { mlDetectionConfig: { confidenceLevel: "HIGH" } });
    await s.nucleus.waitFor(
      () => s.nucleus.cloudMessages.find((x) => x.topicName === `defender/violations/${THING}` && isEvent("in-alarm")(JSON.parse(x.payload.toString("utf8")))),
      60_000,
      "in-alarm on IoT Core",
    );
    connections(root, i + 1);
    await s.nucleus.waitFor(() => s.nucleus.localPublishes.find((x) => isEvent("alarm-cleared")(x.message)), 60_000, "alarm-cleared");
    // violations and explore show the model: its status, and the band that judged each datapoint.
    const cli = (args: string[]) => spawnSync(process.execPath, [BUNDLE, ...args, "--work-dir", s.workDir], { encoding: "utf8" });
    const v = cli(["violations"]);
    assert.match(v.stdout, /ML models: 1\n {2}Learnt\/ConnectionsModel: ACTIVE lastModelRefreshDate=\d{4}-/);
    assert.match(v.stdout, /in-alarm +Learnt\/ConnectionsModel \{"count":5000\} confidence HIGH/);
    const x = cli(["explore", "--metric", "aws:num-established-tcp-connections", "--window", "1d"]);
    assert.equal(x.status, 0, x.stderr);
    assert.match(x.stdout, /\n\S+ {2}5000 {2}5000 expected [\d.]+ \[[\d.]+, [\d.]+\] outside\n/);
  });

  it("run: the same model from the --config JSON, the alarm in the log and violations.ndjson, cleared after", async () => {
    const dir = tempDir("defender-ml-run-");
    const root = join(dir, "proc");
    const work = join(dir, "work");
    writeSyntheticProc(root, { tcp: 100, tcp6: 0, listeners: 2 });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ DefaultProfile: false, MlMinDatapoints: 40, SecurityProfiles: [profile] }));
    const p = new ComponentProcess(
      spawn(process.execPath, [BUNDLE, "run", "--proc-root", root, "--interval", "10", "--work-dir", work, "--config", join(dir, "config.json")], {
        env: { PATH: process.env.PATH, DEFENDER_TEST_MS_PER_SECOND: "5" },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    try {
      const i = await learnt(root, work);
      connections(root, i, 5000);
      await p.waitForLine(/^WARN violation\.in_alarm profile=Learnt behavior=ConnectionsModel /, 60_000);
      connections(root, i + 1);
      await p.waitForLine(/^INFO violation\.alarm_cleared profile=Learnt behavior=ConnectionsModel/, 60_000);
      const events = readFileSync(join(work, "violations.ndjson"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as ViolationEvent);
      const raised = events.find((e) => e.violationEventType === "in-alarm");
      assert.deepEqual(raised?.violationEventAdditionalInfo, { confidenceLevel: "HIGH" });
      assert.deepEqual(raised.metricValue, { count: 5000 });
    } finally {
      await p.stop();
    }
  });

  it("replay takes --ml-min-datapoints and gives the events the device would", () => {
    const trace = inject(connectionsTrace(5, 6), "surge", 2, 4 * PER_DAY + 10);
    const dir = tempDir();
    writeFileSync(
      join(dir, "reports.ndjson"),
      trace.t
        .map((t, k) =>
          JSON.stringify({
            header: { report_id: t, version: "1.0" },
            metrics: { tcp_connections: { established_connections: { connections: [], total: trace.x[k] } } },
          }),
        )
        .join("\n"),
    );
    writeFileSync(
      join(dir, "p.json"),
      JSON.stringify({ ...profile, behaviors: [{ ...profile.behaviors[0], criteria: { mlDetectionConfig: { confidenceLevel: "LOW" } } }] }),
    );
    const r = spawnSync(
      process.execPath,
      [BUNDLE, "replay", "--profile", join(dir, "p.json"), "--reports", join(dir, "reports.ndjson"), "--ml-min-datapoints", String(2 * PER_DAY)],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ViolationEvent);
    const surge = events.find((e) => e.violationEventType === "in-alarm" && e.violationEventTime === trace.t[4 * PER_DAY + 10]);
    assert.ok(surge, `the surge raised an alarm: ${r.stdout.slice(0, 500)}`);
    assert.deepEqual(surge.violationEventAdditionalInfo, { confidenceLevel: "LOW" });
    const without = spawnSync(process.execPath, [BUNDLE, "replay", "--profile", join(dir, "p.json"), "--reports", join(dir, "reports.ndjson")], {
      encoding: "utf8",
    });
    assert.equal(without.stdout.trim(), "", "with the default (14 days at 300 s) six days of reports are all learning");
  });

  it("check-profile shows a device's model status from its work folder", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p.json"), JSON.stringify(profile));
    writeFileSync(
      join(dir, "models.json"),
      JSON.stringify({
        kind: "community.greengrass.DeviceDefender/models",
        behaviors: {
          "Learnt/ConnectionsModel": {
            behavior: "{}",
            collected: 1008,
            needed: 4032,
            trainingDataCollectionStartDate: Date.now() - 86_400_000,
            lastDatapointTime: Date.now(),
          },
        },
      }),
    );
    const r = spawnSync(process.execPath, [BUNDLE, "check-profile", join(dir, "p.json"), "--work-dir", dir], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /MODEL profile Learnt behavior ConnectionsModel: PENDING_BUILD datapointsCollectionPercentage=25\n/);
    assert.match(
      r.stdout,
      /NOTE profile Learnt behavior ConnectionsModel: a model learnt on the device \(HIGH: alarms least\); it is learning until 4,032 datapoints \(14\.0 days/,
    );
    writeFileSync(join(dir, "models.json"), "{not json");
    const bad = spawnSync(process.execPath, [BUNDLE, "check-profile", join(dir, "p.json"), "--work-dir", dir], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /models\.json: not valid JSON/);
  });
});
