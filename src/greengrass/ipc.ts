// The Greengrass IPC connection: one SDK client at a time. A disconnected SDK client cannot
// reconnect, so every reconnection builds a fresh client (capped exponential backoff) and runs
// the set-up again (configuration read, subscriptions). Set-up that fails on a live connection
// is retried on that connection; on a connection that is going away it is left to the reconnect.

import { statSync } from "node:fs";
import { CancelController } from "aws-crt/dist/common/cancel";
import { createClient } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc";
import type * as ipc from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";
import { type Logger, errorMessage } from "../util/log.js";

export type IpcClient = ipc.Client;

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Request-response operations have no timeout of their own in the SDK: bound each one. */
export async function withTimeout<T>(ms: number, what: string, op: (c: CancelController) => Promise<T>): Promise<T> {
  const controller = new CancelController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.cancel();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([op(controller), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Text of an SDK RpcError (with the service's error shape and message), or any error. */
export function rpcErrorText(err: unknown): string {
  const e = err as { description?: string; serviceError?: { message?: string; _errorCode?: string }; message?: string };
  if (e?.serviceError) {
    const shape = e.serviceError._errorCode ?? "ServiceError";
    return `${shape}: ${e.serviceError.message ?? e.description ?? "no message"}`;
  }
  return e?.description ?? errorMessage(err);
}

/** The modelled error shape of an SDK RpcError (UnauthorizedError, ServiceError, ...), if any. */
export function errorShape(err: unknown): string | undefined {
  return (err as { serviceError?: { _errorCode?: string } })?.serviceError?._errorCode;
}

/**
 * Which nucleus instance serves the socket: the nucleus deletes and re-creates its IPC socket file
 * when it starts (ipc/IPCEventStreamService.java startup() and close(), Platform
 * prepareDomainSocketFilepath / cleanupIpcBackingFile), so a new file means a restarted nucleus,
 * whose in-memory spool started empty.
 */
export function nucleusIdentity(socketPath: string): string {
  try {
    const s = statSync(socketPath, { bigint: true });
    return `${s.dev}:${s.ino}:${s.birthtimeNs || s.ctimeNs}`;
  } catch (err) {
    return `unknown:${(err as NodeJS.ErrnoException).code ?? "EIO"}`;
  }
}

/** Clients whose connection ended (disconnected or closed); the SDK's Client does not say. */
const ended = new WeakSet<IpcClient>();
const endings = new WeakMap<IpcClient, { promise: Promise<never>; reject: (e: Error) => void }>();

/** Whether operations on this client can still succeed. */
export function isAlive(client: IpcClient): boolean {
  return !ended.has(client);
}

function markEnded(client: IpcClient): void {
  if (ended.has(client)) return;
  ended.add(client);
  endings.get(client)?.reject(new Error("the IPC connection closed"));
}

/**
 * Rejects when the client's connection ends. The SDK never settles an operation whose
 * connection closed before its answer came (it waits for a message that cannot arrive), so every
 * wait on an operation is raced with this.
 */
export function whenEnded(client: IpcClient): Promise<never> {
  let e = endings.get(client);
  if (e === undefined) {
    let reject!: (err: Error) => void;
    const promise = new Promise<never>((_, rej) => (reject = rej));
    promise.catch(() => undefined);
    e = { promise, reject };
    endings.set(client, e);
    if (ended.has(client)) reject(new Error("the IPC connection closed"));
  }
  return e.promise;
}

/** A request-response operation on `client`, bounded by a timeout and by the connection's end. */
export function call<T>(client: IpcClient, ms: number, what: string, op: (c: CancelController) => Promise<T>): Promise<T> {
  return withTimeout(ms, what, (c) => Promise.race([op(c), whenEnded(client)]));
}

export interface ConnectionEvents {
  /** A client is connected; resolves when set-up is done, throws to have it retried. */
  onConnected(client: IpcClient, nucleus: string): Promise<void>;
  /** The connection is gone (a new client will follow). */
  onDisconnected(): void;
}

export class IpcConnection {
  private client: IpcClient | undefined;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private setUpTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private nucleusId: string | undefined;

  constructor(
    private readonly log: Logger,
    private readonly socketPath: string,
    private readonly events: ConnectionEvents,
    private readonly backoff: Backoff,
  ) {}

  /** The live client, or undefined while disconnected. */
  get current(): IpcClient | undefined {
    return this.client;
  }

  /** Identity of the nucleus behind the live client (see nucleusIdentity). */
  get nucleus(): string | undefined {
    return this.client === undefined ? undefined : this.nucleusId;
  }

  start(): void {
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.setUpTimer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      markEnded(c);
      await withTimeout(1000, "close", () => c.close()).catch(() => undefined);
    }
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    let client: IpcClient;
    try {
      client = createClient();
    } catch (err) {
      this.log.error("ipc.unavailable", { reason: rpcErrorText(err) });
      return this.retry();
    }
    let lost = false;
    client.on("disconnection", (ev) => {
      lost = true;
      markEnded(client);
      if (generation !== this.generation || this.closed) return;
      this.client = undefined;
      clearTimeout(this.setUpTimer);
      this.log.warn("ipc.disconnected", { reason: ev?.reason ? String(ev.reason.message ?? ev.reason) : "closed" });
      this.events.onDisconnected();
      this.retry();
    });
    try {
      await withTimeout(10_000, "connect", () => client.connect());
    } catch (err) {
      this.log.warn("ipc.connect_failed", { reason: rpcErrorText(err), attempt: this.attempt + 1 });
      markEnded(client);
      await client.close().catch(() => undefined);
      return this.retry();
    }
    if (this.closed || lost) {
      markEnded(client);
      if (this.closed) await client.close().catch(() => undefined);
      return;
    }
    this.client = client;
    this.nucleusId = nucleusIdentity(this.socketPath);
    this.attempt = 0;
    this.log.info("ipc.connected", {});
    await this.setUp(client, generation, 0);
  }

  /** Runs the set-up; if it fails while this connection stays up, tries again after a while. */
  private async setUp(client: IpcClient, generation: number, failures: number): Promise<void> {
    try {
      await this.events.onConnected(client, this.nucleusId!);
    } catch (err) {
      const live = generation === this.generation && !this.closed && this.client === client && isAlive(client);
      if (!live) return; // the reconnection takes over with a fresh client
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** failures);
      this.log.warn("ipc.setup_failed", { reason: rpcErrorText(err), retry_in_ms: delay });
      this.setUpTimer = setTimeout(() => void this.setUp(client, generation, failures + 1), delay);
    }
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    this.attempt++;
    this.generation++; // events of the old client no longer count
    this.log.info("ipc.reconnect_scheduled", { in_ms: delay, attempt: this.attempt });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }
}
