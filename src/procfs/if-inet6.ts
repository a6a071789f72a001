// Parser for /proc/net/if_inet6 (net/ipv6/addrconf.c if6_seq_show):
//   "%pi6 %02x %02x %02x %02x %8s" = address, ifindex, prefix length, scope, flags, name.
// Unlike /proc/net/tcp6, %pi6 prints the 16 address bytes in network order.

import { type IPv6Words, formatIPv6, hexAt } from "./address.js";
import type { ParseResult } from "./parse-result.js";

export interface InterfaceAddress6 {
  address: string;
  words: IPv6Words;
  ifindex: number;
  prefixLength: number;
  iface: string;
}

export function parseIfInet6(text: string): ParseResult<InterfaceAddress6> {
  const records: InterfaceAddress6[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const f = line.trim().split(/\s+/);
    const hex = f[0] ?? "";
    const words: IPv6Words = [0, 0, 0, 0];
    let ok = f.length >= 6 && hex.length === 32;
    for (let i = 0; ok && i < 4; i++) {
      const v = hexAt(hex, i * 8, 8);
      if (v < 0) ok = false;
      else words[i] = v;
    }
    const ifindex = ok ? hexAt(f[1]!, 0, f[1]!.length) : -1;
    const prefixLength = ok ? hexAt(f[2]!, 0, f[2]!.length) : -1;
    if (!ok || ifindex < 0 || prefixLength < 0 || prefixLength > 128) {
      skipped++;
      continue;
    }
    records.push({ address: formatIPv6(words), words, ifindex, prefixLength, iface: f[5]! });
  }
  return { records, skipped };
}
