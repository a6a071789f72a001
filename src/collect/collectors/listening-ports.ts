// Listening TCP and UDP ports, unique by (port, interface): a daemon bound to both 0.0.0.0
// and :: is one entry, as the interface (none, for a wildcard) is the same.

import type { SocketFile } from "../../procfs/fs.js";
import { type SocketRecord, isListening } from "../../procfs/net-sockets.js";
import type { CollectContext } from "../context.js";
import type { PortEntry } from "../snapshot.js";
import type { Collector } from "./index.js";

function uniquePorts(ctx: CollectContext, files: SocketFile[], listening: (r: SocketRecord) => boolean): PortEntry[] {
  const seen = new Map<string, PortEntry>();
  for (const file of files) {
    for (const r of ctx.sockets(file)) {
      if (!listening(r) || r.localPort === 0) continue;
      const iface = ctx.interfaces.resolve(r.localAddress);
      const key = `${r.localPort}/${iface ?? ""}`;
      if (!seen.has(key)) seen.set(key, iface === undefined ? { port: r.localPort } : { port: r.localPort, interface: iface });
    }
  }
  return [...seen.values()];
}

export const listeningTcpPorts: Collector = {
  name: "listening_tcp_ports",
  collect(ctx) {
    ctx.snapshot.listeningTcpPorts = uniquePorts(ctx, ["tcp", "tcp6"], (r) => isListening(r, "tcp"));
  },
};

export const listeningUdpPorts: Collector = {
  name: "listening_udp_ports",
  collect(ctx) {
    ctx.snapshot.listeningUdpPorts = uniquePorts(ctx, ["udp", "udp6"], (r) => isListening(r, "udp"));
  },
};
