// A TCP relay between the agent and the broker on loopback, to cut one client's connection while
// the broker and everyone else stay up (what a flaky uplink does to a device).

import { type Server, type Socket, connect, createServer } from "node:net";

export interface Relay {
  port: number;
  /** Drops every relayed connection and refuses new ones until open(). */
  cut(): void;
  /** From now on the broker's bytes no longer reach the client (its acks and messages are lost), until cut(). */
  stall(): void;
  open(): void;
  close(): Promise<void>;
}

export async function relay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let refusing = false;
  let stalled = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stall() {
      stalled = true;
    },
    cut() {
      refusing = true;
      stalled = false;
      for (const s of sockets) s.destroy();
    },
    open() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
