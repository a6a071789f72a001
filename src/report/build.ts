// Snapshot → report (pure). The caller supplies the previous counters and the report id.

import type { ConnectionEntry, PortEntry, Snapshot } from "../collect/snapshot.js";
import type { CustomMetrics, Metrics, NetworkStats, Report } from "./schema.js";
import { compareStrings, smallestSorted } from "./truncate.js";

export const REPORT_VERSION = "1.0";
export const DEFAULT_MAX_LIST_ENTRIES = 100;

export interface BuildOptions {
  reportId: number;
  maxListEntries: number;
  /** The traffic this report carries; undefined (no baseline) leaves network_stats out. */
  networkStats: Required<NetworkStats> | undefined;
  customMetrics?: CustomMetrics;
}

export interface Truncation {
  list: string;
  kept: number;
  total: number;
}

export interface BuiltReport {
  report: Report;
  truncations: Truncation[];
}

const comparePorts = (a: PortEntry, b: PortEntry) =>
  a.port - b.port || compareStrings(a.interface ?? "", b.interface ?? "");

const compareConnections = (a: ConnectionEntry, b: ConnectionEntry) =>
  compareStrings(a.remote_addr, b.remote_addr) ||
  a.local_port - b.local_port ||
  compareStrings(a.local_interface ?? "", b.local_interface ?? "");

/** "⌊seconds⌋ since epoch" reports are too coarse: ids are epoch ms, strictly increasing. */
export function nextReportId(lastReportId: number | undefined, now: number): number {
  return Math.max(Math.floor(now), (lastReportId ?? 0) + 1);
}

export function buildReport(snapshot: Snapshot, opts: BuildOptions): BuiltReport {
  const truncations: Truncation[] = [];
  const cap = <T>(list: string, items: T[], cmp: (a: T, b: T) => number): T[] => {
    const kept = smallestSorted(items, opts.maxListEntries, cmp);
    if (kept.length < items.length) truncations.push({ list, kept: kept.length, total: items.length });
    return kept;
  };
  const metrics: Metrics = {};
  if (snapshot.listeningTcpPorts) {
    const all = snapshot.listeningTcpPorts;
    metrics.listening_tcp_ports = { ports: cap("listening_tcp_ports", all, comparePorts), total: all.length };
  }
  if (snapshot.listeningUdpPorts) {
    const all = snapshot.listeningUdpPorts;
    metrics.listening_udp_ports = { ports: cap("listening_udp_ports", all, comparePorts), total: all.length };
  }
  if (opts.networkStats) metrics.network_stats = { ...opts.networkStats };
  if (snapshot.establishedConnections) {
    const all = snapshot.establishedConnections;
    metrics.tcp_connections = {
      established_connections: { connections: cap("connections", all, compareConnections), total: all.length },
    };
  }
  const report: Report = { header: { report_id: opts.reportId, version: REPORT_VERSION }, metrics };
  if (opts.customMetrics && Object.keys(opts.customMetrics).length > 0) {
    report.custom_metrics = capCustomMetrics(opts.customMetrics, opts.maxListEntries, truncations);
  }
  return { report, truncations };
}

function capCustomMetrics(custom: CustomMetrics, max: number, truncations: Truncation[]): CustomMetrics {
  const out: CustomMetrics = {};
  for (const [name, [value]] of Object.entries(custom)) {
    const key = Object.keys(value)[0] as keyof typeof value;
    const list = (value as Record<string, unknown>)[key];
    if (Array.isArray(list) && list.length > max) {
      truncations.push({ list: `custom_metrics.${name}`, kept: max, total: list.length });
      out[name] = [{ [key]: list.slice(0, max) } as CustomMetrics[string][0]];
    } else {
      out[name] = [value];
    }
  }
  return out;
}
