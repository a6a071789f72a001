// `run`: the component's loop outside Greengrass. Each report goes to stdout (JSON lines, or CBOR
// bytes); every sample is judged against the profiles, as in component mode, and each violation
// event is logged and appended as one JSON line to the violations file (--violations, or
// violations.ndjson in --work-dir). With --work-dir the state, history and alarm state are kept
// there, so `violations` and `explore` read them.

import { appendFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Agent } from "../agent/agent.js";
import { readStateFile } from "../agent/state.js";
import { LOCAL_MIN_INTERVAL_SECONDS, applyConfiguration, logConfiguration } from "../config/apply.js";
import { msPerSecondFrom } from "../config/environment.js";
import { DEFAULT_CONFIG } from "../config/schema.js";
import { Detector } from "../detect/detector.js";
import { logViolation } from "../detect/log-violation.js";
import { WorkDir } from "../store/files.js";
import { createLogger, errorMessage } from "../util/log.js";
import { UsageError, configOptions, parseOptions, readJsonFile } from "./options.js";

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
  const config = logConfiguration(doc, DEFAULT_CONFIG, log, () => LOCAL_MIN_INTERVAL_SECONDS);
  const workDir = values["work-dir"] !== undefined ? resolve(values["work-dir"]) : values.state !== undefined ? dirname(resolve(values.state)) : undefined;
  const work = new WorkDir(workDir, log);
  const violationsFile = values.violations ?? (values["work-dir"] !== undefined ? join(resolve(values["work-dir"]), "violations.ndjson") : undefined);
  const msPerSecond = msPerSecondFrom(process.env);
  // Detect's files live in --work-dir; with only --state (or nothing) they stay in memory.
  const detector = new Detector({ work: values["work-dir"] !== undefined ? work : new WorkDir(undefined, log), thingName: values.thing ?? "local", log, config: () => config, msPerSecond });
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
        if (sample.blind) return;
        for (const e of [...detector.expire(), ...detector.observeSample(sample, traffic)]) {
          logViolation(log, e);
          if (violationsFile === undefined) continue;
          try {
            appendFileSync(violationsFile, `${JSON.stringify(e)}\n`);
          } catch (err) {
            log.error("violation.not_written", { file: violationsFile, reason: errorMessage(err) });
          }
        }
      },
    },
    channel: {
      holder: () => "stdout",
      offline: "stdout is closed",
      settlesOnPublish: true,
      async publish(report, cfg) {
        await new Promise<void>((res, rej) =>
          process.stdout.write(cfg.Format === "json" ? Buffer.concat([report.payload, Buffer.from("\n")]) : report.payload, (e) => (e ? rej(e) : res())),
        );
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
