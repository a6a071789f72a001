// check-profile and replay: the device-side Detect tools that need no Greengrass.

import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { DEFAULT_CONFIG } from "../config/schema.js";
import { DEFAULT_PROFILE } from "../detect/default-profile.js";
import { datapointOfReport } from "../detect/datapoint.js";
import { Baselines, evaluate, type AlarmStates } from "../detect/evaluate.js";
import { History } from "../detect/history.js";
import { lintProfile } from "../detect/lint.js";
import { stateKey } from "../detect/alarms.js";
import { MODELS_FILE, ModelsFileSchema } from "../detect/detector.js";
import { type MlStates, type ModelStatus, minDatapointsFor, modelStatus } from "../detect/ml/behavior.js";
import type { SecurityProfile } from "../detect/profile-schema.js";
import { profilesFrom } from "../detect/profiles.js";
import { toLongNames } from "../report/names.js";
import { ReportSchema } from "../report/schema.js";
import { describeZodError } from "../util/zod-errors.js";
import { CommandError, UsageError } from "./errors.js";
import { parseCommandLine, parseOptions, readJsonFile, wholeNumber } from "./options.js";
import { writeAnswer } from "./stdout.js";
import { writeStderr } from "../util/stdio.js";

export const DEFAULT_MIN_STATISTICAL_DATAPOINTS = DEFAULT_CONFIG.StatisticalMinDatapoints;

/** A profile file: one CreateSecurityProfile document or a list of them. A bad file is an error, not a usage error. */
function readProfileDocs(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CommandError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CommandError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const docs = [doc].flat();
  if (docs.length === 0) throw new CommandError(`${path}: holds no profile (an empty list)`);
  return docs;
}

export function checkProfileCommand(argv: string[]): number {
  const { values, positionals: files } = parseCommandLine(
    argv,
    {
      default: { type: "boolean" },
      interval: { type: "string" },
      "min-datapoints": { type: "string" },
      "ml-min-datapoints": { type: "string" },
      "work-dir": { type: "string" },
    },
    true,
  );
  if (!values.default && files.length !== 1) throw new UsageError("check-profile takes one profile file, or --default");
  const opts = {
    minStatisticalDatapoints: wholeNumber(values["min-datapoints"], "--min-datapoints", DEFAULT_MIN_STATISTICAL_DATAPOINTS, 1, 100_000),
    intervalSeconds: wholeNumber(values.interval, "--interval", 300, 1, 86_400),
    mlMinDatapoints: wholeNumber(values["ml-min-datapoints"], "--ml-min-datapoints", DEFAULT_CONFIG.MlMinDatapoints, 0, 100_000),
  };
  // The models a device has built for these behaviors, when its work folder is given.
  const models = values["work-dir"] === undefined ? undefined : readModels(values["work-dir"]);
  if (values.default) {
    // stdout is the profile alone (so `> profile.json` is a valid profile); remarks go to stderr.
    const { findings } = lintProfile(DEFAULT_PROFILE, opts);
    for (const f of findings) writeStderr(`${f.level} ${f.where}: ${f.message}\n`);
    writeAnswer(`${JSON.stringify(DEFAULT_PROFILE, null, 2)}\n`);
    return 0;
  }
  let errors = 0;
  for (const doc of readProfileDocs(files[0]!)) {
    const { profile, findings } = lintProfile(doc, opts);
    for (const f of findings) writeAnswer(`${f.level} ${f.where}: ${f.message}\n`);
    errors += findings.filter((f) => f.level === "ERROR").length;
    if (profile) writeAnswer(`OK profile ${profile.securityProfileName}: ${profile.behaviors?.length ?? 0} behaviors\n`);
    for (const b of profile?.behaviors ?? []) {
      if (!b.criteria?.mlDetectionConfig || profile === undefined) continue;
      const s = models?.[stateKey(profile.securityProfileName, b.name)];
      const status = modelStatus(s, Date.now(), minDatapointsFor(opts.mlMinDatapoints, opts.intervalSeconds));
      writeAnswer(
        `MODEL profile ${profile.securityProfileName} behavior ${b.name}: ${describeStatus(status)}${models === undefined ? " (no --work-dir: a device's models were not read)" : ""}\n`,
      );
    }
  }
  return errors > 0 ? 1 : 0;
}

/** A model's status as a line: GetBehaviorModelTrainingSummaries' fields. */
export function describeStatus(s: ModelStatus): string {
  const date = (t: number | undefined) => (t === undefined ? "" : new Date(t).toISOString());
  if (s.modelStatus === "PENDING_BUILD") return `PENDING_BUILD datapointsCollectionPercentage=${s.datapointsCollectionPercentage}`;
  if (s.modelStatus === "ACTIVE") return `ACTIVE lastModelRefreshDate=${date(s.lastModelRefreshDate)}`;
  return `EXPIRED${s.lastModelRefreshDate === undefined ? "" : ` lastModelRefreshDate=${date(s.lastModelRefreshDate)}`} (no datapoint for 30 days)`;
}

