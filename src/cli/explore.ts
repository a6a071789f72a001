// violations and explore: read the component's work folder (history and alarm state). A missing
// or wrong folder, or a metric the history does not keep, is said plainly: "0 violations" must
// mean that nothing is wrong, not that nothing was found.

import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DETECT_STATE_FILE, LEGACY_HISTORY_FILE, readDetectState } from "../detect/detector.js";
import { HISTORY_FOLDER, History } from "../detect/history.js";
import { numberOf } from "../detect/datapoint.js";
import { type Mode, earlierSorted, measureAt, modeOf, percentile, series } from "../detect/measure.js";
import type { Datapoint } from "../detect/datapoint.js";
import { renderChart } from "../detect/svg.js";
import { CommandError, UsageError } from "./errors.js";
import { parseOptions, wholeNumber } from "./options.js";
import { describeStatus, readModels } from "./detect.js";
import { modelStatus } from "../detect/ml/behavior.js";
import { DEVICE_METRICS } from "../metrics/catalogue.js";

export const DEFAULT_WORK_DIR = "/greengrass/v2/work/community.greengrass.DeviceDefender";

/** The work folder given, checked: it must exist and hold the component's Detect files. */
function workDirOf(flag: string | undefined): string {
  const dir = flag ?? process.env.DEFENDER_WORK_DIR ?? DEFAULT_WORK_DIR;
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new CommandError(
      `work folder ${dir}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read (${(err as NodeJS.ErrnoException).code})`}; give --work-dir DIR or set DEFENDER_WORK_DIR`,
    );
  }
  if (!isDir) throw new CommandError(`work folder ${dir} is not a folder`);
  if (![DETECT_STATE_FILE, HISTORY_FOLDER, LEGACY_HISTORY_FILE].some((f) => existsSync(join(dir, f)))) {
    throw new CommandError(
      `${dir} holds no Detect files (${DETECT_STATE_FILE}, ${HISTORY_FOLDER}/): not the component's work folder, or Detect never ran there`,
    );
  }
  return dir;
}

const iso = (t: number) => new Date(t).toISOString();

