// The metric catalogue: every standard metric of the report defined once, with its report block
// (long and short key names, zod schema), the collector that fills it, and the AWS IoT Device
// Defender Detect metrics it carries (name, kind, delta or gauge, and how its value is read from
// what the device saw and from a report). The report schema, the short-name table, datapoints and
// Detect's metric table all derive from here; adding a metric family is one entry.
// Sources: AWS IoT developer guide, "Device metrics document specification" and the device-side
// metric table (https://docs.aws.amazon.com/iot/latest/developerguide/detect-device-side-metrics.html);
// cloud-side metrics: detect-cloud-side-metrics.html.

import { isIPv4, isIPv6 } from "../util/ip.js";
import { z } from "zod";
import type { Listed } from "../collect/bounded.js";
import type { StandardName } from "../collect/collectors/index.js";
import { type ConnectionEntry, type PortEntry, compareConnections, comparePorts, ipOf } from "../collect/entries.js";

/** The kinds of Detect values (API MetricValue fields; custom metric types map onto them). */
export type ValueKind = "number" | "port-list" | "ip-list" | "number-list" | "string-list";

/** A Detect measurement (API MetricValue). */
export interface MetricValue {
  count?: number;
  cidrs?: string[];
  ports?: number[];
  number?: number;
  numbers?: number[];
  strings?: string[];
}

export interface DetectMetric<V, B> {
  name: string;
  kind: ValueKind;
  /** delta: the report carries the change since the previous report; gauge: the state now. */
  aggregation: "delta" | "gauge";
  /** The value from what the device saw (whole lists, never cut). */
  of(value: V): MetricValue;
  /** The value from a report (replay of reports, the device's own or another agent's). */
  fromReport(block: B): MetricValue | undefined;
}

/** Cuts a list for the report: at most the cap, the most important entries first (`total`: how many there were). */
export type Cut = <T>(list: string, listed: Listed<T>, order: (a: T, b: T) => number, key: (t: T) => string) => T[];

export interface Family<V, B> {
  /** The block's key in "metrics", and its short form. */
  short: string;
  /** Long → short names of the block's own keys (its entries' too). */
  keys: Readonly<Record<string, string>>;
  schema: z.ZodType<B>;
  /** Where its value comes from: a standard collector, or the traffic the ledger assigns. */
  input: StandardName | "traffic";
  block(value: V, cut: Cut): B;
  detect: ReadonlyArray<DetectMetric<V, B>>;
}

function family<V, B>(f: Family<V, B>): Family<V, B> {
  return f;
}

const count = z.int().min(0);

/** "ip:port" with IPv6 in brackets ("[2001:db8::1]:443"); the spec's "Number" type is a doc slip. */
export const endpoint = z.string().refine((s) => {
  const m = /^(?:\[([^\]]+)\]|([0-9.]+)):(\d{1,5})$/.exec(s);
  if (!m) return false;
  const ipOk = m[1] !== undefined ? isIPv6(m[1]) : isIPv4(m[2]!);
  return ipOk && Number(m[3]) <= 65535;
}, "must be ip:port, IPv6 in brackets");

const PortsBlock = z.strictObject({
  ports: z.array(z.strictObject({ port: z.int().min(1).max(65535), interface: z.string().min(1).optional() })).optional(),
  total: count.optional(),
});
type PortsBlock = z.infer<typeof PortsBlock>;

const uniquePorts = (ports: readonly { port: number }[]) => [...new Set(ports.map((p) => p.port))].sort((a, b) => a - b);
const portKey = (p: PortEntry) => String(p.port);

function listeningPorts(protocol: "tcp" | "udp", short: string) {
  return family<Listed<PortEntry>, PortsBlock>({
    short,
    keys: { ports: "pts", port: "pt", interface: "if", total: "t" },
    schema: PortsBlock,
    input: protocol === "tcp" ? "listening_tcp_ports" : "listening_udp_ports",
    block: (ports, cut) => ({ ports: cut(`listening_${protocol}_ports`, ports, comparePorts, portKey), total: ports.total }),
    detect: [
      {
        name: `aws:num-listening-${protocol}-ports`,
        kind: "number",
        aggregation: "gauge",
        of: (ports) => ({ count: ports.total }),
        fromReport: (b) => ({ count: b.total ?? b.ports?.length ?? 0 }),
      },
      {
        name: `aws:listening-${protocol}-ports`,
        kind: "port-list",
        aggregation: "gauge",
        of: (ports) => ({ ports: uniquePorts(ports.items) }),
        fromReport: (b) => (b.ports === undefined ? undefined : { ports: uniquePorts(b.ports) }),
      },
    ],
  });
}

const NetworkStatsBlock = z.strictObject({
  bytes_in: count.optional(),
  bytes_out: count.optional(),
  packets_in: count.optional(),
  packets_out: count.optional(),
});
type NetworkStatsBlock = z.infer<typeof NetworkStatsBlock>;

/** Traffic over an interval: network_stats, "Delta Metric, >= 0". */
export type Traffic = Required<NetworkStatsBlock>;

const trafficMetric = (field: keyof Traffic, name: string): DetectMetric<Traffic, NetworkStatsBlock> => ({
  name,
  kind: "number",
  aggregation: "delta",
  of: (t) => ({ count: t[field] }),
  fromReport: (b) => (b[field] === undefined ? undefined : { count: b[field] }),
});

