// The Device Defender service as the test double plays it: an independent reading of the
// metrics report spec (written from the AWS developer guide's tables, not from the component's
// zod schema), and the accepted/rejected answers the service sends.
// Spec: https://docs.aws.amazon.com/iot/latest/developerguide/detect-device-side-metrics.html

import { isIP } from "node:net";

const LONG: Record<string, string> = {
  hed: "header", rid: "report_id", v: "version", met: "metrics", cmet: "custom_metrics",
  tp: "listening_tcp_ports", up: "listening_udp_ports", pts: "ports", pt: "port", if: "interface",
  t: "total", ns: "network_stats", bi: "bytes_in", bo: "bytes_out", pi: "packets_in", po: "packets_out",
  tc: "tcp_connections", ec: "established_connections", cs: "connections", rad: "remote_addr",
  lp: "local_port", li: "local_interface",
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** Returns why a report is malformed, or undefined when the service would accept it. */
export function checkReport(doc: unknown): string | undefined {
  if (!isObj(doc)) return "not an object";
  const key = (o: Obj, long: string) => {
    const short = Object.keys(LONG).find((s) => LONG[s] === long)!;
    return long in o ? o[long] : o[short];
  };
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
      for (const p of (ports as unknown[]) ?? []) {
        if (!isObj(p)) return `${list} entry not an object`;
        const port = key(p, "port");
        if (!Number.isInteger(port) || (port as number) <= 0 || (port as number) > 65535) return `${list} port ${port}`;
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
      const cs = ec === undefined ? undefined : key(ec as Obj, "connections");
      for (const c of (cs as unknown[]) ?? []) {
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
