// Waits on IPC operations: bounded by the connection's end, and leaving nothing behind on a
// connection that lives for weeks (one wait per report, 288 a day).

import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, it } from "node:test";
import { type IpcClient, call, connectionEnded, isAlive, untilEnded } from "../src/greengrass/ipc-wait.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Any object stands for a client here: the waits only key on its identity. */
const newClient = () => ({}) as unknown as IpcClient;

describe("waits on IPC operations", () => {
  it("a wait in progress fails as soon as its connection ends, and later operations fail at once", async () => {
    const client = newClient();
    const never = new Promise<string>(() => undefined); // the SDK's answer that cannot arrive
    const waiting = call(client, 60_000, "publish", () => never);
    connectionEnded(client);
    await assert.rejects(waiting, /the IPC connection closed/);
    assert.equal(isAlive(client), false);
    await assert.rejects(untilEnded(client, Promise.resolve("late")), /the IPC connection closed/);
  });

  it("an operation's answer wins while the connection lasts, and a timeout bounds it", async () => {
    const client = newClient();
    assert.equal(await call(client, 60_000, "get", () => Promise.resolve("answer")), "answer");
    await assert.rejects(
      call(client, 5, "publish", () => new Promise(() => undefined)),
      /publish timed out after 5 ms/,
    );
    assert.equal(isAlive(client), true);
  });

  it("a finished wait keeps nothing alive on its connection", async () => {
    const client = newClient();
    const answers: WeakRef<object>[] = [];
    for (let i = 0; i < 1000; i++) {
      const answer = { payload: new Uint8Array(1024) };
      answers.push(new WeakRef(answer));
      assert.equal(await call(client, 60_000, "publish", () => Promise.resolve(answer)), answer);
    }
    // WeakRefs are cleared after the job that dereferenced them: let it end, collect, look.
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setImmediate(r));
    const alive = answers.filter((a) => a.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of 1,000 answers still reachable from a live connection`);
    assert.equal(isAlive(client), true);
  });
});
