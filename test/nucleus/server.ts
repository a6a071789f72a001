// A Greengrass nucleus test double: Greengrass IPC (event-stream RPC over a Unix socket) for the
// operations the component uses, served to the real aws-iot-device-sdk-v2 client. Framing is done
// by @smithy/eventstream-codec; the protocol rules (int32 :message-type/:message-flags/:stream-id,
// ConnectAck flag, service-model-type on every answer, stream response before events) follow the
// nucleus (aws-greengrass-nucleus IPCEventStreamService, OperationContinuationHandler).

import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { decodeFirstSync, encode as cborEncode } from "cbor";
import { EventEmitter } from "node:events";
import { type Server, type Socket, createServer } from "node:net";
import { accepted, checkReport, rejected } from "./cloud.js";

const MT_APPLICATION = 0, MT_ERROR = 1, MT_PING = 2, MT_PING_RESPONSE = 3, MT_CONNECT = 4, MT_CONNECT_ACK = 5;
const FLAG_CONNECTION_ACCEPTED = 1, FLAG_TERMINATE_STREAM = 2;

type Headers = Record<string, { type: string; value: unknown }>;
type Json = Record<string, unknown>;

export interface Publish {
  topicName: string;
  qos: string;
  payload: Buffer;
  at: number;
}

export interface LocalPublish {
  topic: string;
  message: unknown;
  at: number;
}

interface Stream {
  conn: Socket;
  id: number;
  kind: "iotcore" | "config" | "topic";
  filter: string;
}

export interface NucleusOptions {
  socketPath: string;
  svcuid: string;
  thingName: string;
  componentName: string;
  configuration: Json;
  /** Answer reports within this many ms of the previous one with Throttled. */
  throttleMs?: number;
}

