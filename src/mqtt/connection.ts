// The agent's transport on a device without Greengrass: MQTT 5 over TLS 1.2+ with the device's
// certificate, straight to AWS IoT Core (MQTT.js: pure JavaScript, so the one bundle runs on
// every CPU). As the service expects it (developer guide, "Device communication protocols" and
// "MQTT"): port 8883, or 443 with ALPN x-amzn-mqtt-ca; a persistent session (clean start off,
// a session expiry) so QoS 1 answers wait for us across a reconnection; keep-alive; reconnects
// with capped exponential backoff and jitter, never in lockstep with a fleet.

import type { ConnectionOptions } from "node:tls";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { PublishRefused, type Transport } from "../agent/transport.js";
import { type Logger, LogOnce, errorMessage } from "../util/log.js";
import type { Identity } from "./settings.js";
import { connectProblem } from "./connect-problem.js";

/** AWS IoT Core keeps a persistent session for one hour by default (quota "Persistent session expiry period"). */
const SESSION_EXPIRY_SECONDS = 3600;
/** AWS IoT Core allows 30-1200 s of keep-alive. */
const KEEPALIVE_SECONDS = 60;
/** A QoS 1 publish not acknowledged by then stays in the session store and is resent on reconnection. */
const ACK_WAIT_MS = 10_000;

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** A connection up this long counts as a good one: the next drop retries from initialMs. */
  stableMs: number;
}

/**
 * The wait before reconnection attempt `attempt` (0 first): capped exponential backoff with
 * "equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"), never less than half
 * the step, so a fleet that lost its broker spreads out. `random` in [0, 1).
 */
export function reconnectDelay(backoff: Backoff, attempt: number, random: number): number {
  const cap = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
  return Math.round(cap / 2 + (random * cap) / 2);
}

export interface MqttEvents {
  /** A message on a subscribed topic. */
  message(topic: string, payload: Buffer): void;
  /** Connected with the subscriptions in place: the transport takes publishes from now on. */
  ready(): void;
  /** The connection is gone (it will be tried again). */
  lost(): void;
}

/** MQTT.js's options for AWS IoT Core (its options go on to tls.connect: the TLS floor with them). */
export function clientOptions(id: Identity): IClientOptions & Pick<ConnectionOptions, "minVersion"> {
  const { settings, clientId, cert, key, ca } = id;
  return {
    host: settings.endpoint,
    port: settings.port,
    protocol: "mqtts",
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS },
    keepalive: KEEPALIVE_SECONDS,
    // Reconnection is ours (backoff with jitter); MQTT.js would retry at a fixed period.
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    cert,
    key,
    ca,
    servername: settings.endpoint,
    minVersion: "TLSv1.2",
    rejectUnauthorized: true,
    ...(settings.port === 443 ? { ALPNProtocols: ["x-amzn-mqtt-ca"] } : {}),
    resubscribe: false,
  };
}

export class MqttTransport implements Transport {
  private client: MqttClient | undefined;
  private ready = false;
  private closed = false;
  private attempt = 0;
  /** When the connection came up (performance.now()), for telling a stable one from a flapping one. */
  private upSince: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wanted = new Set<string>();
  private readonly once: LogOnce;
  /** The session store is this process's memory: a restart loses what it held. */
  private readonly identity = `mqtt:${process.pid}:${Date.now()}`;
  readonly counts = { connects: 0, publishes: 0 };

  constructor(
    private readonly id: Identity,
    private readonly log: Logger,
    private readonly events: MqttEvents,
    private readonly backoff: Backoff,
    private readonly random: () => number = Math.random,
  ) {
    this.once = new LogOnce(log);
  }

  holder(): string | undefined {
    return this.ready ? this.identity : undefined;
  }

  start(): void {
    const clientId = this.id.clientId;
    const client = mqtt.connect(clientOptions(this.id));
    this.client = client;
    client.on("connect", (connack) => void this.connected(connack.sessionPresent));
    client.on("message", (topic, payload) => this.events.message(topic, payload));
    client.on("error", (err) => this.failed(err));
    client.on("close", () => this.dropped());
    // MQTT 5: the broker says why it ends a connection (0x8E: another connection took the session).
    client.on("disconnect", (packet) => {
      const code = packet.reasonCode ?? 0;
      const why = code === 0x8e ? `session taken over: another connection uses the client id ${clientId}` : `the broker disconnected us (reason code ${code})`;
      this.once.say("WARN", `disc|${code}`, "mqtt.disconnected_by_broker", { reason: why, reason_code: code });
    });
  }

