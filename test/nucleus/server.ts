// A Greengrass nucleus test double: Greengrass IPC (event-stream RPC over a Unix socket) served
// to the real aws-iot-device-sdk-v2 client, as strict as the nucleus. Each rule cites the
// nucleus source it comes from (aws-greengrass/aws-greengrass-nucleus, src/main/java/com/aws/
// greengrass/, and aws-iot-device-sdk-java-v2's event-stream RPC server). The parts:
//   ./authorization.ts  accessControl policies and resource matching
//   ./config-store.ts   the configuration, deployments, update events
//   ./mqtt.ts           the core's MQTT connection: online/offline, spooler, topic rules
//   ./cloud.ts          the Device Defender service: report checks, throttling, answers
//
// Wire rules (ipc/IPCEventStreamService.java with the SDK's RpcServer): every frame carries int32
// :message-type, :message-flags, :stream-id; a Connect carries {"authToken": SVCUID} and is
// answered by a ConnectAck with the ConnectionAccepted flag, or without it (and the connection
// closed) for an unknown token; a stream's response precedes its events; a modelled error is an
// ApplicationError frame with TerminateStream, ":content-type: application/json",
// "service-model-type: aws.greengrass#<Shape>" and a body {message, _service, _message,
// _errorCode} (OperationContinuationHandler.sendModeledError, EventStreamOperationError).

