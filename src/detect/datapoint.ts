// One report → one datapoint: the value of every metric it carries, keyed by Detect metric name
// (developer guide, "Device metrics document specification" and its metric table).

import type { Traffic } from "../agent/ledger.js";
import type { Sample } from "../agent/sample.js";
import type { Report } from "../report/schema.js";
import type { MetricValue } from "./profile.js";

export interface Datapoint {
  /** Report time: header.report_id (epoch ms). */
  time: number;
  values: Record<string, MetricValue>;
}

/** "10.0.0.5:443" → "10.0.0.5"; "[2001:db8::1]:443" → "2001:db8::1". */
export function ipOf(remoteAddr: string): string {
  const m = /^\[(.+)\]:\d+$/.exec(remoteAddr);
  return m ? m[1]! : remoteAddr.slice(0, remoteAddr.lastIndexOf(":"));
}

export function datapointOf(report: Report): Datapoint {
  const v: Record<string, MetricValue> = {};
  const m = report.metrics;
  const ns = m?.network_stats;
  if (ns?.bytes_in !== undefined) v["aws:all-bytes-in"] = { count: ns.bytes_in };
  if (ns?.bytes_out !== undefined) v["aws:all-bytes-out"] = { count: ns.bytes_out };
  if (ns?.packets_in !== undefined) v["aws:all-packets-in"] = { count: ns.packets_in };
  if (ns?.packets_out !== undefined) v["aws:all-packets-out"] = { count: ns.packets_out };
  for (const [block, proto] of [[m?.listening_tcp_ports, "tcp"], [m?.listening_udp_ports, "udp"]] as const) {
    if (block === undefined) continue;
    const ports = [...new Set((block.ports ?? []).map((p) => p.port))].sort((a, b) => a - b);
    v[`aws:num-listening-${proto}-ports`] = { count: block.total ?? ports.length };
    if (block.ports !== undefined) v[`aws:listening-${proto}-ports`] = { ports };
  }
  const ec = m?.tcp_connections?.established_connections;
  if (ec !== undefined) {
    v["aws:num-established-tcp-connections"] = { count: ec.total ?? ec.connections?.length ?? 0 };
    if (ec.connections !== undefined) v["aws:destination-ip-addresses"] = { cidrs: [...new Set(ec.connections.map((c) => ipOf(c.remote_addr)))].sort() };
  }
  for (const [name, [value]] of Object.entries(report.custom_metrics ?? {})) {
    if ("number" in value) v[name] = { number: value.number };
    else if ("number_list" in value) v[name] = { numbers: value.number_list };
    else if ("string_list" in value) v[name] = { strings: value.string_list };
    else if ("ip_list" in value) v[name] = { cidrs: value.ip_list };
  }
  return { time: report.header.report_id, values: v };
}

/**
 * One sample → one datapoint, from everything the device saw (not the report, whose lists may
 * be cut to fit): `traffic` is the traffic since the previous sample.
 */
export function datapointOfSample(sample: Sample, traffic: Traffic | undefined): Datapoint {
  const v: Record<string, MetricValue> = {};
  const snap = sample.snapshot;
  if (traffic) {
    v["aws:all-bytes-in"] = { count: traffic.bytes_in };
    v["aws:all-bytes-out"] = { count: traffic.bytes_out };
    v["aws:all-packets-in"] = { count: traffic.packets_in };
    v["aws:all-packets-out"] = { count: traffic.packets_out };
  }
  for (const [entries, proto] of [[snap.listeningTcpPorts, "tcp"], [snap.listeningUdpPorts, "udp"]] as const) {
    if (entries === undefined) continue;
    v[`aws:num-listening-${proto}-ports`] = { count: entries.length };
    v[`aws:listening-${proto}-ports`] = { ports: [...new Set(entries.map((p) => p.port))].sort((a, b) => a - b) };
  }
  const conns = snap.establishedConnections;
  if (conns !== undefined) {
    v["aws:num-established-tcp-connections"] = { count: conns.length };
    v["aws:destination-ip-addresses"] = { cidrs: [...new Set(conns.map((c) => ipOf(c.remote_addr)))].sort() };
  }
  for (const [name, [value]] of Object.entries(sample.customMetrics)) {
    if ("number" in value) v[name] = { number: value.number };
    else if ("number_list" in value) v[name] = { numbers: value.number_list };
    else if ("string_list" in value) v[name] = { strings: value.string_list };
    else if ("ip_list" in value) v[name] = { cidrs: value.ip_list };
  }
  return { time: sample.takenAt, values: v };
}

/** The single number a numeric MetricValue carries. */
export function numberOf(v: MetricValue | undefined): number | undefined {
  return v?.count ?? v?.number;
}