  /** Makes the subscriptions these topics (QoS 1), now if connected and after every reconnection. */
  async subscribe(topics: string[]): Promise<void> {
    const next = new Set(topics);
    const gone = [...this.wanted].filter((t) => !next.has(t));
    this.wanted = next;
    const c = this.client;
    if (c === undefined || !c.connected) return;
    if (gone.length > 0)
      await c.unsubscribeAsync(gone).catch((err: unknown) => this.log.warn("mqtt.unsubscribe_failed", { topics: gone.join(","), reason: errorMessage(err) }));
    await this.subscribeWanted(c);
  }

  async publishToIoTCore(topic: string, payload: Uint8Array | string): Promise<void> {
    const c = this.client;
    if (c === undefined || !this.ready) throw new PublishRefused("not connected to AWS IoT Core", "PUBLISH");
    const body = typeof payload === "string" ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const acked = c.publishAsync(topic, body, { qos: 1 }).then(
      () => undefined,
      (err: unknown) => {
        throw new PublishRefused(
          errorMessage(err),
          "PUBLISH",
          (err as { code?: unknown } | null | undefined)?.code === 135 ? `the device's IoT policy must allow iot:Publish on topic/${topic}` : undefined,
        );
      },
    );
    this.counts.publishes++;
    // Unacknowledged, a QoS 1 publish stays in the session store and goes again on reconnection.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((res) => {
      timer = setTimeout(res, ACK_WAIT_MS);
    });
    try {
      await Promise.race([acked, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ready = false;
    clearTimeout(this.retryTimer);
    const c = this.client;
    if (c) await c.endAsync(false).catch(() => undefined);
  }

  private async connected(sessionPresent: boolean | undefined): Promise<void> {
    const c = this.client!;
    this.upSince = performance.now();
    this.counts.connects++;
    this.log.info("mqtt.connected", {
      endpoint: `${this.id.settings.endpoint}:${this.id.settings.port}`,
      client_id: this.id.clientId,
      session_present: Boolean(sessionPresent),
    });
    try {
      // A session the broker kept has them already; one it did not needs them before any report.
      await this.subscribeWanted(c);
    } catch (err) {
      this.log.warn("mqtt.subscribe_failed", { reason: errorMessage(err) });
      return;
    }
    if (!c.connected) return;
    this.ready = true;
    this.events.ready();
  }

  private async subscribeWanted(c: MqttClient): Promise<void> {
    const topics = [...this.wanted];
    if (topics.length === 0) return;
    const granted = await c.subscribeAsync(topics, { qos: 1 });
    for (const g of granted) {
      if (g.qos >= 0x80) {
        this.once.say("ERROR", `sub|${g.topic}`, "mqtt.subscribe_refused", {
          topic: g.topic,
          reason_code: g.qos,
          fix: `the device's IoT policy must allow iot:Subscribe on topicfilter/${g.topic} and iot:Receive on topic/${g.topic}`,
        });
      }
    }
  }

  private failed(err: Error): void {
    const problem = connectProblem(err, this.id.settings);
    if (!this.once.say("ERROR", `err|${problem.reason}`, "mqtt.connect_failed", { ...problem })) {
      this.log.debug("mqtt.connect_failed", { reason: problem.reason });
    }
  }

  private dropped(): void {
    const was = this.ready;
    this.ready = false;
    if (was) {
      this.log.warn("mqtt.disconnected", { reason: "the connection closed" });
      this.events.lost();
    }
    if (this.closed || this.retryTimer) return;
    // Only a connection that held for a while starts the backoff over: one that is dropped at
    // once (a session taken over, a policy that refuses a subscription) keeps backing off.
    if (this.upSince !== undefined && performance.now() - this.upSince > this.backoff.stableMs) this.attempt = 0;
    this.upSince = undefined;
    const delay = reconnectDelay(this.backoff, this.attempt, this.random());
    this.attempt++;
    this.log.info("mqtt.reconnect_scheduled", { in_ms: delay, attempt: this.attempt });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.client?.reconnect();
    }, delay);
  }
}