const ConnectionsBlock = z.strictObject({
  established_connections: z
    .strictObject({
      connections: z
        .array(z.strictObject({ remote_addr: endpoint, local_port: z.int().min(0).max(65535).optional(), local_interface: z.string().min(1).optional() }))
        .optional(),
      total: count.optional(),
    })
    .optional(),
});
type ConnectionsBlock = z.infer<typeof ConnectionsBlock>;

const uniqueIps = (conns: readonly { remote_addr: string }[]) => [...new Set(conns.map((c) => ipOf(c.remote_addr)))].sort();

export const FAMILIES = {
  listening_tcp_ports: listeningPorts("tcp", "tp"),
  listening_udp_ports: listeningPorts("udp", "up"),
  network_stats: family<Traffic, NetworkStatsBlock>({
    short: "ns",
    keys: { bytes_in: "bi", bytes_out: "bo", packets_in: "pi", packets_out: "po" },
    schema: NetworkStatsBlock,
    input: "traffic",
    block: (t) => ({ ...t }),
    detect: [
      trafficMetric("bytes_in", "aws:all-bytes-in"),
      trafficMetric("bytes_out", "aws:all-bytes-out"),
      trafficMetric("packets_in", "aws:all-packets-in"),
      trafficMetric("packets_out", "aws:all-packets-out"),
    ],
  }),
  tcp_connections: family<Listed<ConnectionEntry>, ConnectionsBlock>({
    short: "tc",
    keys: { established_connections: "ec", connections: "cs", remote_addr: "rad", local_port: "lp", local_interface: "li", total: "t" },
    schema: ConnectionsBlock,
    input: "established_connections",
    block: (conns, cut) => ({
      established_connections: { connections: cut("connections", conns, compareConnections, (c) => ipOf(c.remote_addr)), total: conns.total },
    }),
    detect: [
      {
        name: "aws:num-established-tcp-connections",
        kind: "number",
        aggregation: "gauge",
        of: (conns) => ({ count: conns.total }),
        fromReport: (b) => {
          const ec = b.established_connections;
          return ec === undefined ? undefined : { count: ec.total ?? ec.connections?.length ?? 0 };
        },
      },
      {
        name: "aws:destination-ip-addresses",
        kind: "ip-list",
        aggregation: "gauge",
        of: (conns) => ({ cidrs: uniqueIps(conns.items) }),
        fromReport: (b) => {
          const cs = b.established_connections?.connections;
          return cs === undefined ? undefined : { cidrs: uniqueIps(cs) };
        },
      },
    ],
  }),
} as const;

export type FamilyName = keyof typeof FAMILIES;

type SchemaOf<F> = F extends Family<unknown, infer B> ? z.ZodOptional<z.ZodType<B>> : never;

/** The report's "metrics" block: one optional block per family. */
export const MetricsSchema = z.strictObject(
  Object.fromEntries(Object.entries(FAMILIES).map(([name, f]) => [name, f.schema.optional()])) as { [K in FamilyName]: SchemaOf<(typeof FAMILIES)[K]> },
);

/** The report's own keys, outside the families. */
const ENVELOPE_SHORT_NAMES = { header: "hed", report_id: "rid", version: "v", metrics: "met", custom_metrics: "cmet" } as const;

/** Long → short key names of the whole report (the spec's short-name table), from the families. */
export const SHORT_NAMES: Readonly<Record<string, string>> = (() => {
  const out: Record<string, string> = { ...ENVELOPE_SHORT_NAMES };
  const add = (long: string, short: string) => {
    if (out[long] !== undefined && out[long] !== short) throw new Error(`${long} has two short names: ${out[long]} and ${short}`);
    out[long] = short;
  };
  for (const [name, f] of Object.entries(FAMILIES)) {
    add(name, f.short);
    for (const [long, short] of Object.entries(f.keys)) add(long, short);
  }
  return out;
})();

/** Device-side Detect metrics: each from one family. */
export const DEVICE_METRICS: Readonly<Record<string, { kind: ValueKind; delta: boolean; family: FamilyName }>> = Object.fromEntries(
  Object.entries(FAMILIES).flatMap(([name, f]) =>
    (f.detect as ReadonlyArray<DetectMetric<never, never>>).map((d) => [
      d.name,
      { kind: d.kind, delta: d.aggregation === "delta", family: name as FamilyName },
    ]),
  ),
);

/** Computed by AWS IoT Core from broker traffic: a device cannot reproduce them. */
export const CLOUD_METRICS: Readonly<Record<string, ValueKind>> = {
  "aws:message-byte-size": "number",
  "aws:num-messages-sent": "number",
  "aws:num-messages-received": "number",
  "aws:num-authorization-failures": "number",
  "aws:num-connection-attempts": "number",
  "aws:num-disconnects": "number",
  "aws:disconnect-duration": "number",
  "aws:source-ip-address": "ip-list",
};

/** The cloud-side metrics that accept a TOPIC_FILTER dimension (developer guide, scoping-security-behavior). */
export const DIMENSION_METRICS: ReadonlySet<string> = new Set([
  "aws:num-messages-sent",
  "aws:num-messages-received",
  "aws:message-byte-size",
  "aws:source-ip-address",
  "aws:num-authorization-failures",
]);
