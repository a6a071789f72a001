// violations and explore: read the component's work folder (history and alarm state).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DETECT_STATE_FILE, HISTORY_FILE, readDetectState } from "../detect/detector.js";
import { History } from "../detect/history.js";
import { numberOf } from "../detect/datapoint.js";
import { renderChart } from "../detect/svg.js";
import { UsageError, parseOptions } from "./usage.js";

export const DEFAULT_WORK_DIR = "/greengrass/v2/work/community.greengrass.DeviceDefender";

const workDirOf = (flag: string | undefined) => flag ?? process.env.DEFENDER_WORK_DIR ?? DEFAULT_WORK_DIR;
const iso = (t: number) => new Date(t).toISOString();

export function violationsCommand(argv: string[]): number {
  const values = parseOptions(argv, { "work-dir": { type: "string" }, json: { type: "boolean" }, recent: { type: "string" } });
  const { state, problem } = readDetectState(join(workDirOf(values["work-dir"]), DETECT_STATE_FILE));
  if (problem) throw new Error(problem);
  const active = Object.entries(state.alarms).filter(([, s]) => s.inAlarm);
  const recent = state.recent.slice(-Number(values.recent ?? 20));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ active: active.map(([key, s]) => ({ key, ...s })), recent })}\n`);
    return 0;
  }
  process.stdout.write(`Active violations: ${active.length}\n`);
  for (const [key, s] of active) {
    process.stdout.write(`  ${key} (${s.behavior.metric}) since ${iso(s.violationStartTime!)}, last ${JSON.stringify(s.lastViolationValue)} at ${iso(s.lastViolationTime!)}, id ${s.violationId}\n`);
  }
  process.stdout.write(`Recent events: ${recent.length}\n`);
  for (const e of recent) {
    process.stdout.write(`  ${iso(e.violationEventTime)} ${e.violationEventType.padEnd(17)} ${e.securityProfileName}/${e.behavior.name} ${JSON.stringify(e.metricValue)}\n`);
  }
  return 0;
}

/** "2h", "30m", "1d", "90s" → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text);
  if (!m) throw new UsageError(`--window must look like 30m, 2h or 1d, not "${text}"`);
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
  const dir = workDirOf(values["work-dir"]);
  const history = new History(join(dir, HISTORY_FILE), { maxAgeMs: Infinity, maxBytes: Infinity }, true);
  const points = history.datapoints;
  const around = values.around !== undefined ? parseTime(values.around) : (points.at(-1)?.time ?? Date.now());
  const half = parseDuration(values.window ?? "2h") / 2;
  const from = around - half;
  const to = around + half;
  const inWindow = points.filter((p) => p.time >= from && p.time <= to && p.values[metric] !== undefined);
  process.stdout.write(`${metric} from ${iso(from)} to ${iso(to)}: ${inWindow.length} datapoints\n`);
  if (metric === "aws:destination-ip-addresses" || inWindow.some((p) => p.values[metric]!.cidrs)) {
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
  for (const p of inWindow) {
    const v = p.values[metric]!;
    const shown = numberOf(v) ?? JSON.stringify(v.ports ?? v.strings ?? v.numbers);
    process.stdout.write(`${iso(p.time)}  ${shown}\n`);
  }
  if (values.svg) {
    const events = readDetectState(join(dir, DETECT_STATE_FILE)).state.recent.filter((e) => e.behavior.metric === metric);
    const alarms: Array<{ from: number; to: number }> = [];
    const open = new Map<string, number>();
    for (const e of events) {
      if (e.violationEventType === "in-alarm") open.set(e.violationId, e.violationEventTime);
      else if (open.has(e.violationId)) {
        alarms.push({ from: open.get(e.violationId)!, to: e.violationEventTime });
        open.delete(e.violationId);
      }
    }
    for (const start of open.values()) alarms.push({ from: start, to });
    const series = inWindow.map((p) => ({ time: p.time, value: numberOf(p.values[metric]) ?? (p.values[metric]!.ports ?? p.values[metric]!.strings ?? []).length }));
    writeFileSync(values.svg, renderChart({ title: `${metric} (alarms shaded)`, points: series, alarms, from, to }));
    process.stdout.write(`chart written to ${values.svg}\n`);
  }
  return 0;
}
