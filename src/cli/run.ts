// `run`: the component's loop outside Greengrass. Each report goes to stdout (JSON lines, or CBOR
// bytes); every sample is judged against the profiles, as in component mode, and each violation
// event is logged and appended as one JSON line to the violations file (--violations, or
// violations.ndjson in --work-dir). With --work-dir the state, history and alarm state are kept
// there, so `violations` and `explore` read them. Given a connection (--endpoint and the
// identity's files, or the same keys in --config) it is standalone mode instead: the same loop
// publishing to AWS IoT Core over MQTT (src/mqtt/standalone.ts).

import { appendFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Agent } from "../agent/agent.js";
import { readStateFile } from "../agent/state.js";
import { LOCAL_MIN_INTERVAL_SECONDS, applyConfiguration, intervalFloor, logConfiguration } from "../config/apply.js";
import { msPerSecondFrom } from "../config/environment.js";
import { DEFAULT_CONFIG } from "../config/schema.js";
import { Detector } from "../detect/detector.js";
import { logViolation } from "../detect/log-violation.js";
import { WorkDir } from "../store/files.js";
import { type Logger, createLogger, errorMessage } from "../util/log.js";
import { writeFd } from "../util/stdio.js";
import { CONNECTION_KEYS, type ConnectionSettings, ConnectionSchema, loadIdentity } from "../mqtt/settings.js";
import { CommandError, UsageError } from "./errors.js";
import { configOptions, parseOptions, readJsonFile } from "./options.js";
import { STDOUT_CLOSED, stdoutWasClosed } from "./stdout.js";

