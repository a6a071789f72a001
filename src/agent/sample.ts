// One sample of the proc root (shared by `collect`, `run` and component mode), and the report
// made from it. Reading is the only I/O here; building the report is pure.

import { CollectContext, type CollectorMemory } from "../collect/context.js";
import type { Rank } from "../collect/socket-scan.js";
import { type Snapshot, takeSnapshot } from "../collect/snapshot.js";
import { type ComponentConfig, DEFAULT_CONFIG } from "../config/schema.js";
import type { CustomMetricsReader } from "../custom/custom-metrics.js";
import type { Traffic } from "../metrics/catalogue.js";
import { ProcFS } from "../procfs/fs.js";
import { type ProducedReport, produceReport } from "../report/build.js";
import type { CounterMap } from "../collect/counters.js";
import { defaultCounterBits, networkStatsDelta } from "../report/delta.js";
import type { ReportFormat } from "../report/encode.js";
import type { CustomMetrics } from "../report/schema.js";
import type { Logger } from "../util/log.js";

export interface ReportSettings {
  procRoot: string;
  format: ReportFormat;
  shortNames: boolean;
  maxListEntries: number;
  excludedInterfaces: readonly string[];
  fileRoots: readonly string[];
  /** The largest payload the transport carries (default: the service's 128 KB). */
  maxBytes?: number;
}

/** The report settings a configuration asks for. */
export function settingsOf(config: ComponentConfig): ReportSettings {
  return {
    procRoot: config.ProcRoot,
    format: config.Format,
    shortNames: config.ShortNames,
    maxListEntries: config.MaxListEntries,
    excludedInterfaces: config.ExcludedInterfaces,
    fileRoots: config.CustomMetricFileRoots,
  };
}

export const DEFAULT_REPORT_SETTINGS: ReportSettings = settingsOf(DEFAULT_CONFIG);

export interface Sample {
  /** Epoch ms when it was taken. */
  takenAt: number;
  bootId: string | undefined;
  snapshot: Snapshot;
  /** Raw per-interface counters; undefined when net/dev gave none (unreadable or missing). */
  counters: CounterMap | undefined;
  customMetrics: CustomMetrics;
  /** Set when the proc root shows no network at all (a mistyped ProcRoot): nothing to judge or report. */
  blind?: string;
}

/**
 * Remembers what was last said about a recurring condition (the same malformed lines every
 * cycle), so a long-running loop logs it when it changes rather than every sample.
 */
export class Remembered {
  private readonly said = new Map<string, string>();
  /** True when `value` differs from what was last said under `key`. */
  isNew(key: string, value: string): boolean {
    if (this.said.get(key) === value) return false;
    this.said.set(key, value);
    return true;
  }
}

export function takeSample(
  settings: ReportSettings,
  log: Logger,
  now: number,
  memory: CollectorMemory,
  custom?: CustomMetricsReader,
  remembered: Remembered = new Remembered(),
  rank?: Rank,
): Sample {
  const fs = new ProcFS(settings.procRoot);
  const bootId = fs.bootId();
  const ctx = new CollectContext(fs, new Set(settings.excludedInterfaces), memory, { extraRoots: settings.fileRoots, procRoot: settings.procRoot }, rank);
  const snapshot = takeSnapshot(ctx);
  const customMetrics = custom?.collect(ctx) ?? {};
  if (remembered.isNew("skipped", JSON.stringify(snapshot.skippedLines))) {
    for (const [file, count] of Object.entries(snapshot.skippedLines))
      log.warn("procfs.malformed_lines", { file: `${fs.netDir}/${file.replace(/^net\//, "")}`, skipped: count });
  }
  if (remembered.isNew("unreadable", JSON.stringify(fs.problems))) {
    for (const p of fs.problems) log.warn("procfs.unreadable", { file: p.file, code: p.code });
  }
  const netFiles = ["dev", "tcp", "udp"].map((f) => `${fs.netDir}/${f}`);
  const blind = netFiles.every((f) => fs.missing.includes(f) || fs.problems.some((p) => p.file === f))
    ? `the proc root ${settings.procRoot} has no readable network files (${netFiles.join(", ")})`
    : undefined;
  if (remembered.isNew("blind", blind ?? "")) {
    if (blind)
      log.error("procfs.no_network", { key: "ProcRoot", value: settings.procRoot, reason: blind, effect: "no report and no Detect until it can be read" });
    else if (!remembered.isNew("seen", "yes")) log.info("procfs.network_visible", { proc_root: settings.procRoot });
  }
  // A list longer than a sample keeps (a connection storm, a port scan answered): said once per storm.
  for (const what of ["listening_tcp_ports", "listening_udp_ports", "established_connections"] as const) {
    const listed = snapshot[what];
    const kept = listed === undefined ? 0 : (listed.kept ?? listed.items.length);
    const capped = listed !== undefined && listed.total > kept;
    if (remembered.isNew(`capped|${what}`, capped ? "yes" : "no") && capped) {
      log.warn("sample.capped", {
        what,
        kept,
        total: listed.total,
        effect: "the totals are exact and every entry was judged; reports and the history carry the kept ones (those breaking a list behavior first)",
      });
    }
  }
  if (!blind && remembered.isNew("failures", JSON.stringify(snapshot.failures))) {
    for (const [collector, reason] of Object.entries(snapshot.failures)) log.warn("collect.failed", { collector, reason });
  }
  return { takenAt: now, bootId, snapshot, counters: snapshot.interface_counters, customMetrics, blind };
}

/** Traffic between a baseline and the sample's counters; undefined without either. */
export function trafficSince(baseline: CounterMap | undefined, sample: Sample, excludedInterfaces: readonly string[]): Traffic | undefined {
  if (baseline === undefined || sample.counters === undefined) return undefined;
  return networkStatsDelta(baseline, sample.counters, new Set(excludedInterfaces), defaultCounterBits());
}

/** The report of a sample: pure. `networkStats` undefined leaves network_stats out. */
export function reportOf(
  sample: Sample,
  settings: ReportSettings,
  reportId: number,
  networkStats: Traffic | undefined,
  log?: Logger,
  rank?: (list: string, key: string) => number,
): ProducedReport {
  const produced = produceReport(sample.snapshot, {
    reportId,
    maxListEntries: settings.maxListEntries,
    networkStats,
    customMetrics: sample.customMetrics,
    format: settings.format,
    shortNames: settings.shortNames,
    maxBytes: settings.maxBytes,
    rank,
  });
  for (const t of produced.truncations) log?.info("report.truncated", { list: t.list, kept: t.kept, total: t.total });
  for (const d of produced.dropped)
    log?.error("report.value_dropped", { path: d.path, reason: d.reason, effect: "left out of this report; the rest was sent" });
  return produced;
}
