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
    if (c) await withTimeout(1000, "close", () => c.close()).catch(() => undefined);
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
    client.on("disconnection", (ev) => {
      if (generation !== this.generation || this.closed) return;
      this.client = undefined;
      this.log.warn("ipc.disconnected", { reason: ev?.reason ? String(ev.reason) : "closed" });
      void client.close().catch(() => undefined);
      this.retry();
    });
    try {
      await withTimeout(10_000, "connect", () => client.connect());
      if (this.closed) return void client.close();
      this.client = client;
      this.attempt = 0;
      this.log.info("ipc.connected", {});
      await this.onConnected(client);
    } catch (err) {
      if (generation !== this.generation) return;
      this.log.warn("ipc.connect_failed", { reason: rpcErrorText(err), attempt: this.attempt + 1 });
      this.client = undefined;
      await client.close().catch(() => undefined);
      this.retry();
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