export async function runCommand(argv: string[]): Promise<number> {
  const values = parseOptions(argv, {
    config: { type: "string" },
    state: { type: "string" },
    "work-dir": { type: "string" },
    violations: { type: "string" },
    interval: { type: "string" },
    "proc-root": { type: "string" },
    format: { type: "string" },
    "short-names": { type: "boolean" },
    thing: { type: "string" },
    // A connection to AWS IoT Core (standalone mode); the same keys may be in --config.
    endpoint: { type: "string" },
    port: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    "root-ca": { type: "string" },
    "thing-name": { type: "string" },
    "client-id": { type: "string" },
  });
  let doc: Record<string, unknown> = {};
  if (values.config !== undefined) {
    const read = readJsonFile(values.config, "--config");
    if (typeof read !== "object" || read === null || Array.isArray(read)) throw new UsageError(`--config ${values.config}: must be a JSON object`);
    doc = read as Record<string, unknown>;
    // Outside Greengrass nothing validates the file first: a bad key is a usage error here.
    const { problems } = applyConfiguration(doc, DEFAULT_CONFIG);
    if (problems.length > 0) throw new UsageError(problems.map((p) => `--config ${values.config}: ${p.key}: ${p.rule}`).join("\n"));
  }
  Object.assign(doc, configOptions(values, { interval: "SampleIntervalSeconds", "proc-root": "ProcRoot", format: "Format", "short-names": "ShortNames" }));
  if (values.state !== undefined && values["work-dir"] !== undefined) throw new UsageError("--state and --work-dir both say where the state goes: give one");
  if (values.state !== undefined) {
    const read = readStateFile(values.state);
    if (read.problem) throw new UsageError(`--state ${read.problem}; refusing to overwrite it`);
  }
  const log = createLogger();
  const connection = connectionFrom(values, doc, values.config);
  if (connection !== undefined) {
    if (values.state !== undefined) throw new UsageError("--state is for reports on stdout; with a connection the state lives in --work-dir");
    const loaded = loadIdentity(connection);
    if (loaded.error) throw new CommandError(loaded.error);
    const workDir = resolve(values["work-dir"] ?? STANDALONE_WORK_DIR);
    const file = values.violations ?? join(workDir, "violations.ndjson");
    const { runStandalone } = await import("../mqtt/standalone.js");
    return runStandalone({
      identity: loaded.identity!,
      config: logConfiguration(doc, DEFAULT_CONFIG, log, intervalFloor),
      workDir,
      violationsFile: file,
      appendViolation: appender(file, log),
      log,
      msPerSecond: msPerSecondFrom(process.env),
    });
  }
  if (stdoutWasClosed()) throw new CommandError(STDOUT_CLOSED);
  const config = logConfiguration(doc, DEFAULT_CONFIG, log, () => LOCAL_MIN_INTERVAL_SECONDS);
  const workDir = values["work-dir"] !== undefined ? resolve(values["work-dir"]) : values.state !== undefined ? dirname(resolve(values.state)) : undefined;
  const work = new WorkDir(workDir, log);
  const violationsFile = values.violations ?? (values["work-dir"] !== undefined ? join(resolve(values["work-dir"]), "violations.ndjson") : undefined);
  const appendViolation = violationsFile === undefined ? undefined : appender(violationsFile, log);
  const msPerSecond = msPerSecondFrom(process.env);
  // Detect's files live in --work-dir; with only --state (or nothing) they stay in memory.
  const detector = new Detector({
    work: values["work-dir"] !== undefined ? work : new WorkDir(undefined, log),
    thingName: values.thing ?? "local",
    log,
    config: () => config,
    msPerSecond,
  });
  detector.configure(config);
  const agent = new Agent({
    log,
    work,
    stateFileName: values.state === undefined ? undefined : basename(values.state),
    minIntervalSeconds: () => LOCAL_MIN_INTERVAL_SECONDS,
    msPerSecond,
    breaks: (list, key) => detector.breaks(list, key),
    observer: {
      observe(sample, traffic) {
        // No connection here: the export messages have nowhere to go (standalone sends them).
        for (const e of detector.judge(sample, traffic).events) {
          logViolation(log, e);
          appendViolation?.(e);
        }
      },
    },
    channel: {
      holder: () => "stdout",
      offline: "stdout is closed",
      settlesOnPublish: true,
      publish(report, cfg) {
        try {
          writeFd(1, cfg.Format === "json" ? Buffer.concat([report.payload, Buffer.from("\n")]) : report.payload);
          return Promise.resolve();
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
      },
    },
  });
  log.info("run.starting", { interval_s: agent.intervalSeconds(config), format: config.Format, violations: violationsFile ?? "log only" });
  agent.start(config);
  await new Promise<void>((resolveStop) => {
    const stop = () => void agent.stop().then(resolveStop);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

/** Where standalone mode keeps its state, history, alarms and outbox unless --work-dir says. */
export const STANDALONE_WORK_DIR = "/var/lib/defender";

/** Appends one event per line; a failed write is logged (the event is also in the log). */
function appender(file: string, log: Logger): (event: object) => void {
  return (event) => {
    try {
      appendFileSync(file, `${JSON.stringify(event)}\n`);
    } catch (err) {
      log.error("violation.not_written", { file, reason: errorMessage(err) });
    }
  };
}

/**
 * The connection to AWS IoT Core, when one is asked for: options over the --config file's keys of
 * the same names. Undefined when neither names an endpoint (reports go to stdout).
 */
function connectionFrom(values: Record<string, unknown>, doc: Record<string, unknown>, configFile: string | undefined): ConnectionSettings | undefined {
  const merged: Record<string, unknown> = {};
  for (const key of CONNECTION_KEYS) {
    const v = values[key] ?? doc[key];
    if (v !== undefined) merged[key] = v;
  }
  if (Object.keys(merged).length === 0) return undefined;
  const parsed = ConnectionSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const where = (key: string) =>
    values[key] !== undefined ? `--${key}` : doc[key] !== undefined ? `--config ${configFile}: ${key}` : `--${key} (or ${key} in --config)`;
  throw new UsageError(parsed.error.issues.map((i) => `${where(String(i.path[0]))}: ${i.message}`).join("\n"));
}
