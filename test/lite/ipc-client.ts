// A bare Greengrass IPC client for the lite tests: run inside a component's cgroup, it connects
// by component name (ggipcd identifies the caller by its systemd unit, sd_pid_get_unit, and
// answers with its svcuid), sends each operation on its own stream and prints every frame it
// receives as one JSON line. It stays connected (subscriptions keep streaming) until killed.
//
//   node --import tsx test/lite/ipc-client.ts SOCKET COMPONENT '[{"op": "...", "payload": {...}}]'

import { createConnection } from "node:net";
import { Header, MessageType, decodeFrame, encodeFrame } from "../../src/greengrass/eventstream/connection.js";

const [socketPath, component, opsJson] = process.argv.slice(2) as [string, string, string];
const ops = JSON.parse(opsJson) as Array<{ op: string; payload: unknown }>;
const sock = createConnection(socketPath);
let rx = Buffer.alloc(0);
let nextStream = 1;

sock.on("connect", () => {
  sock.write(
    encodeFrame({ type: MessageType.Connect, headers: [Header.newString(":version", "0.1.0")], payload: JSON.stringify({ componentName: component }) }, 0),
  );
});
sock.on("data", (d: Buffer) => {
  rx = Buffer.concat([rx, d]);
  while (rx.length >= 4 && rx.length >= rx.readUInt32BE(0)) {
    const len = rx.readUInt32BE(0);
    const frame = decodeFrame(new Uint8Array(rx.subarray(0, len)));
    rx = rx.subarray(len);
    if ("error" in frame) throw new Error(frame.error);
    const m = frame.message;
    const headers = Object.fromEntries((m.headers ?? []).map((h) => [h.name, h.value]));
    const payload = Buffer.from(m.payload as ArrayBuffer).toString("utf8");
    process.stdout.write(`${JSON.stringify({ stream: frame.streamId, type: m.type, flags: m.flags, headers, payload })}\n`);
    if (m.type === MessageType.ConnectAck) sendAll();
  }
});
sock.on("close", () => process.exit(0));

function sendAll(): void {
  for (const { op, payload } of ops) {
    sock.write(encodeFrame({ type: MessageType.ApplicationMessage, payload: JSON.stringify(payload) }, nextStream++, [Header.newString("operation", op)]));
  }
}
