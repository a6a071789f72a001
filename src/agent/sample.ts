// One sample of the proc root (shared by `collect`, `run` and component mode), and the report
// made from it. Reading is the only I/O here; building the report is pure.

import { collectWithContext } from "../collect/collect.js";
import type { Snapshot } from "../collect/snapshot.js";
import { type ComponentConfig, DEFAULT_CONFIG } from "../config/schema.js";
import type { CustomMetricsCollector } from "../custom/collector.js";
import { ProcFS } from "../procfs/fs.js";
import { type CounterMap, countersOf, defaultCounterBits, networkStatsDelta } from "../report/delta.js";
import type { ReportFormat } from "../report/encode.js";
import { type ProducedReport, produceReport } from "../report/produce.js";
import type { CustomMetrics } from "../report/schema.js";
import type { Logger } from "../util/log.js";
import type { Traffic } from "./ledger.js";

export interface ReportSettings {
  procRoot: string;
  format: ReportFormat;
  shortNames: boolean;
  maxListEntries: number;
  excludedInterfaces: readonly string[];
}

/** The report settings a configuration asks for. */
export function settingsOf(config: ComponentConfig): ReportSettings {
  return {
    procRoot: config.ProcRoot,
    format: config.Format,
    shortNames: config.ShortNames,
    maxListEntries: config.MaxListEntries,
    excludedInterfaces: config.ExcludedInterfaces,
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
}

/**
 * Remembers what was last said about a recurring condition (the same malformed lines every
 * cycle), so a long-running loop logs it when it changes rather than every sample.
 */
export type Remembered = Map<string, string>;

export function takeSample(
  settings: ReportSettings,
  log: Logger,
  now: number,
  custom?: CustomMetricsCollector,
  remembered?: Remembered,
): Sample {
  const fs = new ProcFS(settings.procRoot);
  const bootId = fs.bootId();
  const collected = collectWithContext(fs, now);
  const snapshot = collected.snapshot;
  const excluded = new Set(settings.excludedInterfaces);
  // The socket files were parsed for the snapshot already: the custom sources reuse them.
  const customMetrics = custom?.collect(fs, excluded, (file) => collected.sockets(file)) ?? {};
  const rows = snapshot.interfaceCounters ?? [];
  const changed = (key: string, value: string) => {
    if (remembered === undefined) return true;
    if (remembered.get(key) === value) return false;
    remembered.set(key, value);
    return true;
  };
  const skipped = JSON.stringify(snapshot.skippedLines);
  if (changed("skipped", skipped)) {
    for (const [file, count] of Object.entries(snapshot.skippedLines)) {
      log.warn("procfs.malformed_lines", { file: fs.path(file), skipped: count });
    }
  }
  if (changed("unreadable", JSON.stringify(fs.problems))) {
    for (const p of fs.problems) log.warn("procfs.unreadable", { file: p.file, code: p.code });
  }
  return { takenAt: now, bootId, snapshot, counters: rows.length > 0 ? countersOf(rows) : undefined, customMetrics };
}

/** Traffic between a baseline and the sample's counters; undefined without either. */
export function trafficSince(baseline: CounterMap | undefined, sample: Sample, excludedInterfaces: readonly string[]): Traffic | undefined {
  if (baseline === undefined || sample.counters === undefined) return undefined;
  return networkStatsDelta(baseline, sample.counters, new Set(excludedInterfaces), defaultCounterBits());
}

/** The report of a sample: pure. `networkStats` undefined leaves network_stats out. */
export function reportOf(sample: Sample, settings: ReportSettings, reportId: number, networkStats: Traffic | undefined, log?: Logger): ProducedReport {
  const produced = produceReport(sample.snapshot, {
    reportId,
    maxListEntries: settings.maxListEntries,
    networkStats,
    customMetrics: sample.customMetrics,
    format: settings.format,
    shortNames: settings.shortNames,
  });
  for (const t of produced.truncations) log?.info("report.truncated", { list: t.list, kept: t.kept, total: t.total });
  return produced;
}