import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { EventEmitter } from "node:events";
import { rmSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { MQTTPROXY, PUBSUB, authorize } from "./authorization.js";
import { DeviceDefenderService } from "./cloud.js";
import { ConfigStore, isObj } from "./config-store.js";
import { CoreMqtt, MqttRequestError, topicMatches, topicProblem } from "./mqtt.js";

const MT_APPLICATION = 0,
  MT_ERROR = 1,
  MT_PING = 2,
  MT_PING_RESPONSE = 3,
  MT_CONNECT = 4,
  MT_CONNECT_ACK = 5,
  MT_PROTOCOL_ERROR = 6;
const FLAG_CONNECTION_ACCEPTED = 1,
  FLAG_TERMINATE_STREAM = 2;

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

export interface DeploymentResult {
  deploymentId: string;
  status: "SUCCEEDED" | "FAILED_NO_STATE_CHANGE";
  message?: string;
}

export interface NucleusOptions {
  socketPath: string;
  svcuid: string;
  thingName: string;
  componentName: string;
  /** The recipe's ComponentConfiguration.DefaultConfiguration (accessControl included). */
  recipeDefaults: Json;
  /** A merge applied when the component is deployed, before it starts. */
  configuration?: Json;
  /** The nucleus option; off by default, as on a nucleus nobody configured. */
  interpolateComponentConfiguration?: boolean;
  /** The service throttles a thing's reports closer than this to its last accepted one (ms). */
  reportIntervalMs: number;
  /** The core's MQTT connection at start (default: online). */
  online?: boolean;
  /** How long a deployment waits for the component's validity report (CreateDeployment default 30 s). */
  validationTimeoutMs?: number;
  maxSpoolBytes?: number;
  /**
   * Operations this nucleus does not know, answered as any unknown operation is (a nucleus older
   * than the operation; nucleus lite's refusal is tested against lite itself).
   */
  unknownOperations?: readonly string[];
}

interface OpenStream {
  conn: Socket;
  id: number;
  operation: string;
  closed: boolean;
  onClose?: () => void;
}

class ConnectionState {
  authenticated = false;
  buffer: Buffer = Buffer.alloc(0);
  readonly streams = new Map<number, OpenStream>();
}

export class NucleusDouble extends EventEmitter {
  /** Messages the component handed over with PublishToIoTCore (taken into the spool). */
  readonly publishes: Publish[] = [];
  /** Messages that reached AWS IoT Core, in order. */
  readonly cloudMessages: Publish[] = [];
  readonly localPublishes: LocalPublish[] = [];
  readonly operations: string[] = [];
  /** Refusals, with the text the nucleus logs (AuthorizationHandler). */
  readonly authorizationFailures: string[] = [];
  readonly deployments: DeploymentResult[] = [];
  readonly connections = new Set<Socket>();
  readonly service: DeviceDefenderService;
  readonly mqtt: CoreMqtt;
  readonly config: ConfigStore;
  refuseConnections = false;
  /** Hold PublishToIoTCore answers (the message is spooled; the component hears nothing yet). */
  holdPublishResponses = false;
  /** Hold only the answers to publishes on the topics this says yes to (an IoT Core slow on one topic). */
  holdPublishesTo: ((topic: string) => boolean) | undefined;
  private held: Array<() => void> = [];
  private connectCount = 0;
  private restarts = 0;
  private deploymentCount = 0;
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);
  private readonly states = new Map<Socket, ConnectionState>();
  private server: Server | undefined;
  private validator: OpenStream | undefined;
  private pendingValidation: { deploymentId: string; resolve: (r: { status: string; message?: string }) => void } | undefined;

  constructor(readonly opts: NucleusOptions) {
    super();
    this.service = new DeviceDefenderService(opts.reportIntervalMs);
    this.mqtt = new CoreMqtt((topic, payload) => this.toCloud(topic, payload), opts.online ?? true, opts.maxSpoolBytes);
    this.config = new ConfigStore({
      defaults: opts.recipeDefaults,
      interpolate: opts.interpolateComponentConfiguration ?? false,
      variables: { "iot:thingName": opts.thingName },
    });
    if (opts.configuration) this.config.replace(this.config.resolve(opts.configuration, []));
  }

  get connects(): number {
    return this.connectCount;
  }

  get nucleusRestarts(): number {
    return this.restarts;
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
    this.server = undefined;
    rmSync(this.opts.socketPath, { force: true });
  }

  /**
   * A nucleus restart: connections cut, the in-memory spool and subscriptions lost, the IPC
   * socket file deleted and created anew (IPCEventStreamService close() / startup()).
   */
  async restart(): Promise<number> {
    await this.stop();
    const lost = this.mqtt.restart();
    this.pendingValidation = undefined;
    this.restarts++;
    await this.start();
    return lost;
  }

  /** The IPC connections drop (the socket file stays). */
  dropConnections(): void {
    for (const c of this.connections) c.destroy();
    this.connections.clear();
  }

  /** The core's MQTT connection goes down or comes back (the spool is then sent in order). */
  setOnline(online: boolean): void {
    this.mqtt.setOnline(online);
  }

  /** Lets held PublishToIoTCore answers go. */
  releaseHeld(): void {
    this.holdPublishResponses = false;
    this.holdPublishesTo = undefined;
    for (const r of this.held.splice(0)) r();
  }

  /**
   * A deployment that changes the component's configuration (KernelConfigResolver, then
   * DynamicComponentConfigurationValidator when the component subscribed to validations).
   */
  async deploy(update: { merge?: Json; reset?: string[] }): Promise<DeploymentResult> {
    const deploymentId = `deployment-${++this.deploymentCount}`;
    const next = this.config.resolve(update.merge ?? {}, update.reset ?? []);
    const proposed = next.toPOJO();
    const changed = JSON.stringify(proposed) !== JSON.stringify(this.config.snapshot());
    let result: DeploymentResult = { deploymentId, status: "SUCCEEDED" };
    if (changed && this.validator && !this.validator.closed) {
      const answer = await new Promise<{ status: string; message?: string }>((resolve) => {
        const timer = setTimeout(() => {
          this.pendingValidation = undefined;
          resolve({ status: "TIMEOUT" });
        }, this.opts.validationTimeoutMs ?? 30_000);
        this.pendingValidation = {
          deploymentId,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        this.sendEvent(this.validator!, "aws.greengrass#ValidateConfigurationUpdateEvents", {
          validateConfigurationUpdateEvent: { configuration: proposed, deploymentId },
        });
      });
      if (answer.status === "REJECTED") {
        result = {
          deploymentId,
          status: "FAILED_NO_STATE_CHANGE",
          message: `Components reported that their to-be-deployed configuration is invalid { name = ${this.opts.componentName}, message = ${answer.message ?? ""} }`,
        };
      } else if (answer.status === "TIMEOUT") {
        result = { deploymentId, status: "FAILED_NO_STATE_CHANGE", message: "Error while waiting for validation report for one or more components: timed out" };
      }
    }
    if (result.status === "SUCCEEDED" && changed) {
      const events = this.config.replace(next);
      for (const state of this.states.values()) {
        for (const s of state.streams.values()) {
          if (s.operation !== "SubscribeToConfigurationUpdate" || s.closed) continue;
          for (const keyPath of events) {
            this.sendEvent(s, "aws.greengrass#ConfigurationUpdateEvents", { configurationUpdateEvent: { componentName: this.opts.componentName, keyPath } });
          }
        }
      }
    }
    this.deployments.push(result);
    this.emit("deployment", result);
    return result;
  }

  /** A message from AWS IoT Core to the core's subscriptions. */
  deliverFromCloud(topicName: string, payload: Buffer): void {
    this.mqtt.fromCloud(topicName, payload);
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

  /** A message leaves the spool: AWS IoT Core takes it; Device Defender answers its reports. */
  private toCloud(topic: string, payload: Buffer): void {
    this.cloudMessages.push({ topicName: topic, qos: "1", payload, at: Date.now() });
    const answer = this.service.receive(topic, payload);
    this.emit("cloud", topic);
    if (answer) setImmediate(() => this.mqtt.fromCloud(answer.topic, answer.payload));
  }

  private accept(conn: Socket): void {
    const state = new ConnectionState();
    this.connections.add(conn);
    this.states.set(conn, state);
    conn.on("data", (chunk) => {
      state.buffer = state.buffer.length === 0 ? chunk : Buffer.concat([state.buffer, chunk]);
      while (state.buffer.length >= 4) {
        const total = state.buffer.readUInt32BE(0);
        if (state.buffer.length < total) break;
        const frame = state.buffer.subarray(0, total);
        state.buffer = state.buffer.subarray(total);
        let msg;
        try {
          msg = this.codec.decode(frame);
        } catch {
          this.protocolError(conn, "undecodable frame");
          return;
        }
        this.onFrame(conn, state, msg.headers, msg.body);
        if (conn.destroyed) return;
      }
    });
    conn.on("close", () => {
      this.connections.delete(conn);
      this.states.delete(conn);
      for (const s of state.streams.values()) this.endStream(s);
      state.streams.clear();
    });
    conn.on("error", () => undefined);
  }

  private protocolError(conn: Socket, reason: string): void {
    this.write(conn, { ":message-type": int(MT_PROTOCOL_ERROR), ":message-flags": int(0), ":stream-id": int(0) }, json({ message: reason }));
    conn.destroy();
  }

  private onFrame(conn: Socket, state: ConnectionState, headers: Headers, body: Uint8Array): void {
    const type = headers[":message-type"];
    const flags = headers[":message-flags"];
    const stream = headers[":stream-id"];
    if (type?.type !== "integer" || flags?.type !== "integer" || stream?.type !== "integer") {
      this.protocolError(conn, "frame without int32 :message-type, :message-flags and :stream-id");
      return;
    }
    const t = type.value as number;
    if (t === MT_CONNECT) {
      // ipcAuthenticationHandler: the payload's authToken must be a component's SVCUID.
      const token = safeJson(body)?.authToken;
      const ok = !this.refuseConnections && token === this.opts.svcuid && headers[":version"]?.value === "0.1.0";
      this.write(
        conn,
        { ":message-type": int(MT_CONNECT_ACK), ":message-flags": int(ok ? FLAG_CONNECTION_ACCEPTED : 0), ":stream-id": int(0) },
        new Uint8Array(0),
      );
      if (!ok) {
        conn.end();
        return;
      }
      state.authenticated = true;
      this.connectCount++;
      this.emit("connect");
      return;
    }
    if (t === MT_PING) {
      this.write(conn, { ":message-type": int(MT_PING_RESPONSE), ":message-flags": int(0), ":stream-id": int(0) }, new Uint8Array(0));
      return;
    }
    if (!state.authenticated) {
      this.protocolError(conn, "application message before an accepted connection");
      return;
    }
    if (t !== MT_APPLICATION) return;
    const id = stream.value as number;
    const operation = headers.operation?.value as string | undefined;
    const existing = state.streams.get(id);
    if (operation === undefined) {
      // A client's TerminateStream (OperationBase.close) ends its stream; nothing is answered.
      if (existing && ((flags.value as number) & FLAG_TERMINATE_STREAM) !== 0) {
        state.streams.delete(id);
        this.endStream(existing);
      }
      return;
    }
    const name = operation.replace("aws.greengrass#", "");
    const s: OpenStream = { conn, id, operation: name, closed: false };
    state.streams.set(id, s);
    this.operations.push(name);
    this.handle(s, safeJson(body) ?? {});
  }

  private endStream(s: OpenStream): void {
    if (s.closed) return;
    s.closed = true;
    s.onClose?.();
  }

  private respond(s: OpenStream, payload: Json, streaming = false): void {
    this.write(s.conn, answerHeaders(s.id, MT_APPLICATION, streaming ? 0 : FLAG_TERMINATE_STREAM, `aws.greengrass#${s.operation}Response`), json(payload));
    if (!streaming) this.forget(s);
  }

  private fail(s: OpenStream, shape: string, message: string): void {
    this.write(
      s.conn,
      answerHeaders(s.id, MT_ERROR, FLAG_TERMINATE_STREAM, `aws.greengrass#${shape}`),
      json({ message, _service: "aws.greengrass#GreengrassCoreIPC", _message: message, _errorCode: shape }),
    );
    this.forget(s);
  }

  private forget(s: OpenStream): void {
    this.states.get(s.conn)?.streams.delete(s.id);
    this.endStream(s);
  }

  private sendEvent(s: OpenStream, shape: string, payload: Json): void {
    if (s.closed) return;
    this.write(s.conn, answerHeaders(s.id, MT_APPLICATION, 0, shape), json(payload));
  }

  private authorized(s: OpenStream, destination: string, resource: string): boolean {
    const d = authorize(this.opts.componentName, this.config.snapshot(), destination, `aws.greengrass#${s.operation}`, resource);
    if (d.allowed) return true;
    this.authorizationFailures.push(d.detail!);
    this.emit("unauthorized", d.detail);
    // mqttproxy answers a constant text; pubsub the whole message (MqttProxyIPCAgent
    // UNAUTHORIZED_ERROR, PubSubIPCEventStreamAgent).
    this.fail(s, "UnauthorizedError", destination === MQTTPROXY ? "Not Authorized" : d.detail!);
    return false;
  }

  private handle(s: OpenStream, req: Json): void {
    switch (this.opts.unknownOperations?.includes(s.operation) ? "" : s.operation) {
      case "GetConfiguration": {
        // ConfigStoreIPCEventStreamAgent: only the component's own configuration is served here.
        const keyPath = Array.isArray(req.keyPath) ? (req.keyPath as string[]) : [];
        const value = this.config.get(keyPath);
        if (value === undefined) {
          this.fail(s, "ResourceNotFoundError", "Key not found");
          return;
        }
        this.respond(s, { componentName: this.opts.componentName, value });
        return;
      }
      case "SubscribeToConfigurationUpdate": {
        this.respond(s, {}, true);
        return;
      }
      case "SubscribeToValidateConfigurationUpdates": {
        // One validation listener per component; it goes when its stream closes.
        this.validator = s;
        s.onClose = () => {
          if (this.validator === s) this.validator = undefined;
        };
        this.respond(s, {}, true);
        return;
      }
      case "SendConfigurationValidityReport": {
        const report = isObj(req.configurationValidityReport) ? req.configurationValidityReport : {};
        if (report.deploymentId === undefined) {
          this.fail(s, "InvalidArgumentsError", "Cannot accept configuration validity report, the deployment ID provided was null");
          return;
        }
        const pending = this.pendingValidation;
        if (!pending || pending.deploymentId !== report.deploymentId) {
          this.fail(s, "InvalidArgumentsError", "Validation request either timed out or was never made");
          return;
        }
        this.pendingValidation = undefined;
        pending.resolve({ status: shown(report.status), message: report.message === undefined ? undefined : shown(report.message) });
        this.respond(s, {});
        return;
      }
      case "UpdateState": {
        this.respond(s, {});
        return;
      }
      case "PublishToTopic": {
        const topic = req.topic;
        if (typeof topic !== "string") {
          this.fail(s, "InvalidArgumentsError", "Topic is required");
          return;
        }
        if (!this.authorized(s, PUBSUB, topic)) return;
        const pm = req.publishMessage as Json | undefined;
        const message = (pm?.jsonMessage as Json | undefined)?.message ?? (pm?.binaryMessage as Json | undefined)?.message;
        this.localPublishes.push({ topic, message, at: Date.now() });
        this.emit("localPublish", topic);
        this.respond(s, {});
        return;
      }
      case "PublishToIoTCore": {
        // PublishToIoTCoreOperationHandler: topic, authorization, payload, QoS, then MqttClient.
        const topicName = req.topicName;
        if (typeof topicName !== "string") {
          this.fail(s, "InvalidArgumentsError", "Topic is required");
          return;
        }
        if (!this.authorized(s, MQTTPROXY, topicName)) return;
        if (req.payload === undefined) {
          this.fail(s, "InvalidArgumentsError", "Payload is required");
          return;
        }
        if (req.qos === undefined) {
          this.fail(s, "InvalidArgumentsError", "QoS is required");
          return;
        }
        if (req.qos !== "0" && req.qos !== "1") {
          this.fail(s, "InvalidArgumentsError", `Invalid QoS value: ${shown(req.qos)}`);
          return;
        }
        const payload = Buffer.from(req.payload as string, "base64");
        try {
          this.mqtt.publish(topicName, req.qos === "1" ? 1 : 0, payload);
        } catch (err) {
          if (err instanceof MqttRequestError) {
            this.fail(s, "ServiceError", `Publish to topic ${topicName} failed: ${err.message}`);
            return;
          }
          throw err;
        }
        const publish = { topicName, qos: req.qos as string, payload, at: Date.now() };
        this.publishes.push(publish);
        this.emit("publish", publish);
        if (this.holdPublishResponses || this.holdPublishesTo?.(topicName) === true) this.held.push(() => this.respond(s, {}));
        else this.respond(s, {});
        return;
      }
      case "SubscribeToIoTCore": {
        const topicName = req.topicName;
        if (typeof topicName !== "string") {
          this.fail(s, "InvalidArgumentsError", "Topic is required");
          return;
        }
        if (!this.authorized(s, MQTTPROXY, topicName)) return;
        if (req.qos !== "0" && req.qos !== "1") {
          this.fail(s, "InvalidArgumentsError", req.qos === undefined ? "QoS is required" : `Invalid QoS value: ${shown(req.qos)}`);
          return;
        }
        const problem = topicProblem(topicName, false);
        if (problem) {
          this.fail(s, "ServiceError", `Subscribe to topic ${topicName} failed with error ${problem}`);
          return;
        }
        // Answered once the MQTT connection is up; messages are forwarded only after the
        // response went out (SubscribeToIoTCoreOperationHandler, afterHandleRequest).
        const subscriber = {
          filter: topicName,
          deliver: (topic: string, payload: Buffer) =>
            this.sendEvent(s, "aws.greengrass#IoTCoreMessage", { message: { topicName: topic, payload: payload.toString("base64") } }),
        };
        s.onClose = () => this.mqtt.subscribers.delete(subscriber);
        void this.mqtt.whenOnline().then(() => {
          if (s.closed) return;
          this.respond(s, {}, true);
          this.mqtt.subscribers.add(subscriber);
          this.emit("subscribed", topicName);
        });
        return;
      }
      case "SubscribeToTopic": {
        this.respond(s, {}, true);
        return;
      }
      default: {
        this.fail(s, "ServiceError", `Operation ${s.operation} is not supported by Greengrass`);
        return;
      }
    }
  }

  private write(conn: Socket, headers: Headers, body: Uint8Array): void {
    if (!conn.destroyed) conn.write(this.codec.encode({ headers: headers as never, body }));
  }
}

export { topicMatches };

const int = (value: number) => ({ type: "integer", value });
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const answerHeaders = (id: number, type: number, flags: number, shape: string): Headers => ({
  ":message-type": int(type),
  ":message-flags": int(flags),
  ":stream-id": int(id),
  ":content-type": { type: "string", value: "application/json" },
  "service-model-type": { type: "string", value: shape },
});

/** A request's JSON body; a body of `null` is null (the callers treat it as none). */
function safeJson(body: Uint8Array): Json | null | undefined {
  try {
    return body.length === 0 ? undefined : (JSON.parse(new TextDecoder().decode(body)) as Json | null);
  } catch {
    return undefined;
  }
}

/** A value from a request, as the nucleus prints it: String() of whatever the client sent. */
function shown(v: unknown): string {
  return String(v);
}
