// The Device Defender service as the test double plays it: an independent reading of the
// metrics report spec (written from the AWS developer guide's tables, not from the component's
// zod schema), throttling, and the accepted/rejected answers the service sends.
// Spec: https://docs.aws.amazon.com/iot/latest/developerguide/detect-device-side-metrics.html
// "Devices are throttled to one metric report every 5 minutes" (developer guide, Sending metrics
// from devices); a throttled report is answered on /rejected with ErrorCode "Throttled".

import { decodeFirstSync, encode as cborEncode } from "cbor";
import { isIP } from "node:net";

const LONG: Record<string, string> = {
  hed: "header",
  rid: "report_id",
  v: "version",
  met: "metrics",
  cmet: "custom_metrics",
  tp: "listening_tcp_ports",
  up: "listening_udp_ports",
  pts: "ports",
  pt: "port",
  if: "interface",
  t: "total",
  ns: "network_stats",
  bi: "bytes_in",
  bo: "bytes_out",
  pi: "packets_in",
  po: "packets_out",
  tc: "tcp_connections",
  ec: "established_connections",
  cs: "connections",
  rad: "remote_addr",
  lp: "local_port",
  li: "local_interface",
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

const key = (o: Obj, long: string) => {
  const short = Object.keys(LONG).find((s) => LONG[s] === long)!;
  return long in o ? o[long] : o[short];
};

/** Returns why a report is malformed, or undefined when the service would accept it. */
export function checkReport(doc: unknown): string | undefined {
  if (!isObj(doc)) return "not an object";
  const header = key(doc, "header");
  if (!isObj(header)) return "header missing";
  const rid = key(header, "report_id");
  if (!Number.isSafeInteger(rid) || (rid as number) <= 0) return "report_id must be a positive integer";
  if (typeof key(header, "version") !== "string" || !/^\d+\.\d+$/.test(key(header, "version") as string)) return "bad version";
  const metrics = key(doc, "metrics");
  const custom = key(doc, "custom_metrics");
  if (metrics === undefined && custom === undefined) return "neither metrics nor custom_metrics";
  if (metrics !== undefined) {
    if (!isObj(metrics)) return "metrics not an object";
    for (const list of ["listening_tcp_ports", "listening_udp_ports"]) {
      const block = key(metrics, list);
      if (block === undefined) continue;
      if (!isObj(block)) return `${list} not an object`;
      const ports = key(block, "ports");
      if (ports !== undefined && !Array.isArray(ports)) return `${list}.ports not a list`;
      for (const p of (ports as unknown[] | undefined) ?? []) {
        if (!isObj(p)) return `${list} entry not an object`;
        const port = key(p, "port");
        if (!Number.isInteger(port) || (port as number) <= 0 || (port as number) > 65535) return `${list} port ${String(port)}`;
        const iface = key(p, "interface");
        if (iface !== undefined && typeof iface !== "string") return `${list} interface not a string`;
      }
      const total = key(block, "total");
      if (total !== undefined && !isCount(total)) return `${list}.total`;
    }
    const ns = key(metrics, "network_stats");
    if (ns !== undefined) {
      if (!isObj(ns)) return "network_stats not an object";
      for (const f of ["bytes_in", "bytes_out", "packets_in", "packets_out"]) {
        const v = key(ns, f);
        if (v !== undefined && !isCount(v)) return `network_stats.${f} must be >= 0`;
      }
    }
    const tc = key(metrics, "tcp_connections");
    if (tc !== undefined) {
      const ec = isObj(tc) ? key(tc, "established_connections") : undefined;
      if (!isObj(tc) || (ec !== undefined && !isObj(ec))) return "tcp_connections shape";
      const cs = ec === undefined ? undefined : key(ec, "connections");
      for (const c of (cs as unknown[] | undefined) ?? []) {
        if (!isObj(c)) return "connection not an object";
        const rad = key(c, "remote_addr");
        const m = typeof rad === "string" ? /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(rad) : null;
        if (!m || isIP(m[1] ?? m[2]!) === 0) return `remote_addr ${String(rad)}`;
        const lp = key(c, "local_port");
        if (lp !== undefined && !isCount(lp)) return "local_port";
      }
    }
  }
  if (custom !== undefined) {
    if (!isObj(custom)) return "custom_metrics not an object";
    for (const [name, value] of Object.entries(custom)) {
      if (!Array.isArray(value) || value.length !== 1 || !isObj(value[0])) return `custom metric ${name} must be a one-element array`;
      const keys = Object.keys(value[0]);
      if (keys.length !== 1 || !["number", "number_list", "string_list", "ip_list"].includes(keys[0]!)) return `custom metric ${name} value key`;
    }
  }
  return undefined;
}

export function accepted(thingName: string, reportId: unknown) {
  return { thingName, reportId, status: "ACCEPTED", timestamp: Date.now() };
}

export function rejected(thingName: string, reportId: unknown, code: string, message: string) {
  return { thingName, reportId, status: "REJECTED", statusDetails: { ErrorCode: code, ErrorMessage: message }, timestamp: Date.now() };
}

export interface ReceivedReport {
  thingName: string;
  format: string;
  reportId: unknown;
  outcome: "accepted" | "rejected";
  code?: string;
  problem?: string;
  at: number;
  /** The report's network_stats in long names, when it had any. */
  networkStats?: { bytes_in: number; bytes_out: number; packets_in: number; packets_out: number };
  doc: unknown;
}

export class DeviceDefenderService {
  readonly reports: ReceivedReport[] = [];
  private readonly lastAccepted = new Map<string, number>();

  constructor(
    /** Reports closer than this (ms) to the thing's previous accepted one are throttled. */
    public minIntervalMs: number,
  ) {}

  /** Handles a message on a Device Defender topic; returns the answer to publish, if any. */
  receive(topic: string, payload: Buffer): { topic: string; payload: Buffer } | undefined {
    const m = /^\$aws\/things\/([^/]+)\/defender\/metrics\/(json|cbor)$/.exec(topic);
    if (!m) return undefined;
    const [, thingName, format] = m as unknown as [string, string, string];
    let doc: unknown;
    try {
      doc = format === "json" ? JSON.parse(payload.toString("utf8")) : decodeFirstSync(payload);
    } catch {
      doc = undefined;
    }
    const header = isObj(doc) ? key(doc, "header") : undefined;
    const reportId = isObj(header) ? key(header, "report_id") : undefined;
    const problem = checkReport(doc);
    const now = Date.now();
    const last = this.lastAccepted.get(thingName);
    let answer: Obj;
    let record: ReceivedReport;
    if (problem) {
      answer = rejected(thingName, reportId, "InvalidPayload", "Malformed metrics report");
      record = { thingName, format, reportId, outcome: "rejected", code: "InvalidPayload", problem, at: now, doc };
    } else if (last !== undefined && now - last < this.minIntervalMs) {
      answer = rejected(thingName, reportId, "Throttled", "Report was throttled");
      record = { thingName, format, reportId, outcome: "rejected", code: "Throttled", at: now, doc };
    } else {
      answer = accepted(thingName, reportId);
      this.lastAccepted.set(thingName, now);
      const metrics = key(doc as Obj, "metrics");
      const ns = isObj(metrics) ? key(metrics, "network_stats") : undefined;
      const networkStats = isObj(ns)
        ? {
            bytes_in: Number(key(ns, "bytes_in") ?? 0),
            bytes_out: Number(key(ns, "bytes_out") ?? 0),
            packets_in: Number(key(ns, "packets_in") ?? 0),
            packets_out: Number(key(ns, "packets_out") ?? 0),
          }
        : undefined;
      record = { thingName, format, reportId, outcome: "accepted", at: now, networkStats, doc };
    }
    this.reports.push(record);
    const out = format === "json" ? Buffer.from(JSON.stringify(answer)) : cborEncode(answer);
    return { topic: `${topic}/${record.outcome}`, payload: out };
  }

  /** Sum of the network_stats of every accepted report. */
  acceptedTraffic() {
    const sum = { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0 };
    for (const r of this.reports) {
      if (r.outcome !== "accepted" || !r.networkStats) continue;
      for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += r.networkStats[k];
    }
    return sum;
  }
}
