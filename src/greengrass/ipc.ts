// The Greengrass IPC connection: one SDK client at a time. A disconnected SDK client cannot
// reconnect, so every reconnection builds a fresh client (capped exponential backoff) and calls
// onConnected again to re-read the configuration and re-make the subscriptions.

import { CancelController } from "aws-crt/dist/common/cancel";
import { createClient } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc";
import type * as ipc from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";
import { type Logger, errorMessage } from "../util/log.js";

export type IpcClient = ipc.Client;

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Operations have no timeout of their own in the SDK: bound each one. */
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

/** Text of an SDK RpcError, or any error, without a stack trace. */
export function rpcErrorText(err: unknown): string {
  const e = err as { description?: string; serviceError?: { message?: string }; message?: string };
  if (e?.serviceError?.message) return `${e.description ?? "service error"}: ${e.serviceError.message}`;
  return e?.description ?? errorMessage(err);
}

// Closing an SDK client twice frees its native connection twice and corrupts the heap, and
// close() itself emits "disconnection": every close goes through here, once per client.
const closing = new WeakSet<IpcClient>();
/** Clients whose connection is gone (the SDK closes those itself). */
const lost = new WeakSet<IpcClient>();

async function closeOnce(client: IpcClient): Promise<void> {
  if (closing.has(client)) return;
  closing.add(client);
  await withTimeout(1000, "close", () => client.close()).catch(() => undefined);
}

export class IpcConnection {
  private client: IpcClient | undefined;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(
    private readonly log: Logger,
    private readonly onConnected: (client: IpcClient) => Promise<void>,
    private readonly backoff: Backoff,
  ) {}

  /** The live client, or undefined while disconnected. */
  get current(): IpcClient | undefined {
    return this.client;
  }

  start(): void {
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    if (c) await closeOnce(c);
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
    // On a lost connection the SDK closes the client itself (and its streams, in order);
    // closing it here too would race that and free native streams after their connection.
    client.on("disconnection", (ev) => {
      lost.add(client);
      if (closing.has(client) || generation !== this.generation || this.closed) return;
      this.client = undefined;
      this.log.warn("ipc.disconnected", { reason: ev?.reason ? String(ev.reason) : "closed" });
      this.retry();
    });
    try {
      await withTimeout(10_000, "connect", () => client.connect());
    } catch (err) {
      this.log.warn("ipc.connect_failed", { reason: rpcErrorText(err), attempt: this.attempt + 1 });
      await closeOnce(client); // no operation exists yet, so this close is safe
      return this.retry();
    }
    if (this.closed) return void closeOnce(client);
    this.client = client;
    this.attempt = 0;
    this.log.info("ipc.connected", {});
    await this.setUp(client, generation, 0);
  }

  /** Runs onConnected; if it fails while the connection stays up, tries again after a while. */
  private async setUp(client: IpcClient, generation: number, failures: number): Promise<void> {
    try {
      await this.onConnected(client);
    } catch (err) {
      if (generation !== this.generation || this.closed || lost.has(client)) return; // the reconnect takes over
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** failures);
      this.log.warn("ipc.setup_failed", { reason: rpcErrorText(err), retry_in_ms: delay });
      setTimeout(() => void this.setUp(client, generation, failures + 1), delay).unref();
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
