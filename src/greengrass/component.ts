// Component mode: what the bundle does when the nucleus starts it with no command. This file
// wires the parts together and owns the lifecycle (start, signals, shutdown); the parts are the
// IPC connection (ipc.ts), the configuration source (config-source.ts), the report channel and
// the service's answers (report-answers.ts), and the violation outbox (violation-outbox.ts).

import { logConfiguration } from "../config/apply.js";
import { msPerSecondFrom } from "../config/environment.js";
import { Edge } from "../core/edge.js";
import { WorkDir } from "../store/files.js";
import { LogOnce, createLogger } from "../util/log.js";
import { collectGarbageEvery } from "../util/memory.js";
import { ConfigSource, configurationProblems } from "./config-source.js";
import { IpcConnection } from "./ipc.js";
import { ReportAnswers } from "./report-answers.js";
import { maxReportBytes, runtimeOf } from "./runtime.js";
import { IpcTransport, type IpcLink } from "./ipc-transport.js";

/** The nucleus sends SIGKILL 5 s after SIGTERM (UnixExec, gracefulShutdownTimeout): stay well inside. */
const SHUTDOWN_DEADLINE_MS = 1800;

export async function runComponent(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log = createLogger();
  const thingName = env.AWS_IOT_THING_NAME!;
  const socketPath = env.AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT!;
  const runtime = runtimeOf(socketPath);
  const once = new LogOnce(log);
  const msPerSecond = msPerSecondFrom(env);
  const work = new WorkDir(env.DEFENDER_WORK_DIR || process.cwd(), log);

  // The connection is made below (its events need the agent); the transport reads it when used.
  const link: IpcLink = {
    get current() {
      return connection.current;
    },
    get nucleus() {
      return connection.nucleus;
    },
  };
  const transport = new IpcTransport(link, maxReportBytes(runtime));
  const edge = new Edge({
    work,
    thingName,
    log,
    msPerSecond,
    transport,
    offline: "not connected to the Greengrass nucleus",
    exportMaxBytes: maxReportBytes(runtime),
  });
  const answers = new ReportAnswers(thingName, log, (a) => edge.answer(a));
  const subscribeAnswers = () => {
    const client = connection.current;
    if (client === undefined) return;
    const { PublishMetrics, Format } = edge.currentConfig;
    if (!PublishMetrics) return void answers.close();
    void answers.use(client, Format);
  };

  const configSource = new ConfigSource({
    log,
    work,
    thingName,
    runtime,
    current: () => edge.currentConfig,
    apply(doc) {
      const config = logConfiguration(doc, edge.currentConfig, log);
      // A configuration the nucleus applied without asking (the first one, a local deployment):
      // say once which grant a configured topic lacks, rather than failing every publish silently.
      for (const p of configurationProblems(doc, config, thingName, runtime)) {
        if (p.includes("accessControl")) once.say("ERROR", p, "config.not_granted", { problem: p });
      }
      edge.configure(config);
      subscribeAnswers();
    },
  });

  const connection = new IpcConnection(
    log,
    socketPath,
    {
      async onConnected(client, nucleus) {
        edge.connected(nucleus);
        await configSource.attach(client);
        subscribeAnswers();
        edge.deliver();
      },
      onDisconnected() {
        edge.lost();
      },
    },
    { initialMs: Math.max(50, msPerSecond), maxMs: 60 * msPerSecond },
  );

  log.info("component.starting", {
    thing: thingName,
    version: COMPONENT_VERSION,
    transport: IPC_TRANSPORT,
    runtime,
    max_report_bytes: transport.maxReportBytes,
  });
  const cached = configSource.cached();
  if (cached !== undefined) {
    // Sampling and Detect go on even if the nucleus cannot be reached; its configuration follows.
    log.info("config.cached", { reason: "the configuration of the last run, until the nucleus answers" });
    configSource.opts.apply(cached);
  }
  connection.start();
  const stopCollecting = collectGarbageEvery(3600 * msPerSecond);

  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const agent = edge.agent;
  log.info("component.stopping", { signal, published: agent.counts.published, accepted: answers.counts.accepted, rejected: answers.counts.rejected });
  stopCollecting();
  const deadline = new Promise<void>((res) => setTimeout(res, SHUTDOWN_DEADLINE_MS));
  await Promise.race([
    (async () => {
      await agent.stop();
      // A report handed over just now is usually answered within moments: wait a little for it,
      // so the next run does not have to guess.
      const until = Date.now() + SHUTDOWN_DEADLINE_MS / 2;
      while (agent.currentState.ledger.outstanding.some((o) => !o.gap) && connection.current && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await agent.stop();
      await answers.close();
      await connection.close();
    })(),
    deadline,
  ]);
  log.info("component.stopped", edge.summary());
  return 0;
}

declare const __COMPONENT_VERSION__: string | undefined;
declare const __IPC_TRANSPORT__: string | undefined;
const COMPONENT_VERSION = typeof __COMPONENT_VERSION__ === "string" ? __COMPONENT_VERSION__ : "dev";
const IPC_TRANSPORT = typeof __IPC_TRANSPORT__ === "string" ? __IPC_TRANSPORT__ : "crt";