/** The models in a work folder (models.json), checked as the component checks it; none when there is no file. */
export function readModels(dir: string): MlStates {
  const path = join(dir, MODELS_FILE);
  if (!existsSync(path)) return {};
  const doc = readJsonFile(path, "ML models");
  const parsed = ModelsFileSchema.safeParse(doc);
  if (!parsed.success) throw new CommandError(`${path}: not the component's models: ${describeZodError(parsed.error, doc)}`);
  return parsed.data.behaviors;
}

/** Profiles from a file; any invalid one is an error naming it. */
export function loadProfiles(path: string): SecurityProfile[] {
  const { profiles, errors } = profilesFrom(readProfileDocs(path), { minStatisticalDatapoints: 1, intervalSeconds: 300 });
  if (errors.length > 0) throw new CommandError(errors.map((f) => `${path}: ${f.where}: ${f.message}`).join("\n"));
  return profiles;
}

/**
 * A report id as a time. Agents use epoch seconds (the developer guide's examples, the Python
 * agent, the embedded C demo) or milliseconds (aws-c-iot, this component): ids below 1e11 (year
 * 5138 in seconds, 1973 in ms) are seconds.
 */
export function reportTime(reportId: number): number {
  return reportId < 1e11 ? reportId * 1000 : reportId;
}

export function replayCommand(argv: string[]): number {
  const values = parseOptions(argv, {
    profile: { type: "string" },
    reports: { type: "string" },
    thing: { type: "string" },
    "min-datapoints": { type: "string" },
    "ml-min-datapoints": { type: "string" },
    "history-days": { type: "string" },
  });
  if (!values.profile || !values.reports) throw new UsageError("replay needs --profile FILE and --reports FILE");
  const profiles = loadProfiles(values.profile);
  let fd: number;
  try {
    fd = openSync(values.reports, "r");
  } catch (err) {
    throw new CommandError(`--reports ${values.reports}: ${(err as Error).message}`);
  }
  const historyDays = wholeNumber(values["history-days"], "--history-days", DEFAULT_CONFIG.HistoryDays, 1, 90);
  const opts = {
    thingName: values.thing ?? "replay",
    minStatisticalDatapoints: wholeNumber(values["min-datapoints"], "--min-datapoints", DEFAULT_MIN_STATISTICAL_DATAPOINTS, 1, 100_000),
    baselines: new Baselines(),
    // 0: 14 days of reports at 300 s, ML Detect's minimum period.
    ml: { states: {}, minDatapoints: minDatapointsFor(wholeNumber(values["ml-min-datapoints"], "--ml-min-datapoints", 0, 0, 100_000), 300) },
  };
  // The same bounded history as on the device: baselines over HistoryDays, not over everything.
  const history = new History(undefined, { maxAgeMs: historyDays * 86_400_000, maxBytes: Infinity });
  const states: AlarmStates = {};
  const out: string[] = [];
  let previous: number | undefined;
  let lineNo = 0;
  for (const line of linesOf(fd)) {
    lineNo++;
    if (line.trim() === "") continue;
    let doc: unknown;
    try {
      doc = toLongNames(JSON.parse(line));
    } catch (err) {
      writeStderr(`WARN replay.line_skipped line=${lineNo} reason=${JSON.stringify((err as Error).message)}\n`);
      continue;
    }
    const parsed = ReportSchema.safeParse(doc);
    if (!parsed.success) {
      writeStderr(`WARN replay.line_skipped line=${lineNo} reason=${JSON.stringify(describeZodError(parsed.error, doc))}\n`);
      continue;
    }
    const time = reportTime(parsed.data.header.report_id);
    if (previous !== undefined && time <= previous) {
      writeStderr(`WARN replay.line_skipped line=${lineNo} reason="report_id does not increase"\n`);
      continue;
    }
    const dp = datapointOfReport(parsed.data, time, previous === undefined ? undefined : (time - previous) / 1000);
    previous = time;
    for (const e of evaluate(profiles, history.points, dp, states, opts).events) out.push(JSON.stringify(e));
    history.append(dp);
    if (out.length >= 1000) writeAnswer(`${out.splice(0).join("\n")}\n`);
  }
  if (out.length > 0) writeAnswer(`${out.join("\n")}\n`);
  closeSync(fd);
  return 0;
}

/** The lines of a file, read a megabyte at a time (a year of reports is too big to hold twice). */
function* linesOf(fd: number): Generator<string> {
  const buf = Buffer.allocUnsafe(1 << 20);
  const decoder = new StringDecoder("utf8"); // a character split between two reads stays whole
  let rest = "";
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    const text = rest + decoder.write(buf.subarray(0, n));
    const lines = text.split("\n");
    rest = lines.pop()!;
    yield* lines;
  }
  if (rest !== "") yield rest;
}