export class NucleusDouble extends EventEmitter {
  readonly publishes: Publish[] = [];
  readonly localPublishes: LocalPublish[] = [];
  readonly operations: string[] = [];
  readonly connections = new Set<Socket>();
  configuration: Json;
  /** Publish errors to answer with, one per publish, before publishes succeed again. */
  publishFailures: Array<{ shape: string; message: string }> = [];
  refuseConnections = false;
  private connectCount = 0;
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);
  private readonly streams: Stream[] = [];
  private server: Server | undefined;
  private lastReportAt: number | undefined;

  constructor(readonly opts: NucleusOptions) {
    super();
    this.configuration = structuredClone(opts.configuration);
  }

  get connects(): number {
    return this.connectCount;
  }

  async start(): Promise<void> {
    this.server = createServer((conn) => this.accept(conn));
    await new Promise<void>((res, rej) => {
      this.server!.once("error", rej);
      this.server!.listen(this.opts.socketPath, res);
    });
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }

  /** Like a nucleus restart: every client connection is cut. */
  dropConnections(): void {
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    this.streams.length = 0;
  }

  /** A deployment's configuration merge: one update event per changed leaf, like the nucleus. */
  mergeConfiguration(merge: Json): void {
    const changed: string[][] = [];
    const walk = (target: Json, src: Json, path: string[]) => {
      for (const [k, v] of Object.entries(src)) {
        if (isPlainObject(v) && isPlainObject(target[k])) walk(target[k] as Json, v, [...path, k]);
        else if (JSON.stringify(target[k]) !== JSON.stringify(v)) {
          target[k] = structuredClone(v);
          changed.push([...path, k]);
        }
      }
    };
    walk(this.configuration, merge, []);
    for (const s of this.streams.filter((x) => x.kind === "config")) {
      for (const keyPath of changed) {
        this.sendEvent(s, "aws.greengrass#ConfigurationUpdateEvents", {
          configurationUpdateEvent: { componentName: this.opts.componentName, keyPath },
        });
      }
    }
  }

  /** Publishes a message to the component's IoT Core subscriptions, as the cloud would. */
  deliverFromCloud(topicName: string, payload: Buffer): void {
    for (const s of this.streams.filter((x) => x.kind === "iotcore" && topicMatches(x.filter, topicName))) {
      this.sendEvent(s, "aws.greengrass#IoTCoreMessage", { message: { topicName, payload: payload.toString("base64") } });
    }
  }

  async waitFor<T>(what: () => T | undefined | false, timeoutMs = 5000, label = "condition"): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = what();
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private accept(conn: Socket): void {
    this.connections.add(conn);
    let buf = Buffer.alloc(0);
    let connected = false;
    conn.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const total = buf.readUInt32BE(0);
        if (buf.length < total) break;
        const msg = this.codec.decode(buf.subarray(0, total));
        buf = buf.subarray(total);
        const type = msg.headers[":message-type"]?.value as number;
        if (type === MT_CONNECT) {
          const token = safeJson(msg.body)?.authToken;
          const ok = !this.refuseConnections && token === this.opts.svcuid && msg.headers[":version"]?.value === "0.1.0";
          this.write(conn, { ":message-type": int(MT_CONNECT_ACK), ":message-flags": int(ok ? FLAG_CONNECTION_ACCEPTED : 0), ":stream-id": int(0) }, new Uint8Array(0));
          if (!ok) {
            conn.end();
            return;
          }
          connected = true;
          this.connectCount++;
          this.emit("connect");
        } else if (type === MT_PING) {
          this.write(conn, { ":message-type": int(MT_PING_RESPONSE), ":message-flags": int(0), ":stream-id": int(0) }, new Uint8Array(0));
        } else if (connected && type === MT_APPLICATION) {
          this.onApplication(conn, msg.headers as Headers, msg.body);
        }
      }
    });
    conn.on("close", () => {
      this.connections.delete(conn);
      for (let i = this.streams.length - 1; i >= 0; i--) if (this.streams[i]!.conn === conn) this.streams.splice(i, 1);
    });
    conn.on("error", () => undefined);
  }

  private onApplication(conn: Socket, headers: Headers, body: Uint8Array): void {
    const id = headers[":stream-id"]!.value as number;
    const flags = headers[":message-flags"]!.value as number;
    const operation = headers.operation?.value as string | undefined;
    if (operation === undefined) {
      if (flags & FLAG_TERMINATE_STREAM) {
        const i = this.streams.findIndex((s) => s.conn === conn && s.id === id);
        if (i >= 0) this.streams.splice(i, 1);
      }
      return;
    }
    const name = operation.replace("aws.greengrass#", "");
    this.operations.push(name);
    const req = safeJson(body) ?? {};
    const respond = (payload: Json, stream = false) =>
      this.write(conn, answerHeaders(id, MT_APPLICATION, stream ? 0 : FLAG_TERMINATE_STREAM, `aws.greengrass#${name}Response`), json(payload));
    const fail = (shape: string, message: string) =>
      this.write(conn, answerHeaders(id, MT_ERROR, FLAG_TERMINATE_STREAM, `aws.greengrass#${shape}`), json({ message, _message: message, _errorCode: shape }));
    switch (name) {
      case "GetConfiguration": {
        let value: unknown = this.configuration;
        const keyPath = (req.keyPath as string[]) ?? [];
        for (const k of keyPath) value = isPlainObject(value) ? (value as Json)[k] : undefined;
        if (value === undefined) return fail("ResourceNotFoundError", `Key not found: ${keyPath.join("/")}`);
        // A leaf comes back wrapped in a one-key map, as the nucleus does.
        if (!isPlainObject(value) && keyPath.length > 0) value = { [keyPath[keyPath.length - 1]!]: value };
        return respond({ componentName: this.opts.componentName, value });
      }
      case "SubscribeToConfigurationUpdate":
        this.streams.push({ conn, id, kind: "config", filter: "" });
        return respond({}, true);
      case "SubscribeToIoTCore":
        this.streams.push({ conn, id, kind: "iotcore", filter: req.topicName as string });
        return respond({}, true);
      case "SubscribeToTopic":
        this.streams.push({ conn, id, kind: "topic", filter: req.topic as string });
        return respond({}, true);
      case "UpdateState":
        return respond({});
      case "PublishToTopic": {
        const pm = req.publishMessage as Json | undefined;
        const message = (pm?.jsonMessage as Json | undefined)?.message ?? (pm?.binaryMessage as Json | undefined)?.message;
        this.localPublishes.push({ topic: req.topic as string, message, at: Date.now() });
        this.emit("localPublish", req.topic);
        return respond({});
      }
      case "PublishToIoTCore": {
        if (req.payload === undefined) return fail("InvalidArgumentsError", "Payload is required");
        if (req.qos !== "0" && req.qos !== "1") return fail("InvalidArgumentsError", "QoS must be 0 or 1");
        const failure = this.publishFailures.shift();
        if (failure) return fail(failure.shape, failure.message);
        const publish = { topicName: req.topicName as string, qos: req.qos as string, payload: Buffer.from(req.payload as string, "base64"), at: Date.now() };
        this.publishes.push(publish);
        respond({});
        this.emit("publish", publish);
        setImmediate(() => this.playCloud(publish));
        return;
      }
      default:
        return fail("UnauthorizedError", `operation ${name} is not served by the test double`);
    }
  }

  /** What the Device Defender service answers on /accepted or /rejected. */
  private playCloud(p: Publish): void {
    const m = /^\$aws\/things\/([^/]+)\/defender\/metrics\/(json|cbor)$/.exec(p.topicName);
    if (!m) return;
    const format = m[2]!;
    let doc: unknown;
    try {
      doc = format === "json" ? JSON.parse(p.payload.toString("utf8")) : decodeFirstSync(p.payload);
    } catch {
      doc = undefined;
    }
    const header = (doc as Json | undefined)?.header ?? (doc as Json | undefined)?.hed;
    const reportId = (header as Json | undefined)?.report_id ?? (header as Json | undefined)?.rid;
    const problem = checkReport(doc);
    let answer: Json;
    let outcome: "accepted" | "rejected";
    if (problem) {
      answer = rejected(m[1]!, reportId, "InvalidPayload", "Malformed metrics report");
      outcome = "rejected";
    } else if (this.opts.throttleMs !== undefined && this.lastReportAt !== undefined && p.at - this.lastReportAt < this.opts.throttleMs) {
      answer = rejected(m[1]!, reportId, "Throttled", "Report was throttled");
      outcome = "rejected";
    } else {
      answer = accepted(m[1]!, reportId);
      outcome = "accepted";
      this.lastReportAt = p.at;
    }
    this.emit("cloudAnswer", { outcome, problem, reportId });
    const payload = format === "json" ? Buffer.from(JSON.stringify(answer)) : cborEncode(answer);
    this.deliverFromCloud(`${p.topicName}/${outcome}`, payload);
  }

  private sendEvent(s: Stream, shape: string, payload: Json): void {
    this.write(s.conn, answerHeaders(s.id, MT_APPLICATION, 0, shape), json(payload));
  }

  private write(conn: Socket, headers: Headers, body: Uint8Array): void {
    if (!conn.destroyed) conn.write(this.codec.encode({ headers: headers as never, body }));
  }
}

const int = (value: number) => ({ type: "integer", value });
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const answerHeaders = (id: number, type: number, flags: number, shape: string): Headers => ({
  ":message-type": int(type),
  ":message-flags": int(flags),
  ":stream-id": int(id),
  ":content-type": { type: "string", value: "application/json" },
  "service-model-type": { type: "string", value: shape },
});

function safeJson(body: Uint8Array): Json | undefined {
  try {
    return body.length === 0 ? undefined : JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
