// Component mode: what the bundle does when the nucleus starts it with no command.

import { decodeFirstSync } from "cbor";
import { model } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";
import { Agent, type ReportSink, statePathIn } from "../agent/loop.js";
import { logConfiguration, msPerSecondFrom } from "../config/apply.js";
import { type ComponentConfig, DEFAULT_CONFIG, intervalFloor } from "../config/schema.js";
import { Detector } from "../detect/detector.js";
import type { ViolationEvent } from "../detect/evaluate.js";
import { effectiveProfiles } from "../detect/profiles.js";
import type { Logger } from "../util/log.js";
import { createLogger } from "../util/log.js";
import { type IpcClient, IpcConnection, rpcErrorText, withTimeout } from "./ipc.js";
import { reportTopic } from "./topics.js";

const OPERATION_TIMEOUT_MS = 10_000;
const CONFIG_DEBOUNCE_MS = 100;

export async function runComponent(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log = createLogger();
  const thingName = env.AWS_IOT_THING_NAME!;
  const msPerSecond = msPerSecondFrom(env);
  const workDir = env.DEFENDER_WORK_DIR || process.cwd();
  const counts = { accepted: 0, rejected: 0 };
  let connection: IpcConnection;

  /** The live client; throws while the connection is down (the caller logs or keeps its baseline). */
  const currentClient = (): IpcClient => {
    const client = connection.current;
    if (client === undefined) throw new Error("not connected to the Greengrass nucleus");
    return client;
  };

  const publishToIoTCore = async (topicName: string, payload: Buffer | string): Promise<void> => {
    const client = currentClient();
    try {
      await withTimeout(OPERATION_TIMEOUT_MS, "PublishToIoTCore", (c) =>
        client.publishToIoTCore({ topicName, qos: model.QOS.AT_LEAST_ONCE, payload }, { cancelController: c }),
      );
    } catch (err) {
      throw new Error(`PublishToIoTCore failed: ${rpcErrorText(err)}`);
    }
  };

  const sink: ReportSink = {
    async deliver(sample, config) {
      if (!config.PublishMetrics) return; // judged on the device only
      const topicName = reportTopic(thingName, config.Format);
      await publishToIoTCore(topicName, sample.payload);
      log.info("report.published", { report_id: sample.reportId, topic: topicName, bytes: sample.payload.length });
    },
  };

  let config: ComponentConfig = DEFAULT_CONFIG;
  const detector = createDetector(workDir, thingName, log, () => config);
  const agent = new Agent({
    sink,
    log,
    statePath: statePathIn(workDir),
    minIntervalSeconds: intervalFloor,
    msPerSecond,
    async onDelivered(sample, cfg) {
      for (const event of detector.observe(sample.report)) {
        logViolation(log, event);
        await publishViolation(event, cfg);
      }
    },
  });

  const publishViolation = async (event: ViolationEvent, cfg: ComponentConfig) => {
    try {
      const client = currentClient();
      await withTimeout(OPERATION_TIMEOUT_MS, "PublishToTopic", (c) =>
        client.publishToTopic({ topic: cfg.ViolationTopic, publishMessage: { jsonMessage: { message: event } } }, { cancelController: c }),
      );
      if (cfg.ViolationIoTTopic !== "") await publishToIoTCore(cfg.ViolationIoTTopic.replaceAll("{thing}", thingName), JSON.stringify(event));
    } catch (err) {
      log.warn("violation.not_published", { violation_id: event.violationId, reason: rpcErrorText(err) });
    }
  };

  let started = false;
  let responses: { format: string; close: () => Promise<void> } | undefined;

  const onResponse = (format: string, outcome: "accepted" | "rejected", payload: Buffer | undefined) => {
    let doc: Record<string, unknown> = {};
    try {
      if (payload) doc = format === "cbor" ? decodeFirstSync(payload) : JSON.parse(payload.toString("utf8"));
    } catch {
      log.warn("report.response_unreadable", { outcome, bytes: payload?.length ?? 0 });
    }
    const details = (doc.statusDetails ?? {}) as Record<string, unknown>;
    if (outcome === "accepted") {
      counts.accepted++;
      log.info("report.accepted", { report_id: String(doc.reportId ?? ""), accepted_total: counts.accepted });
    } else {
      counts.rejected++;
      log.warn("report.rejected", {
        report_id: String(doc.reportId ?? ""),
        code: String(details.ErrorCode ?? "unknown"),
        message: String(details.ErrorMessage ?? ""),
        rejected_total: counts.rejected,
      });
    }
  };

  const subscribeResponses = async (client: IpcClient, format: string) => {
    const streams: Array<{ close(): Promise<void> }> = [];
    for (const outcome of ["accepted", "rejected"] as const) {
      const op = client.subscribeToIoTCore({ topicName: `${reportTopic(thingName, format)}/${outcome}`, qos: model.QOS.AT_LEAST_ONCE });
      op.on("message", (ev) => onResponse(format, outcome, ev.message?.payload as Buffer | undefined));
      op.on("streamError", (err) => log.warn("ipc.stream_error", { stream: outcome, reason: rpcErrorText(err) }));
      await withTimeout(OPERATION_TIMEOUT_MS, "SubscribeToIoTCore", () => op.activate());
      streams.push(op);
    }
    return { format, close: async () => void (await Promise.all(streams.map((s) => s.close().catch(() => undefined)))) };
  };

  const readConfiguration = async (client: IpcClient) => {
    const res = await withTimeout(OPERATION_TIMEOUT_MS, "GetConfiguration", (c) =>
      client.getConfiguration({ keyPath: [] }, { cancelController: c }),
    );
    config = logConfiguration(res.value ?? {}, config, log);
    detector.configure(effectiveProfiles(config, log));
    if (!started) {
      started = true;
      agent.start(config);
    } else {
      agent.setConfig(config);
    }
    if (responses?.format !== config.Format) {
      const old = responses;
      responses = undefined;
      await old?.close();
      responses = await subscribeResponses(client, config.Format);
    }
  };

  // Set up once per client; a failed step is retried on the same client (see IpcConnection.setUp).
  const subscribedClients = new WeakSet<IpcClient>();
  let responsesClient: IpcClient | undefined;
  connection = new IpcConnection(
    log,
    async (client) => {
      if (responsesClient !== client) responses = undefined; // the old client's streams died with it
      responsesClient = client;
      if (!subscribedClients.has(client)) {
        let debounce: NodeJS.Timeout | undefined;
        const updates = client.subscribeToConfigurationUpdate({ keyPath: [] });
        updates.on("message", () => {
          // One deployment sends one event per changed leaf: read once they have arrived.
          clearTimeout(debounce);
          debounce = setTimeout(() => {
            readConfiguration(client).catch((err) => log.error("config.read_failed", { reason: rpcErrorText(err) }));
          }, CONFIG_DEBOUNCE_MS);
        });
        await withTimeout(OPERATION_TIMEOUT_MS, "SubscribeToConfigurationUpdate", () => updates.activate());
        subscribedClients.add(client);
      }
      await readConfiguration(client);
    },
    { initialMs: Math.max(50, msPerSecond), maxMs: 60 * msPerSecond },
  );

  log.info("component.starting", { thing: thingName, version: COMPONENT_VERSION });
  connection.start();

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info("component.stopping", { signal, published: agent.counts.delivered, accepted: counts.accepted, rejected: counts.rejected });
      // The nucleus sends SIGKILL 5 s after SIGTERM: bound every step.
      const deadline = setTimeout(() => resolve(), 1800);
      Promise.allSettled([agent.stop(), connection.close()]).then(() => {
        clearTimeout(deadline);
        resolve();
      });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
  log.info("component.stopped", {});
  return 0;
}

declare const __COMPONENT_VERSION__: string | undefined;
const COMPONENT_VERSION = typeof __COMPONENT_VERSION__ === "string" ? __COMPONENT_VERSION__ : "dev";


export function createDetector(workDir: string | undefined, thingName: string, log: Logger, config: () => ComponentConfig): Detector {
  return new Detector({
    workDir,
    thingName,
    log,
    minStatisticalDatapoints: () => config().StatisticalMinDatapoints,
    history: {
      get maxAgeMs() {
        return config().HistoryDays * 86_400_000;
      },
      get maxBytes() {
        return config().HistoryMaxBytes;
      },
    },
  });
}

export function logViolation(log: Logger, e: ViolationEvent): void {
  const fields = {
    profile: e.securityProfileName,
    behavior: e.behavior.name,
    metric: e.behavior.metric,
    value: JSON.stringify(e.metricValue),
    violation_id: e.violationId,
    time: e.violationEventTime,
  };
  if (e.violationEventType === "in-alarm") log.warn("violation.in_alarm", fields);
  else log.info(e.violationEventType === "alarm-cleared" ? "violation.alarm_cleared" : "violation.alarm_invalidated", fields);
}
