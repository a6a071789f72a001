// The table of metric-family collectors (one file each, as in node_exporter): a new metric
// family is a new file and one line here.

import type { CollectContext } from "../context.js";
import { listeningTcpPorts, listeningUdpPorts } from "./listening-ports.js";
import { networkStats } from "./network-stats.js";
import { tcpConnections } from "./tcp-connections.js";

export interface Collector {
  /** The report's metric family it fills. */
  name: string;
  collect(ctx: CollectContext): void;
}

export const COLLECTORS: readonly Collector[] = [listeningTcpPorts, listeningUdpPorts, networkStats, tcpConnections];