export function violationsCommand(argv: string[]): number {
  const values = parseOptions(argv, { "work-dir": { type: "string" }, json: { type: "boolean" }, recent: { type: "string" } });
  const dir = workDirOf(values["work-dir"]);
  const { state, problem } = readDetectState(join(dir, DETECT_STATE_FILE));
  if (problem) throw new CommandError(problem);
  const active = Object.entries(state.alarms).filter(([, s]) => s.inAlarm);
  const recent = state.recent.slice(-wholeNumber(values.recent, "--recent", 20, 1, 200));
  const models = readModels(dir);
  const now = Date.now();
  const statuses = Object.entries(models).map(([key, m]) => ({ key, ...modelStatus(m, now) }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ active: active.map(([key, s]) => ({ key, ...s })), recent, models: statuses })}\n`);
    return 0;
  }
  process.stdout.write(`Active violations: ${active.length}\n`);
  for (const [key, s] of active) {
    process.stdout.write(
      `  ${key} (${s.behavior.metric}) since ${iso(s.violationStartTime!)}, last ${JSON.stringify(s.lastViolationValue)} at ${iso(s.lastViolationTime!)}, id ${s.violationId}${suppressedMark(s.behavior)}\n`,
    );
  }
  if (statuses.length > 0) {
    process.stdout.write(`ML models: ${statuses.length}\n`);
    for (const [key, m] of Object.entries(models)) process.stdout.write(`  ${key}: ${describeStatus(modelStatus(m, now))}\n`);
  }
  process.stdout.write(`Recent events: ${recent.length}\n`);
  for (const e of recent) {
    process.stdout.write(
      `  ${iso(e.violationEventTime)} ${e.violationEventType.padEnd(17)} ${e.securityProfileName}/${e.behavior.name} ${JSON.stringify(e.metricValue)}${e.violationEventAdditionalInfo ? ` confidence ${e.violationEventAdditionalInfo.confidenceLevel}` : ""}${suppressedMark(e.behavior)}\n`,
    );
  }
  return 0;
}

/** A behavior with suppressAlerts: its events are not sent to ViolationIoTTopic. */
const suppressedMark = (b: { suppressAlerts?: boolean }) => (b.suppressAlerts === true ? " (suppressed: not sent to ViolationIoTTopic)" : "");

/** "2h", "30m", "1d", "90s" → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text);
  if (!m || Number(m[1]) <= 0) throw new UsageError(`--window must look like 30m, 2h or 1d, not "${text}"`);
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as "s" | "m" | "h" | "d"];
}

export function parseTime(text: string): number {
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(t)) throw new UsageError(`--around must be an ISO time or epoch milliseconds, not "${text}"`);
  return t;
}

export function exploreCommand(argv: string[]): number {
  const values = parseOptions(argv, {
    metric: { type: "string" },
    around: { type: "string" },
    window: { type: "string" },
    svg: { type: "string" },
    "work-dir": { type: "string" },
  });
  if (!values.metric) throw new UsageError("explore needs --metric NAME");
  const metric = values.metric;
  const span = parseDuration(values.window ?? "2h");
  const dir = workDirOf(values["work-dir"]);
  const history = new History(
    join(dir, HISTORY_FOLDER),
    { maxAgeMs: Infinity, maxBytes: Infinity },
    true,
    undefined,
    undefined,
    join(dir, LEGACY_HISTORY_FILE),
  );
  const points = history.datapoints;
  if (points.length === 0) throw new CommandError(`${dir}: the history holds no datapoints yet`);
  const kept = new Set(points.flatMap((p) => Object.keys(p.values)));
  if (!kept.has(metric)) {
    throw new CommandError(
      `${metric} is not in the history. It keeps the metrics the profiles use or retain: ${[...kept].sort().join(", ")}. To keep ${metric}, add it to a profile's additionalMetricsToRetainV2.`,
    );
  }
  // Around a time: the window is centred on it. Otherwise it ends at the last datapoint.
  const last = points.at(-1)!.time;
  const to = values.around !== undefined ? parseTime(values.around) + span / 2 : last;
  const from = to - span;
  const inWindow = points.filter((p) => p.time >= from && p.time <= to && p.values[metric] !== undefined);
  process.stdout.write(`${metric} from ${iso(from)} to ${iso(to)}: ${inWindow.length} datapoints\n`);
  if (inWindow.some((p) => p.values[metric]!.cidrs)) {
    const seen = new Map<string, { first: number; last: number; count: number }>();
    for (const p of inWindow) {
      for (const ip of p.values[metric]!.cidrs ?? []) {
        const s = seen.get(ip) ?? { first: p.time, last: p.time, count: 0 };
        s.last = p.time;
        s.count++;
        seen.set(ip, s);
      }
    }
    process.stdout.write(`${"ip".padEnd(40)} ${"first seen".padEnd(24)} ${"last seen".padEnd(24)} reports\n`);
    for (const [ip, s] of [...seen].sort((a, b) => a[1].first - b[1].first)) {
      process.stdout.write(`${ip.padEnd(40)} ${iso(s.first).padEnd(24)} ${iso(s.last).padEnd(24)} ${s.count}\n`);
    }
    return 0;
  }
  // The ML behaviors on this metric: what each model expected at every datapoint, as it judged then.
  const mlKeys = Object.entries(readModels(dir))
    .filter(([, m]) => (JSON.parse(m.behavior) as { metric?: string }).metric === metric)
    .map(([key]) => key);
  if (mlKeys.length > 0)
    process.stdout.write(
      `model bands (${mlKeys.join(", ")}): the value the model judged, then what it expected [low, high]${DEVICE_METRICS[metric]?.delta ? ", per second" : ""}\n`,
    );
  const num = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toString() : x.toPrecision(3));
  for (const p of inWindow) {
    const v = p.values[metric]!;
    const shown = numberOf(v) ?? JSON.stringify(v.ports ?? v.strings ?? v.numbers);
    const bands = mlKeys.flatMap((k) => {
      const b = p.bands?.[k];
      return b === undefined ? [] : [`  ${num(b[0])} expected ${num(b[1])} [${num(b[2])}, ${num(b[3])}]${b[0] < b[2] || b[0] > b[3] ? " outside" : ""}`];
    });
    process.stdout.write(`${iso(p.time)}  ${shown}${bands.join("")}\n`);
  }
  if (values.svg) {
    const state = readDetectState(join(dir, DETECT_STATE_FILE)).state;
    const events = state.recent.filter((e) => e.behavior.metric === metric);
    const alarms: Array<{ from: number; to: number }> = [];
    const open = new Map<string, number>();
    for (const e of events) {
      if (e.violationEventType === "in-alarm") open.set(e.violationId, e.violationEventTime);
      else if (open.has(e.violationId)) {
        alarms.push({ from: open.get(e.violationId)!, to: e.violationEventTime });
        open.delete(e.violationId);
      }
    }
    // An alarm still open is shaded up to the last datapoint, not into the future.
    for (const start of open.values()) alarms.push({ from: start, to: Math.min(to, last) });
    const {
      title,
      series: drawn,
      lines,
      notes,
    } = chartOf(metric, points, from, to, [
      ...new Map(
        Object.values(state.alarms)
          .filter((s) => s.behavior.metric === metric)
          .map((s) => [s.behavior.name, s.behavior]),
      ).values(),
    ]);
    for (const n of notes) process.stdout.write(`${n}\n`);
    writeFileSync(values.svg, renderChart({ title, points: drawn, alarms, from, to, lines }));
    process.stdout.write(`chart written to ${values.svg}\n`);
  }
  return 0;
}

