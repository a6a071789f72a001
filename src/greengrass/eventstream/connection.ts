// A TypeScript event-stream RPC transport: the connection and stream objects that the Greengrass
// IPC client of aws-iot-device-sdk-v2 drives, with the same contract as aws-crt's native
// `eventstream.ClientConnection` / `ClientStream` (aws-crt-nodejs lib/native/eventstream.ts, which
// wraps aws-c-event-stream's RPC client), so the SDK's generated client, model and serialization
// run unchanged on platforms that have no aws-crt addon (32-bit ARM, musl) and without native code.
//
// Wire rules (aws-c-event-stream source/event_stream_rpc_client.c, include/.../event_stream_rpc.h):
// every frame carries int32 `:message-type`, `:message-flags` and `:stream-id`; stream ids are
// allocated 1, 2, 3, ... by the client; the first frame of a stream carries the string header
// `operation`; frames without the three headers, and application frames before an accepted
// ConnectAck, are protocol errors that end the connection; a frame with the TerminateStream
// flag ends its stream; a closed connection ends every open stream first, then reports the
// disconnection. Framing uses @smithy/eventstream-codec (prelude, headers, payload, CRC32s).

import { EventStreamCodec, Int64 } from "@smithy/eventstream-codec";
import type { MessageHeaders, MessageHeaderValue } from "@smithy/types";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { EventEmitter } from "node:events";
import { type Socket, createConnection } from "node:net";

export enum MessageType {
  ApplicationMessage = 0,
  ApplicationError = 1,
  Ping = 2,
  PingResponse = 3,
  Connect = 4,
  ConnectAck = 5,
  ProtocolError = 6,
  InternalError = 7,
}

export enum MessageFlags {
  None = 0,
  ConnectionAccepted = 1,
  TerminateStream = 2,
}

export enum HeaderType {
  BooleanTrue = 0,
  BooleanFalse = 1,
  Byte = 2,
  Int16 = 3,
  Int32 = 4,
  Int64 = 5,
  ByteBuffer = 6,
  String = 7,
  Timestamp = 8,
  UUID = 9,
}

/** aws-crt's CrtError: an error with the name of the failing condition. */
export class CrtError extends Error {
  readonly error_code: number | undefined;
  readonly error_name: string | undefined;
  constructor(error: string | number) {
    super(typeof error === "number" ? `aws-crt error ${error}` : error);
    this.error_code = typeof error === "number" ? error : undefined;
    this.error_name = typeof error === "string" ? error : undefined;
  }
}

/** A frame header, with the accessors the SDK calls (asString, asInt32, ...). */
export class Header {
  constructor(
    readonly name: string,
    readonly type: HeaderType,
    readonly value?: unknown,
  ) {}
  static newString(name: string, value: string): Header {
    return new Header(name, HeaderType.String, value);
  }
  static newInt32(name: string, value: number): Header {
    return new Header(name, HeaderType.Int32, value);
  }
  static newBoolean(name: string, value: boolean): Header {
    return new Header(name, value ? HeaderType.BooleanTrue : HeaderType.BooleanFalse);
  }
  private valueOfType(type: HeaderType): unknown {
    if (this.type !== type) throw new CrtError(`Header of type (${this.type}) cannot be converted to type (${type})`);
    return this.value;
  }
  asString(): string {
    return this.valueOfType(HeaderType.String) as string;
  }
  asInt32(): number {
    return this.valueOfType(HeaderType.Int32) as number;
  }
  asInt16(): number {
    return this.valueOfType(HeaderType.Int16) as number;
  }
  asByte(): number {
    return this.valueOfType(HeaderType.Byte) as number;
  }
  asBoolean(): boolean {
    if (this.type === HeaderType.BooleanTrue) return true;
    if (this.type === HeaderType.BooleanFalse) return false;
    throw new CrtError(`Header of type (${this.type}) cannot be converted to type (boolean)`);
  }
  asByteBuffer(): ArrayBuffer {
    return this.valueOfType(HeaderType.ByteBuffer) as ArrayBuffer;
  }
}

export type Payload = string | ArrayBuffer | ArrayBufferView;

export interface Message {
  type: MessageType;
  flags?: number;
  headers?: Header[];
  payload?: Payload;
}

interface CancelControllerLike {
  addListener(listener: () => void): (() => void) | undefined;
}

