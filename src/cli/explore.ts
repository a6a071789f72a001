// violations and explore: read the component's work folder (history and alarm state). A missing
// or wrong folder, or a metric the history does not keep, is said plainly: "0 violations" must
// mean that nothing is wrong, not that nothing was found.

import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DETECT_STATE_FILE, LEGACY_HISTORY_FILE, readDetectState } from "../detect/detector.js";
import { HISTORY_FOLDER, History } from "../detect/history.js";
import { type ChartBehavior, type ChartData, chartOf } from "../detect/chart.js";
import { type Datapoint, numberOf } from "../detect/datapoint.js";
import type { ViolationEvent } from "../detect/evaluate.js";
import { renderChart } from "../detect/svg.js";
import { type Section, type Table, renderPage } from "../page/html.js";
import { CommandError, UsageError } from "./errors.js";
import { parseOptions, wholeNumber } from "./options.js";
import { describeStatus, readModels } from "./detect.js";
import { type MlStates, modelStatus } from "../detect/ml/behavior.js";
import { DEVICE_METRICS } from "../metrics/catalogue.js";
import { writeAnswer } from "./stdout.js";

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
  const values = parseOptions(argv, { "work-dir": { type: "string" }, json: { type: "boolean" }, recent: { type: "string" }, html: { type: "string" } });
  const dir = workDirOf(values["work-dir"]);
  const { state, problem } = readDetectState(join(dir, DETECT_STATE_FILE));
  if (problem) throw new CommandError(problem);
  const active = Object.entries(state.alarms).filter(([, s]) => s.inAlarm);
  const recent = state.recent.slice(-wholeNumber(values.recent, "--recent", 20, 1, 200));
  const models = readModels(dir);
  const now = Date.now();
  const statuses = Object.entries(models).map(([key, m]) => ({ key, ...modelStatus(m, now) }));
  if (values.html) writePage(values.html, violationsPage(dir, state, models, active, recent));
  if (values.json) {
    writeAnswer(`${JSON.stringify({ active: active.map(([key, s]) => ({ key, ...s })), recent, models: statuses })}\n`);
    return 0;
  }
  writeAnswer(`Active violations: ${active.length}\n`);
  for (const [key, s] of active) {
    writeAnswer(
      `  ${key} (${s.behavior.metric}) since ${iso(s.violationStartTime!)}, last ${JSON.stringify(s.lastViolationValue)} at ${iso(s.lastViolationTime!)}, id ${s.violationId}${suppressedMark(s.behavior)}\n`,
    );
  }
  if (statuses.length > 0) {
    writeAnswer(`ML models: ${statuses.length}\n`);
    for (const [key, m] of Object.entries(models)) writeAnswer(`  ${key}: ${describeStatus(modelStatus(m, now))}\n`);
  }
  writeAnswer(`Recent events: ${recent.length}\n`);
  for (const e of recent) {
    writeAnswer(
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
    html: { type: "string" },
    "work-dir": { type: "string" },
  });
  if (!values.metric) throw new UsageError("explore needs --metric NAME");
  const metric = values.metric;
  const span = parseDuration(values.window ?? "2h");
  const dir = workDirOf(values["work-dir"]);
  const points = historyOf(dir);
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
  writeAnswer(`${metric} from ${iso(from)} to ${iso(to)}: ${inWindow.length} datapoints\n`);
  if (inWindow.some((p) => p.values[metric]!.cidrs)) {
    const ips = destinations(points, metric, inWindow);
    writeAnswer(`${"ip".padEnd(40)} ${"first seen".padEnd(24)} ${"last seen".padEnd(24)} reports in the window\n`);
    for (const d of ips) writeAnswer(`${d.ip.padEnd(40)} ${iso(d.first).padEnd(24)} ${iso(d.last).padEnd(24)} ${d.count}\n`);
    if (values.html) writePage(values.html, explorePage(dir, metric, from, to, undefined, ips, undefined));
    return 0;
  }
  // The ML behaviors on this metric: what each model expected at every datapoint, as it judged then.
  const models = readModels(dir);
  const mlKeys = Object.entries(models)
    .filter(([, m]) => (JSON.parse(m.behavior) as { metric?: string }).metric === metric)
    .map(([key]) => key);
  if (mlKeys.length > 0)
    writeAnswer(
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
    writeAnswer(`${iso(p.time)}  ${shown}${bands.join("")}\n`);
  }
  if (values.svg || values.html) {
    const state = readDetectState(join(dir, DETECT_STATE_FILE)).state;
    const chart = chartFor(models, metric, points, from, to, state);
    for (const n of chart.notes) writeAnswer(`${n}\n`);
    if (values.svg) {
      writeFileSync(values.svg, renderChart(chart));
      writeAnswer(`chart written to ${values.svg}\n`);
    }
    if (values.html) writePage(values.html, explorePage(dir, metric, from, to, chart, undefined, state.recent));
  }
  return 0;
}

