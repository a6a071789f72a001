// `collect`: one sample, one report on stdout, exactly the bytes the component would publish.

import { newMemory } from "../collect/context.js";
import { type State, baselineFor, initialState, readStateFile } from "../agent/state.js";
import { DEFAULT_REPORT_SETTINGS, type ReportSettings, reportOf, takeSample, trafficSince } from "../agent/sample.js";
import { CustomMetricsReader } from "../custom/custom-metrics.js";
import { type CustomMetricsConfig, customMetricsConfig } from "../custom/definitions.js";
import { nextReportId } from "../report/report-id.js";
import { writeFileAtomic } from "../store/files.js";
import { createLogger } from "../util/log.js";
import { describeZodError } from "../util/zod-errors.js";
import { UsageError } from "./errors.js";
import { configOptions, parseOptions, readJsonFile } from "./options.js";
import { stdoutIsTerminal, writeAnswer } from "./stdout.js";

export function parseCollectArgs(argv: string[]): { settings: ReportSettings; statePath?: string; customMetrics?: CustomMetricsConfig } {
  const values = parseOptions(argv, {
    "proc-root": { type: "string" },
    format: { type: "string" },
    "short-names": { type: "boolean" },
    state: { type: "string" },
    "max-list-entries": { type: "string" },
    "exclude-interfaces": { type: "string" },
    "custom-metrics": { type: "string" },
    "file-roots": { type: "string" },
  });
  const c = configOptions(
    {
      ...values,
      "file-roots": values["file-roots"]
        ?.split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    },
    {
      "proc-root": "ProcRoot",
      format: "Format",
      "short-names": "ShortNames",
      "max-list-entries": "MaxListEntries",
      "exclude-interfaces": "ExcludedInterfaces",
      "file-roots": "CustomMetricFileRoots",
    },
  );
  const settings: ReportSettings = {
    procRoot: c.ProcRoot ?? DEFAULT_REPORT_SETTINGS.procRoot,
    format: c.Format ?? DEFAULT_REPORT_SETTINGS.format,
    shortNames: c.ShortNames ?? false,
    maxListEntries: c.MaxListEntries ?? DEFAULT_REPORT_SETTINGS.maxListEntries,
    excludedInterfaces: c.ExcludedInterfaces ?? DEFAULT_REPORT_SETTINGS.excludedInterfaces,
    fileRoots: c.CustomMetricFileRoots ?? DEFAULT_REPORT_SETTINGS.fileRoots,
  };
  let customMetrics: CustomMetricsConfig | undefined;
  if (values["custom-metrics"] !== undefined) {
    const file = values["custom-metrics"];
    const doc = readJsonFile(file, "--custom-metrics");
    const parsed = customMetricsConfig().safeParse(doc);
    if (!parsed.success) throw new UsageError(`--custom-metrics ${file}: ${describeZodError(parsed.error, doc)}`);
    customMetrics = parsed.data;
  }
  return { settings, statePath: values.state, customMetrics };
}

export function collectCommand(argv: string[]): number {
  const { settings, statePath, customMetrics } = parseCollectArgs(argv);
  const log = createLogger();
  let state: State = initialState();
  if (statePath !== undefined) {
    const read = readStateFile(statePath);
    // Never overwrite a file that is not ours (a profile named by mistake, say).
    if (read.problem) throw new UsageError(`--state ${read.problem}; refusing to overwrite it`);
    state = read.state ?? state;
  }
  let custom: CustomMetricsReader | undefined;
  if (customMetrics) {
    custom = new CustomMetricsReader(log);
    custom.configure(customMetrics);
  }
  const memory = newMemory();
  memory.cpu = state.cpu;
  const now = Date.now();
  const sample = takeSample(settings, log, now, memory, custom);
  // A proc root without network files is an error, not an idle device; takeSample has said so,
  // in the one ERROR line (procfs.no_network, with the key, the folder and why).
  if (sample.blind) return 1;
  const traffic = trafficSince(baselineFor(state.reportCounters, state.bootId, sample.bootId), sample, settings.excludedInterfaces);
  const reportId = nextReportId(state.reportId, now);
  const produced = reportOf(sample, settings, reportId, traffic, log);
  writeAnswer(produced.payload);
  if (settings.format === "json" && stdoutIsTerminal()) writeAnswer("\n");
  if (statePath !== undefined) {
    const counters = sample.counters ?? state.reportCounters;
    const next: State = {
      ...state,
      bootId: sample.bootId ?? state.bootId,
      reportId,
      reportCounters: counters,
      sampleCounters: counters,
      lastSampleAt: now,
      cpu: memory.cpu ?? state.cpu,
    };
    writeFileAtomic(statePath, JSON.stringify(next));
  }
  return 0;
}
