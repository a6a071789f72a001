// The service's answers to this thing's reports, on <report topic>/accepted and /rejected.
// Exactly one stream per topic at any time: the streams of the current format on the current
// client, replaced (old ones closed first) when the format or the client changes. The nucleus
// answers SubscribeToIoTCore only once the core's MQTT connection is up
// (builtin/services/mqttproxy/MqttProxyIPCAgent.java, MqttClient.subscribe), so activation is not
// timed out: it ends when it succeeds, fails, or its client goes away. A duplicate stream would
// deliver every answer twice (each stream is its own subscriber), so none is ever left open.

import { type Answer, AnswerBook } from "../agent/answers.js";
import type { StreamingOperation } from "aws-iot-device-sdk-v2/dist/eventstream_rpc";
import { model } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";
import type { Logger } from "../util/log.js";
import { MQTTPROXY, missingGrant } from "./access-control.js";
import { errorShape, rpcErrorText } from "./ipc.js";
import { type IpcClient, isAlive, untilEnded } from "./ipc-wait.js";
import { responseTopics } from "../report/topics.js";

type Stream = StreamingOperation<unknown, unknown, unknown, model.IoTCoreMessage>;

interface Subscribed {
  client: IpcClient;
  format: string;
  streams: Stream[];
  failed: boolean;
}

export class ReportAnswers {
  private current: Subscribed | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly book: AnswerBook;
  /** Failures said since the last success (topic and reason): each is said once, not at every retry. */
  private readonly said = new Set<string>();

  constructor(
    private readonly thingName: string,
    private readonly log: Logger,
    onAnswer: (a: Answer) => void,
  ) {
    this.book = new AnswerBook(log, onAnswer);
  }

  get counts() {
    return this.book.counts;
  }

  /**
   * Makes the answer streams those of `format` on `client` (a no-op when they already are). Never
   * rejects: a failure is logged here, once per topic and reason.
   */
  use(client: IpcClient, format: string): Promise<void> {
    this.queue = this.queue.then(() => this.switchTo(client, format)).catch(() => undefined);
    return this.queue;
  }

  /** The client went away, and its streams with it. */
  forget(client: IpcClient): void {
    if (this.current?.client === client) this.current = undefined;
  }

  /** Closes the streams (shutdown). */
  async close(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c) await Promise.allSettled(c.streams.map((s) => s.close()));
  }

  private async switchTo(client: IpcClient, format: string): Promise<void> {
    const cur = this.current;
    if (cur && cur.client === client && cur.format === format && !cur.failed) return;
    this.current = undefined;
    if (cur && cur.client === client) await Promise.allSettled(cur.streams.map((s) => s.close()));
    if (!isAlive(client)) return;
    const next: Subscribed = { client, format, streams: [], failed: false };
    this.current = next;
    const topics = responseTopics(this.thingName, format);
    const outcomes = [true, false] as const;
    for (const [i, topicName] of topics.entries()) {
      const op = client.subscribeToIoTCore({ topicName, qos: model.QOS.AT_LEAST_ONCE }) as unknown as Stream;
      op.on("message", (ev) => this.book.received(format, outcomes[i]!, ev.message?.payload as Buffer | undefined));
      op.on("streamError", (err) => this.log.warn("ipc.stream_error", { topic: topicName, reason: rpcErrorText(err) }));
      next.streams.push(op);
    }
    // Answered when the core's MQTT connection is up, however long that takes; over when the
    // IPC connection ends (the SDK would otherwise wait forever).
    const results = await Promise.allSettled(next.streams.map((s) => untilEnded(client, s.activate())));
    const failures = results.flatMap((r, i) => (r.status === "rejected" ? [{ topic: topics[i]!, err: r.reason as unknown }] : []));
    if (failures.length === 0) {
      this.log.info("report.answers_subscribed", { format });
      this.said.clear();
      return;
    }
    next.failed = true;
    await Promise.allSettled(next.streams.map((s) => s.close()));
    if (this.current === next) this.current = undefined;
    if (!isAlive(client)) return; // the reconnection subscribes again
    for (const f of failures) {
      const unauthorized = errorShape(f.err) === "UnauthorizedError";
      const key = `${f.topic}|${rpcErrorText(f.err)}`;
      if (this.said.has(key)) continue;
      this.said.add(key);
      this.log.error("report.answers_unavailable", {
        topic: f.topic,
        reason: rpcErrorText(f.err),
        fix: unauthorized ? missingGrant(MQTTPROXY, "aws.greengrass#SubscribeToIoTCore", f.topic) : undefined,
        retry: "at the next reconnection or configuration change; said once until it works",
      });
    }
    throw new Error(`SubscribeToIoTCore failed for ${failures.map((f) => f.topic).join(", ")}`);
  }
}