/** The whole local history of a work folder, as written (nothing trimmed). */
function historyOf(dir: string): Datapoint[] {
  return new History(join(dir, HISTORY_FOLDER), { maxAgeMs: Infinity, maxBytes: Infinity }, true, undefined, undefined, join(dir, LEGACY_HISTORY_FILE))
    .datapoints;
}

/** The behaviors on `metric` the device knows (alarm state and models), with what a chart needs. */
function behaviorsOn(models: MlStates, metric: string, state: DetectState): ChartBehavior[] {
  const out = new Map<string, ChartBehavior>();
  for (const [key, s] of Object.entries(state.alarms)) {
    if (s.behavior.metric === metric) out.set(key, { key, name: s.behavior.name, criteria: s.behavior.criteria, excluded: s.excluded });
  }
  for (const [key, m] of Object.entries(models)) {
    const b = JSON.parse(m.behavior) as { name?: string; metric?: string; criteria?: unknown };
    if (b.metric === metric && !out.has(key)) out.set(key, { key, name: b.name ?? key, criteria: b.criteria });
  }
  return [...out.values()];
}

type DetectState = ReturnType<typeof readDetectState>["state"];

function chartFor(models: MlStates, metric: string, points: readonly Datapoint[], from: number, to: number, state: DetectState): ChartData {
  return chartOf(
    metric,
    points,
    from,
    to,
    behaviorsOn(models, metric, state),
    state.recent.filter((e) => e.behavior.metric === metric),
  );
}

interface Destination {
  ip: string;
  first: number;
  last: number;
  count: number;
}

/** Each destination of the window, with when it was first and last seen in the whole history. */
function destinations(points: readonly Datapoint[], metric: string, inWindow: readonly Datapoint[]): Destination[] {
  const counts = new Map<string, number>();
  for (const p of inWindow) for (const ip of p.values[metric]?.cidrs ?? []) counts.set(ip, (counts.get(ip) ?? 0) + 1);
  const seen = new Map<string, Destination>();
  for (const p of points) {
    for (const ip of p.values[metric]?.cidrs ?? []) {
      if (!counts.has(ip)) continue;
      const d = seen.get(ip) ?? { ip, first: p.time, last: p.time, count: counts.get(ip)! };
      d.last = p.time;
      seen.set(ip, d);
    }
  }
  return [...seen.values()].sort((a, b) => a.first - b.first || a.ip.localeCompare(b.ip));
}

const EVENT_HEAD = ["time (UTC)", "profile", "behavior", "type", "value", "confidence"];
const eventRow = (e: ViolationEvent, href?: string) => [
  iso(e.violationEventTime),
  e.securityProfileName,
  href === undefined ? e.behavior.name : { text: e.behavior.name, href },
  e.violationEventType,
  JSON.stringify(e.metricValue),
  e.violationEventAdditionalInfo?.confidenceLevel ?? "",
];

