// Parser for /proc/net/{tcp,tcp6,udp,udp6}, one line at a time from bytes.
//
// Row format (net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c, net/ipv4/udp.c):
//   "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu ..."
//    sl   local      remote     st  tx:rx       tr:when    retr  uid tmo inode
// IPv6 rows print the address as four "%08X" words. Fields up to `st` are fixed width, so a row
// is read at fixed offsets instead of being split. A file under a connection storm holds
// hundreds of thousands of rows: a row costs nothing but its fields until a collector asks for
// its addresses as text (and the inode, only listening sockets need).

import { type ByteOrder, HOST_BYTE_ORDER, type IPv6Words, formatIPv4, formatIPv6, mappedIPv4, wordToNetworkOrder } from "./address.js";
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
const COLON = 58;
/** " %08X:%08X %02X:%08lX %08X %5u %8d %lu" after the state: at least 56 characters. */
const MIN_TAIL = 56;

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

/** Value of `len` hex digits at `pos`, or -1 if one is not a hex digit. */
function hexAt(b: Uint8Array, pos: number, len: number): number {
  let v = 0;
  for (let i = pos, end = pos + len; i < end; i++) {
    const d = HEX[b[i]!]!;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Whether `len` bytes at `pos` are hex digits (checked 4 at a time: one table read each). */
function isHex(b: Uint8Array, pos: number, len: number): boolean {
  for (let i = pos, end = pos + len; i < end; i += 4) if ((HEX[b[i]!]! | HEX[b[i + 1]!]! | HEX[b[i + 2]!]! | HEX[b[i + 3]!]!) < 0) return false;
  return true;
}

/**
 * One row of a socket file, read in place: `read` checks a line and takes its fixed fields; the
 * address text and the inode are worked out only when asked for (and only while the line's bytes
 * are still there, i.e. during the visit). One reader serves every row of a file.
 */
export class SocketRow {
  state = 0;
  localPort = 0;
  remotePort = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private local = 0;
  private remote = 0;
  private st = 0;
  private end = 0;
  private readonly v6: boolean;
  private readonly addrLen: number;
  private readonly order: ByteOrder;
  /** The last local addresses seen, newest first: their printed bytes and their text. */
  private readonly recentLocal: Array<{ bytes: Uint8Array; text: string }> = [];
  private readonly words: IPv6Words = [0, 0, 0, 0];

  constructor(
    readonly family: 4 | 6,
    byteOrder: ByteOrder = HOST_BYTE_ORDER,
  ) {
    this.v6 = family === 6;
    this.addrLen = this.v6 ? 32 : 8;
    this.order = byteOrder;
  }

  /**
   * Reads the line buf[start, end): "row", "skipped" when it is malformed or cut short, "none"
   * when its state is not in `states` (a valid row nobody asked for: not examined further).
   */
  read(buf: Uint8Array, start: number, end: number, states?: ReadonlySet<number>): "row" | "skipped" | "none" {
    let p = start;
    while (p < end && buf[p] === SPACE) p++;
    if (p === end) return "none"; // a blank line
    let colon = p;
    while (colon < end && buf[colon] !== COLON) colon++;
    if (colon >= end || colon === p) return "skipped";
    const endpointLen = this.addrLen + 5; // addr ":" port(4)
    const local = colon + 2;
    const remote = local + endpointLen + 1;
    const st = remote + endpointLen + 1;
    if (
      st + 2 > end ||
      buf[colon + 1] !== SPACE ||
      buf[local + this.addrLen] !== COLON ||
      buf[remote - 1] !== SPACE ||
      buf[remote + this.addrLen] !== COLON ||
      buf[st - 1] !== SPACE
    )
      return "skipped";
    const state = hexAt(buf, st, 2);
    if (state < 0) return "skipped";
    if (states !== undefined && !states.has(state)) return "none";
    // Everything after the state is printed at a minimum width: a shorter line was cut short.
    if (end - (st + 2) < MIN_TAIL) return "skipped";
    const localPort = hexAt(buf, local + this.addrLen + 1, 4);
    const remotePort = hexAt(buf, remote + this.addrLen + 1, 4);
    if (localPort < 0 || remotePort < 0 || !isHex(buf, local, this.addrLen) || !isHex(buf, remote, this.addrLen)) return "skipped";
    this.buf = buf;
    this.local = local;
    this.remote = remote;
    this.st = st;
    this.end = end;
    this.state = state;
    this.localPort = localPort;
    this.remotePort = remotePort;
    return "row";
  }

  /** Whether the remote address is all zeros (a UDP socket with no peer). */
  get remoteIsZero(): boolean {
    for (let i = 0; i < this.addrLen; i++) if (this.buf[this.remote + i] !== 48) return false;
    return true;
  }

  localAddress(): string {
    // A device has few local addresses, and rows of one come together: the last few are compared
    // byte for byte before anything is decoded.
    const b = this.buf;
    const n = this.addrLen;
    for (const c of this.recentLocal) {
      let same = true;
      for (let i = 0; same && i < n; i++) same = b[this.local + i] === c.bytes[i];
      if (same) return c.text;
    }
    const text = this.addressAt(this.local);
    // A copy: `slice` of a Node Buffer is a view of the reused read buffer.
    const bytes = new Uint8Array(n);
    bytes.set(b.subarray(this.local, this.local + n));
    this.recentLocal.unshift({ bytes, text });
    if (this.recentLocal.length > 4) this.recentLocal.pop();
    return text;
  }

  remoteAddress(): string {
    return this.addressAt(this.remote);
  }

  /**
   * The remote address as numbers, without making its text: 4 with `into[0]` the IPv4 address in
   * network order (an IPv4-mapped IPv6 one included, as remoteAddress renders it), or 6 with the
   * four network-order words of an IPv6 one.
   */
  remoteNumbers(into: IPv6Words): 4 | 6 {
    return this.numbersAt(this.remote, into);
  }

  /** The inode, the 7th field after `st`; -1 when the line is cut short. */
  inode(): number {
    const b = this.buf;
    let field = 0;
    let p = this.st + 2;
    while (p < this.end) {
      while (p < this.end && b[p] === SPACE) p++;
      if (p >= this.end) break;
      const start = p;
      while (p < this.end && b[p] !== SPACE) p++;
      if (++field === 6) {
        let v = 0;
        for (let i = start; i < p; i++) {
          const d = b[i]! - 48;
          if (d < 0 || d > 9) return -1;
          v = v * 10 + d;
        }
        return v;
      }
    }
    return -1;
  }

  private addressAt(pos: number): string {
    const w = this.words;
    return this.numbersAt(pos, w) === 4 ? formatIPv4(w[0]) : formatIPv6(w);
  }

  /** The address printed at `pos` as numbers (see remoteNumbers); IPv4-mapped IPv6 as IPv4. */
  private numbersAt(pos: number, into: IPv6Words): 4 | 6 {
    if (!this.v6) {
      into[0] = wordToNetworkOrder(hexAt(this.buf, pos, 8), this.order);
      return 4;
    }
    for (let i = 0; i < 4; i++) into[i] = wordToNetworkOrder(hexAt(this.buf, pos + i * 8, 8), this.order);
    const v4 = mappedIPv4(into);
    if (v4 === undefined) return 6;
    into[0] = v4;
    return 4;
  }
}

/** The rows of a whole file's text (fixtures and tests; the collectors stream, see ProcFS.scanSockets). */
export function parseNetSockets(text: string, opts: SocketParseOptions): ParseResult<SocketRecord> {
  const buf = Buffer.from(text, "latin1");
  const row = new SocketRow(opts.family, opts.byteOrder);
  const records: SocketRecord[] = [];
  let skipped = 0;
  let start = buf.indexOf(10) + 1; // the first line is the header
  if (start === 0) return { records, skipped };
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    const outcome = row.read(buf, start, end, opts.states);
    start = end + 1;
    if (outcome === "skipped") skipped++;
    else if (outcome === "row") {
      const inode = row.inode();
      if (inode < 0) {
        skipped++;
        continue;
      }
      records.push({
        family: opts.family,
        state: row.state,
        localAddress: row.localAddress(),
        localPort: row.localPort,
        remoteAddress: row.remoteAddress(),
        remotePort: row.remotePort,
        inode,
      });
    }
  }
  return { records, skipped };
}
