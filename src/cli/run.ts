// `run`: the component's loop outside Greengrass, writing each report to stdout.

import { Agent } from "../agent/agent.js";
import { LOCAL_MIN_INTERVAL_SECONDS, logConfiguration } from "../config/apply.js";
import { msPerSecondFrom } from "../config/environment.js";
import { DEFAULT_CONFIG } from "../config/schema.js";
import { WorkDir } from "../store/files.js";
import { createLogger } from "../util/log.js";
import { UsageError, parseOptions, readJsonFile } from "./usage.js";
import { basename, dirname, resolve } from "node:path";
import { readStateFile } from "../agent/state.js";

export async function runCommand(argv: string[]): Promise<number> {
  const values = parseOptions(argv, {
    config: { type: "string" },
    state: { type: "string" },
    interval: { type: "string" },
    "proc-root": { type: "string" },
    format: { type: "string" },
    "short-names": { type: "boolean" },
  });
  const log = createLogger();
  let doc: Record<string, unknown> = {};
  if (values.config !== undefined) {
    const read = readJsonFile(values.config, "--config");
    if (typeof read !== "object" || read === null || Array.isArray(read)) throw new UsageError(`--config ${values.config}: must be a JSON object`);
    doc = read as Record<string, unknown>;
  }
  if (values.interval !== undefined) doc.SampleIntervalSeconds = values.interval;
  if (values["proc-root"] !== undefined) doc.ProcRoot = values["proc-root"];
  if (values.format !== undefined) doc.Format = values.format;
  if (values["short-names"]) doc.ShortNames = true;
  const config = logConfiguration(doc, DEFAULT_CONFIG, log, () => LOCAL_MIN_INTERVAL_SECONDS);
  if (values.state !== undefined) {
    const read = readStateFile(values.state);
    if (read.problem) throw new UsageError(`--state ${read.problem}; refusing to overwrite it`);
  }
  const work = new WorkDir(values.state === undefined ? undefined : dirname(resolve(values.state)), log);
  const agent = new Agent({
    log,
    work,
    stateFileName: values.state === undefined ? undefined : basename(values.state),
    minIntervalSeconds: () => LOCAL_MIN_INTERVAL_SECONDS,
    msPerSecond: msPerSecondFrom(process.env),
    channel: {
      nucleus: () => "stdout",
      settlesOnPublish: true,
      async publish(report, cfg) {
        await new Promise<void>((res, rej) =>
          process.stdout.write(cfg.Format === "json" ? Buffer.concat([report.payload, Buffer.from("\n")]) : report.payload, (e) => (e ? rej(e) : res())),
        );
      },
    },
  });
  log.info("run.starting", { interval_s: agent.intervalSeconds(config), format: config.Format });
  agent.start(config);
  await new Promise<void>((resolve) => {
    const stop = () => void agent.stop().then(resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}