function explorePage(
  dir: string,
  metric: string,
  from: number,
  to: number,
  chart: ChartData | undefined,
  ips: Destination[] | undefined,
  events: readonly ViolationEvent[] | undefined,
): string {
  const tables: Table[] = [];
  if (ips)
    tables.push({
      caption: "Destinations: first and last seen in the whole history",
      head: ["address", "first seen (UTC)", "last seen (UTC)", "reports in the window"],
      rows: ips.map((d) => [d.ip, iso(d.first), iso(d.last), String(d.count)]),
      empty: "no destinations in this window",
    });
  if (events)
    tables.push({
      caption: "Events on this metric",
      head: EVENT_HEAD,
      rows: events.filter((e) => e.behavior.metric === metric && e.violationEventTime >= from && e.violationEventTime <= to).map((e) => eventRow(e)),
      empty: "no events in this window",
    });
  const section: Section = { id: "metric", heading: chart?.title ?? metric, notes: chart?.notes, chart, tables };
  return renderPage({ title: metric, subtitle: `${iso(from)} to ${iso(to)}, from ${dir}`, sections: [section] });
}

function writePage(file: string, html: string): void {
  writeFileSync(file, html);
  writeAnswer(`page written to ${file} (${Math.round(html.length / 1024)} KB)\n`);
}

/** violations --html: the active alarms and recent events, each linking to its metric's chart. */
function violationsPage(
  dir: string,
  state: DetectState,
  models: MlStates,
  active: Array<[string, DetectState["alarms"][string]]>,
  recent: readonly ViolationEvent[],
): string {
  const points = historyOf(dir);
  const last = points.at(-1)?.time ?? Date.now();
  const metrics = [...new Set([...active.map(([, s]) => s.behavior.metric), ...recent.map((e) => e.behavior.metric)].filter((m) => m !== undefined))];
  const anchor = (metric: string) => `metric-${metrics.indexOf(metric)}`;
  const href = (metric: string | undefined) => (metric === undefined ? undefined : `#${anchor(metric)}`);
  const sections: Section[] = [
    {
      id: "summary",
      heading: "Alarms",
      tables: [
        {
          caption: `Active violations: ${active.length}`,
          head: ["behavior", "metric", "since (UTC)", "last value", "violation id"],
          rows: active.map(([key, s]) => {
            const h = href(s.behavior.metric);
            return [
              h === undefined ? key : { text: key, href: h },
              s.behavior.metric ?? "",
              iso(s.violationStartTime!),
              JSON.stringify(s.lastViolationValue),
              s.violationId ?? "",
            ];
          }),
          empty: "no active violations",
        },
        { caption: `Recent events: ${recent.length}`, head: EVENT_HEAD, rows: recent.map((e) => eventRow(e, href(e.behavior.metric))), empty: "no events" },
      ],
    },
  ];
  for (const metric of metrics) {
    // From an hour before its first event here to the last datapoint, at most a week.
    const times = [
      ...recent.filter((e) => e.behavior.metric === metric).map((e) => e.violationEventTime),
      ...active.filter(([, s]) => s.behavior.metric === metric).map(([, s]) => s.violationStartTime!),
    ];
    const from = Math.max(Math.min(...times) - 3_600_000, last - 7 * 86_400_000);
    if (!points.some((p) => p.values[metric] !== undefined)) {
      sections.push({
        id: anchor(metric),
        heading: metric,
        notes: [`${metric} is not in the history (add it to a profile's additionalMetricsToRetainV2 to keep it)`],
      });
      continue;
    }
    const chart = chartFor(models, metric, points, from, last, state);
    sections.push({ id: anchor(metric), heading: chart.title, notes: chart.notes, chart });
  }
  return renderPage({ title: "Device Defender: violations", subtitle: `from ${dir}, last datapoint ${iso(last)}`, sections });
}
