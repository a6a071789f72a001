// Established TCP connections. IPv4 peers of dual-stack sockets appear in tcp6 as
// ::ffff:a.b.c.d; the parser renders those as plain IPv4. Read in the sample's one pass over the
// socket files (../socket-scan.ts): all are counted, at most LIST_BUDGET are kept.

import type { Listed } from "../bounded.js";
import { type Collector, collector } from "../collector.js";
import type { ConnectionEntry } from "../entries.js";

export type { ConnectionEntry };

export const establishedConnections: Collector<Listed<ConnectionEntry>> = collector({ collect: (ctx) => ctx.sockets().established });
