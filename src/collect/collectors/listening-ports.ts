// Listening TCP and UDP ports, unique by (port, interface): a daemon bound to both 0.0.0.0
// and :: is one entry, as the interface (none, for a wildcard) is the same. Read in the sample's
// one pass over the socket files (../socket-scan.ts), bounded however many there are.

import type { Listed } from "../bounded.js";
import { type Collector, collector } from "../collector.js";
import type { PortEntry } from "../entries.js";

export type { PortEntry };

export const listeningTcpPorts: Collector<Listed<PortEntry>> = collector({ collect: (ctx) => ctx.sockets().tcpListeners });

export const listeningUdpPorts: Collector<Listed<PortEntry>> = collector({ collect: (ctx) => ctx.sockets().udpListeners });
