// npm run bench -- ml: what ML behaviors catch and what they cost, on the labelled traces of
// ./ml-traces.ts (seeded: every run the same), judged exactly as the device judges (evaluate, with
// the model learning, refreshing daily and scoring each datapoint as it comes).
//
// Per confidence level: recall over the injected anomalies (an alarmed datapoint from the
// anomaly's start to three datapoints after its end), the median datapoints from its start to the
// first alarm, precision (alarm episodes that overlap an anomaly, of all episodes on the traces
// with one), false alarms per device-week on the clean traces, and how long a level shift is
// anomalous before it is normal. Then the cost: scoring, a daily refresh, a model's size, replay.

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Datapoint } from "../../src/detect/datapoint.js";
import { Datapoints } from "../../src/detect/datapoints.js";
import { type AlarmStates, evaluate } from "../../src/detect/evaluate.js";
import type { MlStates } from "../../src/detect/ml/behavior.js";
import { CONFIDENCE_LEVELS, type ConfidenceLevel, score, train } from "../../src/detect/ml/model.js";
import { SecurityProfileSchema } from "../../src/detect/profile-schema.js";
import { tempDir } from "../helpers.js";
import { type AnomalyKind, PER_DAY, STEP_MS, type Trace, connections, inject, ports, traffic } from "./ml-traces.js";

const SEEDS = 20;
const DAYS = 42;
const TRAIN = 14 * PER_DAY;

const METRIC: Record<string, string> = {
  traffic: "aws:all-bytes-out",
  connections: "aws:num-established-tcp-connections",
  ports: "aws:num-listening-tcp-ports",
};

/** The alarm state (in alarm or not) at every judged datapoint of a trace. */
function alarmsOf(trace: Trace, confidence: ConfidenceLevel): boolean[] {
  const metric = METRIC[trace.name.split("+")[0]!]!;
  const profile = SecurityProfileSchema.parse({
    securityProfileName: "P",
    behaviors: [{ name: "M", metric, criteria: { mlDetectionConfig: { confidenceLevel: confidence } } }],
  });
  const states: AlarmStates = {};
  const ml: MlStates = {};
  // The device's 14 days of history, by column as on the device (src/detect/datapoints.ts).
  const history = new Datapoints();
  const out: boolean[] = [];
  for (let i = 0; i < trace.t.length; i++) {
    const dp: Datapoint = { time: trace.t[i]!, interval: STEP_MS / 1000, values: { [metric]: { count: trace.x[i]! } } };
    evaluate([profile], history, dp, states, { thingName: "t", minStatisticalDatapoints: 30, ml: { states: ml, minDatapoints: TRAIN } });
    history.push(dp);
    history.dropUntil(dp.time - 14 * 86_400_000);
    if (i >= TRAIN) out.push(states["P/M"]?.inAlarm === true);
  }
  return out;
}

function episodes(flags: readonly boolean[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let s = -1;
  flags.forEach((f, i) => {
    if (f && s < 0) s = i;
    if (!f && s >= 0) {
      out.push([s, i]);
      s = -1;
    }
  });
  if (s >= 0) out.push([s, flags.length]);
  return out;
}

const median = (xs: number[]) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[xs.length >> 1]!);

export function benchMl(lines: string[]): void {
  const clean = (seed: number) => [traffic(seed * 7 + 1, DAYS), connections(seed * 7 + 2, DAYS), ports(seed * 7 + 3, DAYS)];
  const injected: Array<[number, AnomalyKind]> = [
    [0, "burst"],
    [0, "ramp"],
    [0, "shift"],
    [1, "surge"],
    [2, "port"],
  ];
  lines.push(
    `ml: detection quality on generated traces at 300 s (test/bench/ml-traces.ts): ${SEEDS} seeds x (traffic, connections, ports), ${DAYS} days each (14 learning, ${DAYS - 14} judged); anomalies injected one per trace: burst, ramp, shift (traffic), surge (connections), port (ports)`,
  );
  lines.push(
    "| confidence | recall | median datapoints to detection | precision | false alarms per device-week (clean) | per device-month | shift: days until a day without alarm (median / worst) | recall by anomaly |",
  );
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const level of CONFIDENCE_LEVELS) {
    let falseAlarms = 0;
    let weeks = 0;
    let hit = 0;
    let total = 0;
    let tp = 0;
    let fp = 0;
    const delays: number[] = [];
    const shiftDays: number[] = [];
    const byKind = new Map<AnomalyKind, { hit: number; total: number }>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const traces = clean(seed);
      for (const trace of traces) {
        falseAlarms += episodes(alarmsOf(trace, level)).length;
        weeks += (DAYS - 14) / 7;
      }
      for (const [which, kind] of injected) {
        const at = TRAIN + 7 * PER_DAY + ((seed * 977) % PER_DAY) * 3;
        const trace = inject(traces[which]!, kind, seed * 13 + which, at);
        const flags = alarmsOf(trace, level);
        const [from, to] = trace.labels[0]!.map((k) => k - TRAIN) as [number, number];
        const first = flags.findIndex((f, k) => f && k >= from && k < to + 3);
        const k = byKind.get(kind) ?? { hit: 0, total: 0 };
        k.total++;
        total++;
        if (first >= 0) {
          hit++;
          k.hit++;
          delays.push(first - from);
        }
        byKind.set(kind, k);
        for (const [s, e] of episodes(flags)) {
          if (e > from && s < to + 3) tp++;
          else fp++;
        }
        if (kind === "shift") {
          // Days from the shift until the first whole day without an alarm: then it is normal.
          let day = 0;
          while (from + (day + 1) * PER_DAY <= flags.length && flags.slice(from + day * PER_DAY, from + (day + 1) * PER_DAY).some(Boolean)) day++;
          shiftDays.push(day);
        }
      }
    }
    const perWeek = falseAlarms / weeks;
    lines.push(
      `| ${level} | ${(hit / total).toFixed(2)} | ${median(delays)} | ${(tp / (tp + fp)).toFixed(2)} | ${perWeek.toFixed(2)} | ${((perWeek * 30) / 7).toFixed(2)} | ${median(shiftDays).toFixed(1)} / ${Math.max(...shiftDays).toFixed(1)} | ${[...byKind].map(([kind, v]) => `${kind} ${(v.hit / v.total).toFixed(2)}`).join(", ")} |`,
    );
  }
  benchMlCost(lines);
}