interface ChartCriteria {
  value?: { count?: number; number?: number };
  statisticalThreshold?: { statistic: string };
  comparisonOperator?: string;
  durationSeconds?: number;
}

const unitOf = (mode: Mode, duration: number | undefined) =>
  mode === "rate" ? " per second (the rate its device baseline judges)" : mode === "window-sum" ? `, summed over ${duration} s windows` : "";

/**
 * The metric as the device judged it, and each behavior's threshold in that same unit: the
 * datapoint's value, its rate for a statistical threshold on traffic, or the window sum for a
 * durationSeconds (../detect/measure.ts, the evaluator's own functions). The unit is the first
 * behavior's; a behavior judged in another unit is named, not drawn against the wrong line.
 */
export function chartOf(
  metric: string,
  points: readonly Datapoint[],
  from: number,
  to: number,
  behaviors: ReadonlyArray<{ name: string; criteria?: unknown }>,
) {
  const criteria = (b: { criteria?: unknown }) => (b.criteria ?? {}) as ChartCriteria;
  const modeFor = (c: ChartCriteria) => modeOf(metric, c.durationSeconds, c.statisticalThreshold !== undefined);
  const lead = behaviors.find(
    (b) => criteria(b).statisticalThreshold !== undefined || criteria(b).value?.count !== undefined || criteria(b).value?.number !== undefined,
  );
  const mode = lead ? modeFor(criteria(lead)) : "value";
  const duration = lead ? criteria(lead).durationSeconds : undefined;
  const upTo = points.filter((p) => p.time <= to);
  const s = series(upTo);
  const drawn: Array<{ time: number; value: number }> = [];
  for (let i = 0; i < s.length; i++) {
    const p = upTo[i]!;
    const v = p.values[metric];
    if (p.time < from || v === undefined) continue;
    const numeric = numberOf(v);
    if (numeric === undefined) drawn.push({ time: p.time, value: (v.ports ?? v.strings ?? v.numbers ?? v.cidrs ?? []).length });
    else {
      const m = measureAt(s, i, metric, mode, duration);
      if (m !== undefined) drawn.push({ time: p.time, value: m.compared });
    }
  }
  const lines: Array<{ value: number; label: string }> = [];
  const notes: string[] = [];
  for (const b of behaviors) {
    const c = criteria(b);
    if (modeFor(c) !== mode || c.durationSeconds !== duration) {
      notes.push(
        `note: ${b.name} judges ${metric}${unitOf(modeFor(c), c.durationSeconds) || " per datapoint"}; this chart is drawn${unitOf(mode, duration) || " per datapoint"}, so its threshold is not drawn`,
      );
      continue;
    }
    const fixed = c.value?.count ?? c.value?.number;
    if (fixed !== undefined) lines.push({ value: fixed, label: `${b.name}: ${c.comparisonOperator} ${fixed}` });
    else if (c.statisticalThreshold) {
      // The device baseline at the window's end: the percentile of the measurements before it.
      const sorted = earlierSorted(upTo, metric, mode, duration);
      if (sorted.length > 0) {
        const value = percentile(sorted, c.statisticalThreshold.statistic);
        lines.push({ value, label: `${b.name}: ${c.statisticalThreshold.statistic} of the history = ${+value.toFixed(2)}` });
      }
    }
  }
  return { title: `${metric}${unitOf(mode, duration)} (alarms shaded)`, series: drawn, lines, notes };
}
