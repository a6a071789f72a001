import { CustomMetricsCollector } from "../custom/collector.js";
import { CustomMetricsConfig } from "../custom/definitions.js";
import { describeZodError } from "../util/zod-errors.js";
import { DEFAULT_REPORT_SETTINGS, type ReportSettings, takeSample } from "../agent/sample.js";
import { loadState, saveState } from "../state/store.js";
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
  let state;
  if (statePath !== undefined) {
    const loaded = loadState(statePath);
    if (loaded.state === undefined && "problem" in loaded && loaded.problem) {
      log.warn("state.ignored", { reason: loaded.problem });
    }
    state = loaded.state;
  }
  let custom: CustomMetricsCollector | undefined;
  if (customMetrics) {
    custom = new CustomMetricsCollector(log);
    custom.configure(customMetrics);
  }
  const sample = takeSample(settings, state, log, Date.now(), custom);
  process.stdout.write(sample.payload);
  if (settings.format === "json" && process.stdout.isTTY) process.stdout.write("\n");
  if (statePath !== undefined) saveState(statePath, sample.nextState);
  return 0;
}