/** Scoring, a refresh, a model's size; and replay of 100,000 reports with 5 ML behaviors. */
function benchMlCost(lines: string[]): void {
  const trace = traffic(99, 15);
  const times = trace.t.slice(0, TRAIN);
  const values = trace.x.slice(0, TRAIN).map((x) => x / 300);
  const refresh: number[] = [];
  let model = train(times, values, { kind: "count", intervalMs: STEP_MS, confidence: "MEDIUM", now: times.at(-1)! });
  for (let k = 0; k < 10; k++) {
    const t0 = process.cpuUsage();
    model = train(times, values, { kind: "count", intervalMs: STEP_MS, confidence: "MEDIUM", now: times.at(-1)! }, model);
    const d = process.cpuUsage(t0);
    refresh.push((d.user + d.system) / 1000);
  }
  const n = PER_DAY;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) score(model, trace.t[TRAIN + i]!, trace.x[TRAIN + i]! / 300);
  const perScore = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  lines.push(
    `ml cost: scoring ${perScore.toFixed(1)} µs per datapoint per behavior (target < 100 µs); a daily refresh over 14 days at 300 s ${median(refresh).toFixed(0)} ms CPU (target < 1 s); a model ${(JSON.stringify(model).length / 1024).toFixed(1)} KB as saved (target < 64 KB)`,
  );
  // Replay: a year of reports at 300 s, five ML behaviors.
  const dir = tempDir("defender-bench-ml-");
  const year = traffic(5, 348);
  const conns = connections(6, 348);
  const reports = year.t.slice(0, 100_000).map((t, i) =>
    JSON.stringify({
      header: { report_id: t, version: "1.0" },
      metrics: {
        network_stats: {
          bytes_in: Math.round(year.x[i]! / 3),
          bytes_out: year.x[i]!,
          packets_in: Math.round(year.x[i]! / 900),
          packets_out: Math.round(year.x[i]! / 600),
        },
        tcp_connections: { established_connections: { connections: [], total: conns.x[i]! } },
      },
    }),
  );
  writeFileSync(join(dir, "reports.ndjson"), `${reports.join("\n")}\n`);
  const behaviors = ["aws:all-bytes-in", "aws:all-bytes-out", "aws:all-packets-in", "aws:all-packets-out", "aws:num-established-tcp-connections"].map(
    (metric, i) => ({
      name: `M${i}`,
      metric,
      criteria: { mlDetectionConfig: { confidenceLevel: "MEDIUM" } },
    }),
  );
  writeFileSync(join(dir, "p.json"), JSON.stringify({ securityProfileName: "Ml", behaviors }));
  const r = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "%e %M",
      process.execPath,
      join(__dirname, "../../artifacts/community.greengrass.DeviceDefender/1.0.0/defender.js"),
      "replay",
      "--profile",
      join(dir, "p.json"),
      "--reports",
      join(dir, "reports.ndjson"),
    ],
    {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`replay failed: ${r.stderr.slice(-500)}`);
  const [seconds, kb] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  const events = r.stdout.trim() === "" ? 0 : r.stdout.trim().split("\n").length;
  lines.push(
    `ml replay: 100,000 reports with 5 ML behaviors: ${seconds!.toFixed(1)} s, peak RSS ${(kb! / 1024).toFixed(0)} MB, ${events} violation events (target < 20 s and < 250 MB)`,
  );
}
