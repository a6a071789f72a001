// Snapshot → report → payload bytes (pure), family by family from the metric catalogue. Lists longer than the
// cap are cut to the entries that matter most (`rank`, lowest first; then a fixed order, so two
// samples of the same state give the same report); `total` keeps the true count.

import type { Snapshot } from "../collect/snapshot.js";
import { type Cut, FAMILIES, type Family, type Traffic } from "../metrics/catalogue.js";
import { describeZodError } from "../util/zod-errors.js";
import { MAX_REPORT_BYTES, type ReportFormat, encodeReport } from "./encode.js";
import { type CustomMetrics, type Report, ReportSchema } from "./schema.js";
import { cheapestFirst } from "./truncate.js";

export const REPORT_VERSION = "1.0";

export interface BuildOptions {
  reportId: number;
  maxListEntries: number;
  /** The traffic this report carries; undefined (no baseline) leaves network_stats out. */
  networkStats: Traffic | undefined;
  customMetrics?: CustomMetrics;
  /**
   * How much an entry matters when a list is cut (lower goes first): by default all alike. The
   * component ranks entries that break a profile's list first, then entries new since the
   * previous report.
   */
  rank?: (list: string, key: string) => number;
}

export interface Truncation {
  list: string;
  kept: number;
  total: number;
}

export interface BuiltReport {
  report: Report;
  truncations: Truncation[];
  /** With a rank: every entry's key in each list, cut or not (what "new since the previous report" compares with). */
  keys: Map<string, Set<string>>;
}

export function buildReport(snapshot: Snapshot, opts: BuildOptions): BuiltReport {
  const truncations: Truncation[] = [];
  const keys = new Map<string, Set<string>>();
  const rank = opts.rank;
  const cut: Cut = (list, listed, order, key) => {
    // Keys serve the next report's ranking: without a rank nobody asks for them.
    if (rank) keys.set(list, new Set(listed.items.map(key)));
    const kept =
      rank === undefined && listed.first !== undefined
        ? listed.first(opts.maxListEntries)
        : cheapestFirst(listed.items, opts.maxListEntries, rank ? (t) => rank(list, key(t)) : undefined, order);
    if (kept.length < listed.total) truncations.push({ list, kept: kept.length, total: listed.total });
    return kept;
  };
  const metrics: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(FAMILIES) as Array<[string, Family<unknown, unknown>]>) {
    const value = f.input === "traffic" ? opts.networkStats : (snapshot as Record<string, unknown>)[f.input];
    if (value !== undefined) metrics[name] = f.block(value, cut);
  }
  const report: Report = { header: { report_id: opts.reportId, version: REPORT_VERSION }, metrics: metrics };
  if (opts.customMetrics && Object.keys(opts.customMetrics).length > 0) {
    report.custom_metrics = capCustomMetrics(opts.customMetrics, opts.maxListEntries, truncations);
  }
  return { report, truncations, keys };
}

function capCustomMetrics(custom: CustomMetrics, max: number, truncations: Truncation[]): CustomMetrics {
  const out: CustomMetrics = {};
  for (const [name, [value]] of Object.entries(custom)) {
    const key = Object.keys(value)[0] as keyof typeof value;
    const list = (value as Record<string, unknown>)[key];
    if (Array.isArray(list) && list.length > max) {
      truncations.push({ list: `custom_metrics.${name}`, kept: max, total: list.length });
      out[name] = [{ [key]: list.slice(0, max) } as CustomMetrics[string][0]];
    } else {
      out[name] = [value];
    }
  }
  return out;
}

export interface ProduceOptions extends BuildOptions {
  format: ReportFormat;
  shortNames: boolean;
  maxBytes?: number;
}

/** A part of the report left out because it broke the schema (one bad value must not cost the rest). */
export interface Dropped {
  path: string;
  reason: string;
}

export interface ProducedReport extends BuiltReport {
  payload: Buffer;
  dropped: Dropped[];
}

/**
 * Build, validate, encode and fit under the size limit: the whole path from a snapshot to the
 * exact bytes that are published (and that `collect` prints). A block or custom metric that
 * fails validation is left out and named in `dropped`; the rest of the report still goes.
 */
export function produceReport(snapshot: Snapshot, opts: ProduceOptions): ProducedReport {
  const maxBytes = opts.maxBytes ?? MAX_REPORT_BYTES;
  let maxListEntries = opts.maxListEntries;
  for (;;) {
    const built = buildReport(snapshot, { ...opts, maxListEntries });
    const dropped = dropInvalid(built.report);
    const payload = encodeReport(built.report, opts.format, opts.shortNames);
    if (payload.length <= maxBytes) return { ...built, payload, dropped };
    if (maxListEntries === 0) throw new Error(`report is ${payload.length} bytes even with empty lists (limit ${maxBytes})`);
    // Too big: shrink every list and try again (each pass halves the cap).
    maxListEntries = Math.floor(maxListEntries / 2);
  }
}

/** Removes the metric blocks and custom metrics that hold an invalid value; returns what went. */
function dropInvalid(report: Report): Dropped[] {
  const dropped: Dropped[] = [];
  for (let pass = 0; pass < 64; pass++) {
    const checked = ReportSchema.safeParse(report);
    if (checked.success) return dropped;
    const issue = checked.error.issues[0]!;
    const [section, name] = issue.path as Array<string | number>;
    const container = section === "metrics" ? report.metrics : section === "custom_metrics" ? report.custom_metrics : undefined;
    if (container === undefined || typeof name !== "string" || !(name in container)) {
      throw new Error(`report failed validation: ${describeZodError(checked.error, report)}`);
    }
    dropped.push({ path: `${section}.${name}`, reason: describeZodError(checked.error, report).split("; ")[0]! });
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the key goes from the report document itself (a plain JSON object), not from a lookup table
    delete (container as Record<string, unknown>)[name];
    if (section === "custom_metrics" && Object.keys(container).length === 0) delete report.custom_metrics;
  }
  throw new Error("report failed validation");
}
