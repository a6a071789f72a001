// Parser for /proc/net/{tcp,tcp6,udp,udp6}.
//
// Row format (net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c, net/ipv4/udp.c):
//   "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu ..."
//    sl   local      remote     st  tx:rx       tr:when    retr  uid tmo inode
// IPv6 rows print the address as four "%08X" words. Fields up to `st` are fixed width, so the
// hot path reads them at fixed offsets instead of splitting the line (the files hold tens of
// thousands of rows on a busy gateway).

import { type ByteOrder, HOST_BYTE_ORDER, formatIPv4, formatIPv6, hexAt, ipv6WordsAt, mappedIPv4, wordToNetworkOrder } from "./address.js";

import type { ParseResult } from "./parse-result.js";

/** TCP states as the kernel prints them (include/net/tcp_states.h). */
export const TCP_ESTABLISHED = 0x01;
export const TCP_LISTEN = 0x0a;

export interface SocketRecord {
  /** 4 for net/tcp and net/udp; 6 for the *6 files (even when the address is IPv4-mapped). */
  family: 4 | 6;
  state: number;
  /** Canonical text; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is rendered as plain IPv4. */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  inode: number;
}

export interface SocketParseOptions {
  family: 4 | 6;
  byteOrder?: ByteOrder;
  /** Keep only rows in these states (others are valid but uninteresting, not "skipped"). */
  states?: ReadonlySet<number>;
}

const SPACE = 32;
/** ::ffff:0:0/96 as printed: words 0, 0, 0x0000ffff (LE prints that word as "FFFF0000"). */
const MAPPED_PREFIX_LE = "0000000000000000FFFF0000";
const MAPPED_PREFIX_BE = "00000000000000000000FFFF";
const COLON = 58;

export function parseNetSockets(text: string, opts: SocketParseOptions): ParseResult<SocketRecord> {
  const order = opts.byteOrder ?? HOST_BYTE_ORDER;
  const v6 = opts.family === 6;
  const addrLen = v6 ? 32 : 8;
  const endpointLen = addrLen + 5; // addr ":" port(4)
  const states = opts.states;
  const records: SocketRecord[] = [];
  let skipped = 0;
  // Many rows share a local (and often a remote) address: memoise its text form.
  const names = new Map<string, string>();
  const v4names = new Map<number, string>();

  const v4Text = (word: number): string => {
    const key = word | 0; // int32 keys stay small integers; words above 2^31 would be boxed doubles
    let s = v4names.get(key);
    if (s === undefined) {
      s = formatIPv4(wordToNetworkOrder(word, order));
      v4names.set(key, s);
    }
    return s;
  };
  // Local addresses are few and repeat on every row, so they are memoised; remote addresses are
  // mostly distinct, and a cache of tens of thousands of them costs more than it saves.
  const addressText = (pos: number, memo: boolean): string | undefined => {
    if (!v6) {
      const word = hexAt(text, pos, 8);
      if (word < 0) return undefined;
      return memo ? v4Text(word) : formatIPv4(wordToNetworkOrder(word, order));
    }
    // IPv4-mapped (::ffff:a.b.c.d): the prefix words are the same in either byte order.
    if (text.startsWith(order === "LE" ? MAPPED_PREFIX_LE : MAPPED_PREFIX_BE, pos)) {
      const word = hexAt(text, pos + 24, 8);
      if (word < 0) return undefined;
      return memo ? v4Text(word) : formatIPv4(wordToNetworkOrder(word, order));
    }
    if (!memo) {
      const w = ipv6WordsAt(text, pos, order);
      if (!w) return undefined;
      const v4 = mappedIPv4(w); // lower-case hex spelling of the prefix
      return v4 === undefined ? formatIPv6(w) : formatIPv4(v4);
    }
    const key = text.slice(pos, pos + 32);
    let s = names.get(key);
    if (s === undefined) {
      const w = ipv6WordsAt(text, pos, order);
      if (!w) return undefined;
      const v4 = mappedIPv4(w); // lower-case hex spelling of the prefix
      s = v4 === undefined ? formatIPv6(w) : formatIPv4(v4);
      names.set(key, s);
    }
    return s;
  };

  let lineStart = text.indexOf("\n") + 1; // the first line is the header
  if (lineStart === 0) return { records, skipped };
  const n = text.length;
  while (lineStart < n) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = n;
    const line = lineStart;
    lineStart = lineEnd + 1;
    // Skip the padding before "sl", then expect digits and ':'.
    let p = line;
    while (p < lineEnd && text.charCodeAt(p) === SPACE) p++;
    if (p === lineEnd) continue; // blank line
    const colon = text.indexOf(":", p);
    if (colon < 0 || colon >= lineEnd || colon === p) {
      skipped++;
      continue;
    }
    const local = colon + 2;
    const remote = local + endpointLen + 1;
    const st = remote + endpointLen + 1;
    if (
      st + 2 > lineEnd ||
      text.charCodeAt(colon + 1) !== SPACE ||
      text.charCodeAt(local + addrLen) !== COLON ||
      text.charCodeAt(remote - 1) !== SPACE ||
      text.charCodeAt(remote + addrLen) !== COLON ||
      text.charCodeAt(st - 1) !== SPACE
    ) {
      skipped++;
      continue;
    }
    const state = hexAt(text, st, 2);
    if (state < 0) {
      skipped++;
      continue;
    }
    if (states !== undefined && !states.has(state)) continue;
    const localPort = hexAt(text, local + addrLen + 1, 4);
    const remotePort = hexAt(text, remote + addrLen + 1, 4);
    const localAddress = addressText(local, true);
    const remoteAddress = addressText(remote, false);
    const inode = inodeOf(text, st + 2, lineEnd);
    if (localPort < 0 || remotePort < 0 || localAddress === undefined || remoteAddress === undefined || inode < 0) {
      skipped++;
      continue;
    }
    records.push({ family: opts.family, state, localAddress, localPort, remoteAddress, remotePort, inode });
  }
  return { records, skipped };
}

/** The inode is the 7th whitespace-separated field after `st`; -1 when the line is cut short. */
function inodeOf(text: string, pos: number, end: number): number {
  let field = 0;
  let p = pos;
  while (p < end) {
    while (p < end && text.charCodeAt(p) === SPACE) p++;
    if (p >= end) break;
    const start = p;
    while (p < end && text.charCodeAt(p) !== SPACE) p++;
    if (++field === 6) {
      let v = 0;
      for (let i = start; i < p; i++) {
        const d = text.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return -1;
        v = v * 10 + d;
      }
      return v;
    }
  }
  return -1;
}
