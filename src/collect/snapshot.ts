// One sample of the kernel's view of the network, before it becomes a report.

import type { InterfaceCounters } from "../procfs/net-dev.js";

export interface PortEntry {
  port: number;
  interface?: string;
}

export interface ConnectionEntry {
  remote_addr: string;
  local_port: number;
  local_interface?: string;
}

export interface Snapshot {
  /** Epoch ms when the sample was taken. */
  takenAt: number;
  listeningTcpPorts?: PortEntry[];
  listeningUdpPorts?: PortEntry[];
  establishedConnections?: ConnectionEntry[];
  interfaceCounters?: InterfaceCounters[];
  /** Malformed lines left out, per file (e.g. {"net/tcp": 2}). */
  skippedLines: Record<string, number>;
}