const RESERVED = new Set([":message-type", ":message-flags", ":stream-id"]);

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function toWireHeader(h: Header): MessageHeaderValue {
  switch (h.type) {
    case HeaderType.BooleanTrue:
      return { type: "boolean", value: true };
    case HeaderType.BooleanFalse:
      return { type: "boolean", value: false };
    case HeaderType.Byte:
      return { type: "byte", value: h.value as number };
    case HeaderType.Int16:
      return { type: "short", value: h.value as number };
    case HeaderType.Int32:
      return { type: "integer", value: h.value as number };
    case HeaderType.Int64:
      return { type: "long", value: Int64.fromNumber(Number(h.value)) };
    case HeaderType.ByteBuffer:
      return { type: "binary", value: new Uint8Array(h.value as ArrayBuffer) };
    case HeaderType.Timestamp:
      return { type: "timestamp", value: new Date(h.value as number) };
    case HeaderType.UUID:
      return { type: "uuid", value: String(h.value) };
    default:
      return { type: "string", value: String(h.value) };
  }
}

function fromWireHeader(name: string, v: MessageHeaderValue): Header {
  switch (v.type) {
    case "boolean":
      return new Header(name, v.value ? HeaderType.BooleanTrue : HeaderType.BooleanFalse);
    case "byte":
      return new Header(name, HeaderType.Byte, v.value);
    case "short":
      return new Header(name, HeaderType.Int16, v.value);
    case "integer":
      return new Header(name, HeaderType.Int32, v.value);
    case "long":
      return new Header(name, HeaderType.Int64, v.value.valueOf());
    case "binary":
      return new Header(name, HeaderType.ByteBuffer, v.value.buffer.slice(v.value.byteOffset, v.value.byteOffset + v.value.byteLength));
    case "timestamp":
      return new Header(name, HeaderType.Timestamp, v.value.getTime());
    case "uuid":
      return new Header(name, HeaderType.UUID, v.value);
    default:
      return new Header(name, HeaderType.String, v.value);
  }
}

function payloadBytes(p: Payload | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p === "string") return fromUtf8(p);
  if (p instanceof ArrayBuffer) return new Uint8Array(p);
  return new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
}

/** One frame's bytes: the message's own headers plus the three RPC headers. */
export function encodeFrame(message: Message, streamId: number, extra: Header[] = []): Uint8Array {
  const headers: MessageHeaders = {};
  for (const h of [...(message.headers ?? []), ...extra]) if (!RESERVED.has(h.name)) headers[h.name] = toWireHeader(h);
  headers[":message-type"] = { type: "integer", value: message.type };
  headers[":message-flags"] = { type: "integer", value: message.flags ?? 0 };
  headers[":stream-id"] = { type: "integer", value: streamId };
  return codec.encode({ headers, body: payloadBytes(message.payload) });
}

export interface DecodedFrame {
  streamId: number;
  message: Message;
}

/** Frame bytes → message, or a reason when the frame breaks the RPC rules. */
export function decodeFrame(bytes: Uint8Array): DecodedFrame | { error: string } {
  let decoded;
  try {
    decoded = codec.decode(bytes);
  } catch (err) {
    return { error: `undecodable frame: ${(err as Error).message}` };
  }
  const h = decoded.headers;
  const type = h[":message-type"];
  const flags = h[":message-flags"];
  const stream = h[":stream-id"];
  if (type?.type !== "integer" || flags?.type !== "integer" || stream?.type !== "integer") {
    return { error: "frame without int32 :message-type, :message-flags and :stream-id" };
  }
  const headers = Object.entries(h)
    .filter(([name]) => !RESERVED.has(name))
    .map(([name, v]) => fromWireHeader(name, v));
  const body = decoded.body;
  const payload = new Uint8Array(body).buffer;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the wire's int32 as it came, as aws-crt passes it on; route() compares it with the types it knows
  return { streamId: stream.value, message: { type: type.value, flags: flags.value, headers, payload } };
}

enum ConnectionState {
  None,
  Connecting,
  Connected,
  Disconnected,
  Closed,
}

export interface ConnectionConfig {
  hostName: string;
  port: number;
  socketOptions?: { domain?: number };
}

/** The largest frame accepted (aws-c-event-stream caps a message at 16 MiB). */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const SOCKET_DOMAIN_LOCAL = 2;

export class ClientConnection extends EventEmitter {
  static readonly DISCONNECTION = "disconnection";
  static readonly PROTOCOL_MESSAGE = "protocolMessage";

  private state = ConnectionState.None;
  private socket: Socket | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private lastStreamId = 0;
  private connectAccepted = false;
  private readonly streams = new Map<number, ClientStream>();
  private closeReason: string | undefined;

  private readonly config: ConnectionConfig;

