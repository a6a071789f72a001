// Established TCP connections. IPv4 peers of dual-stack sockets appear in tcp6 as
// ::ffff:a.b.c.d; the parser already renders those as plain IPv4.

import { formatEndpoint } from "../../procfs/address.js";
import { TCP_ESTABLISHED } from "../../procfs/net-sockets.js";
import { type Collector, collector } from "../collector.js";

export interface ConnectionEntry {
  remote_addr: string;
  local_port: number;
  local_interface?: string;
}

export const establishedConnections: Collector<ConnectionEntry[]> = collector({
  collect(ctx) {
    const out: ConnectionEntry[] = [];
    for (const file of ["tcp", "tcp6"] as const) {
      for (const r of ctx.sockets(file)) {
        if (r.state !== TCP_ESTABLISHED) continue;
        const iface = ctx.interfaces.resolve(r.localAddress);
        const remote_addr = formatEndpoint(r.remoteAddress, r.remotePort);
        out.push(iface === undefined ? { remote_addr, local_port: r.localPort } : { remote_addr, local_port: r.localPort, local_interface: iface });
      }
    }
    return out;
  },
});
