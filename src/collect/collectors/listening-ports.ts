// Listening TCP and UDP ports, unique by (port, interface): a daemon bound to both 0.0.0.0
// and :: is one entry, as the interface (none, for a wildcard) is the same.

import type { SocketFile } from "../../procfs/fs.js";
import { type Collector, collector } from "../collector.js";
import type { CollectContext } from "../context.js";
import { isListening } from "../listening.js";

export interface PortEntry {
  port: number;
  interface?: string;
}

function uniquePorts(ctx: CollectContext, files: SocketFile[], protocol: "tcp" | "udp"): PortEntry[] {
  const seen = new Map<string, PortEntry>();
  for (const file of files) {
    for (const r of ctx.sockets(file)) {
      if (!isListening(r, protocol) || r.localPort === 0) continue;
      const iface = ctx.interfaces.resolve(r.localAddress);
      const key = `${r.localPort}/${iface ?? ""}`;
      if (!seen.has(key)) seen.set(key, iface === undefined ? { port: r.localPort } : { port: r.localPort, interface: iface });
    }
  }
  return [...seen.values()];
}

export const listeningTcpPorts: Collector<PortEntry[]> = collector({ collect: (ctx) => uniquePorts(ctx, ["tcp", "tcp6"], "tcp") });

export const listeningUdpPorts: Collector<PortEntry[]> = collector({ collect: (ctx) => uniquePorts(ctx, ["udp", "udp6"], "udp") });