  /** `config` is whatever the SDK's JavaScript passes, as with aws-crt's ClientConnection. */
  constructor(config: ConnectionConfig | undefined) {
    super();
    if (config === undefined) throw new CrtError("Invalid configuration passed to eventstream ClientConnection constructor");
    this.config = config;
  }

  connect(options?: { cancelController?: CancelControllerLike }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.state !== ConnectionState.None) {
        reject(new CrtError(`Event stream connection in a state (${this.state}) where connect() is not allowed.`));
        return;
      }
      this.state = ConnectionState.Connecting;
      let settled = false;
      let stopListening: (() => void) | undefined;
      const fail = (err: CrtError) => {
        if (settled) return;
        settled = true;
        stopListening?.();
        if (this.state === ConnectionState.Connecting) this.state = ConnectionState.Disconnected;
        reject(err);
      };
      if (options?.cancelController) {
        stopListening = options.cancelController.addListener(() => {
          fail(new CrtError("Event stream connection connect() cancelled by external request."));
          setImmediate(() => this.close());
        });
        if (stopListening === undefined) return; // already cancelled
      }
      const local = this.config.socketOptions?.domain === SOCKET_DOMAIN_LOCAL || this.config.port === 0;
      const socket = local ? createConnection({ path: this.config.hostName }) : createConnection({ host: this.config.hostName, port: this.config.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.once("connect", () => {
        if (settled) return;
        settled = true;
        stopListening?.();
        if (this.state !== ConnectionState.Connecting) return;
        this.state = ConnectionState.Connected;
        resolve();
      });
      socket.on("error", (err: NodeJS.ErrnoException) => {
        this.closeReason ??= socketErrorName(err);
        fail(new CrtError(socketErrorName(err)));
      });
      socket.on("data", (chunk: Buffer) => this.onData(chunk));
      socket.on("close", () => this.onSocketClosed());
    });
  }

  isConnected(): boolean {
    return this.state === ConnectionState.Connected;
  }

  sendProtocolMessage(options: { message: Message; cancelController?: CancelControllerLike }): Promise<void> {
    if (!this.isConnected()) {
      return Promise.reject(new CrtError(`Event stream connection in a state (${this.state}) where sending protocol messages is not allowed.`));
    }
    return this.write(encodeFrame(options.message, 0));
  }

  newStream(): ClientStream {
    if (!this.isConnected()) throw new CrtError(`Event stream connection in a state (${this.state}) where creating new streams is forbidden.`);
    return new ClientStream(this);
  }

  close(): void {
    if (this.state === ConnectionState.Closed) return;
    const wasOpen = this.state === ConnectionState.Connected;
    this.state = ConnectionState.Closed;
    this.closeReason ??= "AWS_ERROR_SUCCESS";
    if (wasOpen || this.socket) this.socket?.destroy();
  }

  /** @internal Called by a stream when it activates: a fresh id, registered for its answers. */
  allocateStream(stream: ClientStream): number {
    const id = ++this.lastStreamId;
    this.streams.set(id, stream);
    return id;
  }

  /** @internal */
  releaseStream(id: number): void {
    this.streams.delete(id);
  }

  /** @internal */
  write(bytes: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || socket.destroyed || !this.isConnected()) {
      return Promise.reject(new CrtError("AWS_ERROR_EVENT_STREAM_RPC_CONNECTION_CLOSED"));
    }
    return new Promise<void>((resolve, reject) => {
      socket.write(bytes, (err) => (err ? reject(new CrtError(socketErrorName(err))) : resolve()));
    });
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4 && this.state !== ConnectionState.Closed) {
      const total = this.pending.readUInt32BE(0);
      if (total < 16 || total > MAX_FRAME_BYTES) {
        this.protocolError(`frame length ${total} out of range`);
        return;
      }
      if (this.pending.length < total) return;
      const frame = this.pending.subarray(0, total);
      this.pending = this.pending.subarray(total);
      const decoded = decodeFrame(frame);
      if ("error" in decoded) {
        this.protocolError(decoded.error);
        return;
      }
      this.route(decoded);
    }
  }

  private route({ streamId, message }: DecodedFrame): void {
    if (streamId === 0) {
      if (message.type === MessageType.ConnectAck) this.connectAccepted = ((message.flags ?? 0) & MessageFlags.ConnectionAccepted) !== 0;
      else if (message.type === MessageType.Ping) {
        void this.write(encodeFrame({ type: MessageType.PingResponse, flags: 0, payload: message.payload }, 0)).catch(() => undefined);
      }
      process.nextTick(() => this.emit(ClientConnection.PROTOCOL_MESSAGE, { message }));
      if (message.type === MessageType.ProtocolError || message.type === MessageType.InternalError) {
        this.closeReason ??= "AWS_ERROR_EVENT_STREAM_RPC_PROTOCOL_ERROR";
        this.socket?.destroy();
      }
      return;
    }
    if (!this.connectAccepted) {
      this.protocolError("stream message before an accepted ConnectAck");
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return; // a stream this side already closed: its late answers are dropped
    stream.deliver(message);
  }

  private protocolError(reason: string): void {
    this.closeReason ??= `AWS_ERROR_EVENT_STREAM_RPC_PROTOCOL_ERROR: ${reason}`;
    this.socket?.destroy();
  }

  private onSocketClosed(): void {
    if (this.state !== ConnectionState.Closed) this.state = ConnectionState.Disconnected;
    // Streams end first, then the connection reports its disconnection (as aws-c-event-stream does).
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const s of open) s.end();
    const errorCode = this.closeReason === undefined ? "AWS_IO_SOCKET_CLOSED" : this.closeReason === "AWS_ERROR_SUCCESS" ? 0 : this.closeReason;
    process.nextTick(() => this.emit(ClientConnection.DISCONNECTION, { errorCode }));
  }
}

