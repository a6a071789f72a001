// Parser for /proc/net/route (net/ipv4/fib_trie.c fib_route_seq_show).
//
// "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT": addresses
// and masks are __be32 printed with "%08X" as native integers, like /proc/net/tcp.

import { type ByteOrder, HOST_BYTE_ORDER, hexAt, wordToNetworkOrder } from "./address.js";
import type { ParseResult } from "./parse-result.js";

export const RTF_GATEWAY = 0x0002;

export interface Route {
  iface: string;
  /** Network order (big-endian) numbers. */
  destination: number;
  gateway: number;
  mask: number;
  flags: number;
  metric: number;
}

export function parseNetRoute(text: string, byteOrder: ByteOrder = HOST_BYTE_ORDER): ParseResult<Route> {
  const records: Route[] = [];
  let skipped = 0;
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const f = line.trim().split(/\s+/);
    const hex8 = (s: string | undefined) => (s !== undefined && s.length === 8 ? hexAt(s, 0, 8) : -1);
    const dst = hex8(f[1]);
    const gw = hex8(f[2]);
    const mask = hex8(f[7]);
    const flags = f[3] !== undefined && /^[0-9A-Fa-f]{1,8}$/.test(f[3]) ? parseInt(f[3], 16) : -1;
    const metric = f[6] !== undefined && /^\d+$/.test(f[6]) ? Number(f[6]) : -1;
    if (f.length < 8 || dst < 0 || gw < 0 || mask < 0 || flags < 0 || metric < 0) {
      skipped++;
      continue;
    }
    records.push({
      iface: f[0]!,
      destination: wordToNetworkOrder(dst, byteOrder),
      gateway: wordToNetworkOrder(gw, byteOrder),
      mask: wordToNetworkOrder(mask, byteOrder),
      flags,
      metric,
    });
  }
  return { records, skipped };
}
