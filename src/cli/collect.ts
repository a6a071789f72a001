import { newMemory } from "../collect/context.js";
import { CustomMetricsReader } from "../custom/custom-metrics.js";
import { CustomMetricsConfig } from "../custom/definitions.js";
import { describeZodError } from "../util/zod-errors.js";
import { DEFAULT_REPORT_SETTINGS, type ReportSettings, reportOf, takeSample, trafficSince } from "../agent/sample.js";
import { type State, baselineFor, initialState, readStateFile } from "../agent/state.js";
import { nextReportId } from "../report/report-id.js";
import { writeFileAtomic } from "../store/files.js";
import { createLogger } from "../util/log.js";
import { UsageError, parseOptions, readJsonFile } from "./usage.js";

export function parseCollectArgs(argv: string[]): { settings: ReportSettings; statePath?: string; customMetrics?: CustomMetricsConfig } {
  const values = parseOptions(argv, {
    "proc-root": { type: "string" },
    format: { type: "string" },
    "short-names": { type: "boolean" },
    state: { type: "string" },
    "max-list-entries": { type: "string" },
    "exclude-interfaces": { type: "string" },
    "custom-metrics": { type: "string" },
  });
  const format = values.format ?? DEFAULT_REPORT_SETTINGS.format;
  if (format !== "json" && format !== "cbor") throw new UsageError(`--format must be json or cbor, not "${format}"`);
  let maxListEntries = DEFAULT_REPORT_SETTINGS.maxListEntries;
  if (values["max-list-entries"] !== undefined) {
    maxListEntries = Number(values["max-list-entries"]);
    if (!/^\d+$/.test(values["max-list-entries"]) || maxListEntries < 1) {
      throw new UsageError(`--max-list-entries must be a whole number of at least 1, not "${values["max-list-entries"]}"`);
    }
  }
  if (values["proc-root"] === "") throw new UsageError("--proc-root must not be empty");
  const settings: ReportSettings = {
    procRoot: values["proc-root"] ?? DEFAULT_REPORT_SETTINGS.procRoot,
    format,
    shortNames: values["short-names"] ?? false,
    maxListEntries,
    fileRoots: DEFAULT_REPORT_SETTINGS.fileRoots,
    excludedInterfaces:
      values["exclude-interfaces"] === undefined
        ? DEFAULT_REPORT_SETTINGS.excludedInterfaces
        : values["exclude-interfaces"].split(",").map((s) => s.trim()).filter((s) => s !== ""),
  };
  let customMetrics: CustomMetricsConfig | undefined;
  if (values["custom-metrics"] !== undefined) {
    const file = values["custom-metrics"];
    const doc = readJsonFile(file, "--custom-metrics");
    const parsed = CustomMetricsConfig.safeParse(doc);
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
  const traffic = trafficSince(baselineFor(state.reportCounters, state.bootId, sample.bootId), sample, settings.excludedInterfaces);
  const reportId = nextReportId(state.reportId, now);
  const produced = reportOf(sample, settings, reportId, traffic, log);
  process.stdout.write(produced.payload);
  if (settings.format === "json" && process.stdout.isTTY) process.stdout.write("\n");
  if (statePath !== undefined) {
    const counters = sample.counters ?? state.reportCounters;
    const next: State = { ...state, bootId: sample.bootId ?? state.bootId, reportId, reportCounters: counters, sampleCounters: counters, lastSampleAt: now, cpu: memory.cpu ?? state.cpu };
    writeFileAtomic(statePath, JSON.stringify(next));
  }
  return 0;
}
