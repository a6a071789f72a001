// check-profile and replay: the device-side Detect tools that need no Greengrass.

import { readFileSync } from "node:fs";
import { DEFAULT_CONFIG } from "../config/schema.js";
import { DEFAULT_PROFILE } from "../detect/default-profile.js";
import { type Datapoint, datapointOfReport } from "../detect/datapoint.js";
import { type AlarmStates, evaluate } from "../detect/evaluate.js";
import { lintProfile } from "../detect/lint.js";
import type { SecurityProfile } from "../detect/profile-schema.js";
import { toLongNames } from "../report/names.js";
import { ReportSchema } from "../report/schema.js";
import { describeZodError } from "../util/zod-errors.js";
import { UsageError, parseCommandLine, parseOptions, readJsonFile } from "./usage.js";

export const DEFAULT_MIN_STATISTICAL_DATAPOINTS = DEFAULT_CONFIG.StatisticalMinDatapoints;

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} must be a whole number of at least 1, not "${text}"`);
  return Number(text);
}

export function checkProfileCommand(argv: string[]): number {
  const { values, positionals: files } = parseCommandLine(
    argv,
    { default: { type: "boolean" }, interval: { type: "string" }, "min-datapoints": { type: "string" } },
    true,
  );
  if (!values.default && files.length !== 1) throw new UsageError("check-profile takes one profile file, or --default");
  const docs: unknown[] = values.default ? [DEFAULT_PROFILE] : [readJsonFile(files[0]!, "profile")].flat();
  const opts = {
    minStatisticalDatapoints: positiveInt(values["min-datapoints"], "--min-datapoints", DEFAULT_MIN_STATISTICAL_DATAPOINTS),
    intervalSeconds: positiveInt(values.interval, "--interval", 300),
  };
  let errors = 0;
  for (const doc of docs) {
    const { profile, findings } = lintProfile(doc, opts);
    for (const f of findings) process.stdout.write(`${f.level} ${f.where}: ${f.message}\n`);
    errors += findings.filter((f) => f.level === "ERROR").length;
    if (profile && values.default) process.stdout.write(`${JSON.stringify(profile, null, 2)}\n`);
    if (profile) process.stdout.write(`OK profile ${profile.securityProfileName}: ${profile.behaviors?.length ?? 0} behaviors\n`);
  }
  return errors > 0 ? 1 : 0;
}

/** Profiles from a file holding one CreateSecurityProfile document or a list of them. */
export function loadProfiles(path: string): SecurityProfile[] {
  const docs = [readJsonFile(path, "profile")].flat();
  return docs.map((doc) => {
    const { profile, findings } = lintProfile(doc, { minStatisticalDatapoints: 1, intervalSeconds: 300 });
    if (!profile) throw new UsageError(findings.map((f) => `${f.where}: ${f.message}`).join("\n"));
    return profile;
  });
}

export function replayCommand(argv: string[]): number {
  const values = parseOptions(argv, {
    profile: { type: "string" },
    reports: { type: "string" },
    thing: { type: "string" },
    "min-datapoints": { type: "string" },
  });
  if (!values.profile || !values.reports) throw new UsageError("replay needs --profile FILE and --reports FILE");
  const profiles = loadProfiles(values.profile);
  let text: string;
  try {
    text = readFileSync(values.reports, "utf8");
  } catch (err) {
    throw new UsageError(`--reports ${values.reports}: ${(err as Error).message}`);
  }
  const opts = {
    thingName: values.thing ?? "replay",
    minStatisticalDatapoints: positiveInt(values["min-datapoints"], "--min-datapoints", DEFAULT_MIN_STATISTICAL_DATAPOINTS),
  };
  const states: AlarmStates = {};
  const history: Datapoint[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let doc: unknown;
    try {
      doc = toLongNames(JSON.parse(line));
    } catch (err) {
      process.stderr.write(`WARN replay.line_skipped line=${i + 1} reason=${JSON.stringify((err as Error).message)}\n`);
      return;
    }
    const parsed = ReportSchema.safeParse(doc);
    if (!parsed.success) {
      process.stderr.write(`WARN replay.line_skipped line=${i + 1} reason=${JSON.stringify(describeZodError(parsed.error, doc))}\n`);
      return;
    }
    const dp = datapointOfReport(parsed.data, parsed.data.header.report_id);
    for (const e of evaluate(profiles, history, dp, states, opts).events) process.stdout.write(`${JSON.stringify(e)}\n`);
    history.push(dp);
  });
  return 0;
}
