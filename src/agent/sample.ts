// One sampling step shared by `collect`, `run` and component mode: read the proc root, build
// the report against the saved baseline, and say what the state becomes if it is delivered.

import { collectWithContext } from "../collect/collect.js";
import { ProcFS } from "../procfs/fs.js";
import { type ComponentConfig, DEFAULT_CONFIG } from "../config/schema.js";
import { nextReportId } from "../report/build.js";
import { defaultCounterBits } from "../report/delta.js";
import type { ReportFormat } from "../report/encode.js";
import { type ProducedReport, produceReport } from "../report/produce.js";
import type { CustomMetricsCollector } from "../custom/collector.js";
import { type State, baselineFor } from "../state/store.js";
import type { Logger } from "../util/log.js";

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

export interface Sample extends ProducedReport {
  reportId: number;
  /** The state to persist once this report has been delivered. */
  nextState: State;
}

/**
 * Remembers what was last said about a recurring condition (the same malformed lines every
 * cycle), so a long-running loop logs it when it changes rather than every sample.
 */
export type Remembered = Map<string, string>;

export function takeSample(
  settings: ReportSettings,
  state: State | undefined,
  log: Logger,
  now: number = Date.now(),
  custom?: CustomMetricsCollector,
  remembered?: Remembered,
): Sample {
  const fs = new ProcFS(settings.procRoot);
  const bootId = fs.bootId();
  const collected = collectWithContext(fs, now);
  const snapshot = collected.snapshot;
  const excluded = new Set(settings.excludedInterfaces);
  // CPU times saved before a restart are a baseline only on the same boot.
  if (custom && custom.previousCpu === undefined && state?.cpu && state.bootId === bootId) custom.previousCpu = state.cpu;
  // The socket files were parsed for the snapshot already: the custom sources reuse them.
  const customMetrics = custom?.collect(fs, excluded, (file) => collected.sockets(file));
  const reportId = nextReportId(state?.reportId, now);
  const produced = produceReport(snapshot, {
    reportId,
    maxListEntries: settings.maxListEntries,
    excludedInterfaces: excluded,
    counterBits: defaultCounterBits(),
    previousCounters: baselineFor(state, bootId),
    customMetrics,
    format: settings.format,
    shortNames: settings.shortNames,
  });
  for (const t of produced.truncations) log.info("report.truncated", { list: t.list, kept: t.kept, total: t.total });
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
  const nextState: State = { ...state, version: 1, bootId, reportId, counters: produced.counters, cpu: custom?.previousCpu ?? state?.cpu };
  return { ...produced, reportId, nextState };
}