enum StreamState {
  None,
  Activating,
  Activated,
  Ended,
  Closed,
}

export class ClientStream extends EventEmitter {
  static readonly ENDED = "ended";
  static readonly MESSAGE = "message";

  private state = StreamState.None;
  private id = 0;

  constructor(private readonly connection: ClientConnection) {
    super();
  }

  activate(options: { operation: string; message: Message; cancelController?: CancelControllerLike }): Promise<void> {
    if (this.state !== StreamState.None) return Promise.reject(new CrtError(`Event stream in a state (${this.state}) where activation is not allowed.`));
    this.state = StreamState.Activating;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let stopListening: (() => void) | undefined;
      if (options.cancelController) {
        stopListening = options.cancelController.addListener(() => {
          if (settled) return;
          settled = true;
          reject(new CrtError("Event stream activate() cancelled by external request."));
          setImmediate(() => this.close());
        });
        if (stopListening === undefined) return;
      }
      this.id = this.connection.allocateStream(this);
      const bytes = encodeFrame(options.message, this.id, [Header.newString("operation", options.operation)]);
      this.connection.write(bytes).then(
        () => {
          stopListening?.();
          if (settled) return;
          settled = true;
          if (this.state === StreamState.Activating) this.state = StreamState.Activated;
          resolve();
        },
        (err: unknown) => {
          stopListening?.();
          if (settled) return;
          settled = true;
          if (this.state !== StreamState.Closed) this.state = StreamState.Ended;
          this.connection.releaseStream(this.id);
          reject(err instanceof Error ? err : new CrtError(String(err))); // write() rejects with a CrtError
        },
      );
    });
  }

  sendMessage(options: { message: Message; cancelController?: CancelControllerLike }): Promise<void> {
    if (this.state !== StreamState.Activated)
      return Promise.reject(new CrtError(`Event stream in a state (${this.state}) where sending messages is not allowed.`));
    return this.connection.write(encodeFrame(options.message, this.id));
  }

  isActive(): boolean {
    return this.state === StreamState.Activated;
  }

  close(): void {
    if (this.state === StreamState.Closed) return;
    this.state = StreamState.Closed;
    if (this.id !== 0) this.connection.releaseStream(this.id);
    this.removeAllListeners();
  }

  /** @internal A frame for this stream; TerminateStream ends it. */
  deliver(message: Message): void {
    if (this.state === StreamState.Closed) return;
    process.nextTick(() => this.emit(ClientStream.MESSAGE, { message }));
    if (((message.flags ?? 0) & MessageFlags.TerminateStream) !== 0) {
      this.connection.releaseStream(this.id);
      this.end();
    }
  }

  /** @internal The stream is over (terminated by the server, or its connection closed). */
  end(): void {
    if (this.state === StreamState.Closed || this.state === StreamState.Ended) return;
    this.state = StreamState.Ended;
    process.nextTick(() => this.emit(ClientStream.ENDED, {}));
  }
}

function socketErrorName(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT":
    case "ECONNREFUSED":
      return "AWS_IO_SOCKET_CONNECTION_REFUSED";
    case "EPIPE":
    case "ECONNRESET":
      return "AWS_IO_SOCKET_CLOSED";
    case "EACCES":
      return "AWS_IO_NO_PERMISSION";
    default:
      return `AWS_IO_SOCKET_ERROR (${err.code ?? err.message})`;
  }
}
