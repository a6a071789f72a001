// The one collector table (as in node_exporter): a new metric is a new file and one line here.
// STANDARD collectors run on every sample and fill the report's metric families (their use is
// declared in src/metrics/catalogue.ts); SOURCES are what a CustomMetrics entry may name.

import type { Collector } from "../collector.js";
import { cpuUsage } from "./cpu-usage.js";
import { diskUsedPercent } from "./disk-used-percent.js";
import { establishedConnections } from "./established-connections.js";
import { fileSource } from "./file.js";
import { interfaceCounters } from "./interface-counters.js";
import { listeningProcessNames } from "./listening-process-names.js";
import { listeningTcpPorts, listeningUdpPorts } from "./listening-ports.js";
import { loadAverage1m } from "./load-average.js";
import { memoryAvailableBytes } from "./memory-available-bytes.js";
import { memoryUsedPercent } from "./memory-used-percent.js";
import { networkInterfaceNames } from "./network-interface-names.js";
import { openFileDescriptors } from "./open-file-descriptors.js";
import { processCount } from "./process-count.js";
import { uptimeSeconds } from "./uptime-seconds.js";

export const STANDARD = {
  listening_tcp_ports: listeningTcpPorts,
  listening_udp_ports: listeningUdpPorts,
  established_connections: establishedConnections,
  interface_counters: interfaceCounters,
} as const;

export const SOURCES = {
  cpu_usage: cpuUsage,
  memory_used_percent: memoryUsedPercent,
  memory_available_bytes: memoryAvailableBytes,
  load_average_1m: loadAverage1m,
  process_count: processCount,
  uptime_seconds: uptimeSeconds,
  open_file_descriptors: openFileDescriptors,
  disk_used_percent: diskUsedPercent,
  network_interface_names: networkInterfaceNames,
  listening_process_names: listeningProcessNames,
  file: fileSource,
} as const satisfies Record<string, Collector<unknown>>;

export type StandardName = keyof typeof STANDARD;
export type SourceName = keyof typeof SOURCES;

/** What a collector yields when it has a value. */
export type Yield<C> = C extends Collector<infer T> ? T : never;
