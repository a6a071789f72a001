// Standalone mode: `run` with a connection, on a device without Greengrass. The same agent core
// as component mode (sampling, the delivery ledger, Detect, the violation outbox), over the MQTT
// transport (./connection.ts) instead of Greengrass IPC. Detect never waits for the broker: a
// device that cannot reach AWS IoT Core is still judged, and its events wait in the outbox.

import { AnswerBook } from "../agent/answers.js";
import type { ComponentConfig } from "../config/schema.js";
import { Edge } from "../core/edge.js";
import { responseTopics } from "../report/topics.js";
import { WorkDir } from "../store/files.js";
import type { Logger } from "../util/log.js";
import { collectGarbageEvery } from "../util/memory.js";
import { MqttTransport } from "./connection.js";
import type { Identity } from "./settings.js";

/** systemd sends SIGKILL 90 s after SIGTERM by default; we promise 2 s. */
const SHUTDOWN_DEADLINE_MS = 1800;

export interface StandaloneOptions {
  identity: Identity;
  config: ComponentConfig;
  workDir: string;
  /** Where each violation event is also appended (NDJSON): the local target of a device without a bus. */
  violationsFile: string;
  appendViolation: (event: object) => void;
  log: Logger;
  msPerSecond: number;
}

export async function runStandalone(o: StandaloneOptions): Promise<number> {
  const { identity, config, log, msPerSecond } = o;
  const thingName = identity.settings["thing-name"];
  for (const w of identity.warnings) log[w.level === "ERROR" ? "error" : "warn"](w.event, w.fields);
  const work = new WorkDir(o.workDir, log);
  const book = new AnswerBook(log, (a) => edge.answer(a));
  const [acceptedTopic, rejectedTopic] = responseTopics(thingName, config.Format);
  const transport = new MqttTransport(
    identity,
    log,
    {
      message(topic, payload) {
        if (topic === acceptedTopic || topic === rejectedTopic) book.received(config.Format, topic === acceptedTopic, payload);
      },
      ready() {
        edge.connected(transport.holder()!);
      },
      lost() {
        edge.lost();
      },
    },
    { initialMs: Math.max(50, msPerSecond), maxMs: 120 * msPerSecond, stableMs: 60 * msPerSecond },
  );
  const edge = new Edge({ work, thingName, log, msPerSecond, transport, offline: "not connected to AWS IoT Core", onEvent: o.appendViolation });
  const agent = edge.agent;

  log.info("standalone.starting", {
    thing: thingName,
    endpoint: `${identity.settings.endpoint}:${identity.settings.port}`,
    client_id: identity.clientId,
    work_dir: o.workDir,
    violations: o.violationsFile,
  });
  // Answers must be subscribed before the first report: the transport is ready only once they are.
  if (config.PublishMetrics) await transport.subscribe([acceptedTopic, rejectedTopic]);
  transport.start();
  edge.configure(config);
  const stopCollecting = collectGarbageEvery(3600 * msPerSecond);

  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info("standalone.stopping", { signal, published: agent.counts.published, accepted: book.counts.accepted, rejected: book.counts.rejected });
  stopCollecting();
  await Promise.race([
    (async () => {
      await edge.stop();
      await transport.close();
    })(),
    new Promise<void>((res) => setTimeout(res, SHUTDOWN_DEADLINE_MS)),
  ]);
  log.info("standalone.stopped", edge.summary());
  return 0;
}
