// Waiting on Greengrass IPC operations: each bounded by a timeout and by the end of its client's
// connection (the SDK itself bounds neither). Kept apart from the connection (./ipc.ts) so that
// it loads no SDK code.

import { CancelController } from "aws-crt/dist/common/cancel";
import type * as ipc from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";

export type IpcClient = ipc.Client;

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

/** Clients whose connection ended (disconnected or closed); the SDK's Client does not say. */
const ended = new WeakSet<IpcClient>();
/** Waits in progress on a client, woken when its connection ends. */
const waiting = new WeakMap<IpcClient, Set<(err: Error) => void>>();

/** Whether operations on this client can still succeed. */
export function isAlive(client: IpcClient): boolean {
  return !ended.has(client);
}

/** The client's connection ended: waits on it fail now, and operations fail from now on. */
export function connectionEnded(client: IpcClient): void {
  if (ended.has(client)) return;
  ended.add(client);
  for (const wake of waiting.get(client) ?? []) wake(new Error("the IPC connection closed"));
  waiting.delete(client);
}

/**
 * `op`, or a rejection as soon as the client's connection ends. The SDK never settles an
 * operation whose connection closed before its answer came (it waits for a message that cannot
 * arrive), so every wait on an operation goes through here. Nothing stays attached to the client
 * afterwards: racing every call with one long-lived promise would keep each call's reaction
 * alive for as long as the connection lasts (weeks of reports).
 */
export async function untilEnded<T>(client: IpcClient, op: Promise<T>): Promise<T> {
  if (ended.has(client)) {
    op.catch(() => undefined);
    throw new Error("the IPC connection closed");
  }
  let set = waiting.get(client);
  if (set === undefined) waiting.set(client, (set = new Set()));
  let wake!: (err: Error) => void;
  const ending = new Promise<never>((_, reject) => (wake = reject));
  set.add(wake);
  try {
    return await Promise.race([op, ending]);
  } finally {
    set.delete(wake);
  }
}

/** A request-response operation on `client`, bounded by a timeout and by the connection's end. */
export function call<T>(client: IpcClient, ms: number, what: string, op: (c: CancelController) => Promise<T>): Promise<T> {
  return withTimeout(ms, what, (c) => untilEnded(client, op(c)));
}
