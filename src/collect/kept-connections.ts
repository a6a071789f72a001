// The established connections a sample keeps when no rank orders them (`collect`, a sample nobody
// judges): the first LIST_BUDGET the kernel lists, held as numbers, not as 10,000 entries with
// their text. A report takes the cap lowest by its order (compareConnections: the text of
// "ip:port", then the local port and interface); for IPv4 peers that order is found from the
// numbers alone, exactly (a property test holds it equal to sorting the entries,
// test/bounded.test.ts), so only the entries a report carries are ever written out. Asked for all
// its items (Detect, the history), it writes them all, as a list would have held them.

import { type IPv6Words, formatEndpoint, formatIPv4, formatIPv6 } from "../procfs/address.js";
import { lazy } from "../util/lazy.js";
import { BoundedList } from "./bounded.js";
import { type ConnectionEntry, compareConnections, compareStrings } from "./entries.js";

/**
 * Where each octet's text falls in the order of "a.b.c.d:" texts: the first three are followed by
 * ".", which sorts before every digit ("1." < "10."), the last by ":", which sorts after them
 * ("10:" < "1:"). Ranks taken by comparing exactly those texts.
 */
const octetRanks = lazy(() => {
  const rank = (after: string) => {
    const byText = Array.from({ length: 256 }, (_, i) => i).sort((a, b) => compareStrings(`${a}${after}`, `${b}${after}`));
    const r = new Uint8Array(256);
    byText.forEach((octet, i) => (r[octet] = i));
    return r;
  };
  return { inner: rank("."), last: rank(":") };
});

export class KeptConnections {
  total = 0;
  private n = 0;
  private readonly ipv4: Uint32Array;
  /** For an IPv4 peer: its place in the text order of "a.b.c.d:"; -1 for IPv6. */
  private readonly v4Key: Float64Array;
  private readonly ipv6: Uint32Array;
  private readonly remotePort: Uint16Array;
  private readonly localPort: Uint16Array;
  /** Index into `interfaces`. */
  private readonly iface: Uint16Array;
  private readonly interfaces: Array<string | undefined> = [undefined];
  private written: ConnectionEntry[] | undefined;
  private readonly text = new Map<number, string>();

  constructor(readonly cap: number) {
    this.ipv4 = new Uint32Array(cap);
    this.v4Key = new Float64Array(cap);
    this.ipv6 = new Uint32Array(cap * 4);
    this.remotePort = new Uint16Array(cap);
    this.localPort = new Uint16Array(cap);
    this.iface = new Uint16Array(cap);
  }

  /** Whether one more would be kept: build nothing for one that would not. */
  get full(): boolean {
    return this.n >= this.cap;
  }

  /** How many are kept (without writing them out). */
  get kept(): number {
    return this.n;
  }

  /** Counts a connection past the budget. */
  pass(): void {
    this.total++;
  }

  /** Keeps a connection: `kind` and `words` as SocketRow.remoteNumbers gives them. */
  add(kind: 4 | 6, words: IPv6Words, remotePort: number, localPort: number, localInterface: string | undefined): void {
    this.total++;
    const i = this.n++;
    if (kind === 4) {
      const w = words[0];
      const { inner, last } = octetRanks();
      this.ipv4[i] = w;
      this.v4Key[i] = ((inner[w >>> 24]! * 256 + inner[(w >>> 16) & 255]!) * 256 + inner[(w >>> 8) & 255]!) * 256 + last[w & 255]!;
    } else {
      this.v4Key[i] = -1;
      this.ipv6.set(words, i * 4);
    }
    this.remotePort[i] = remotePort;
    this.localPort[i] = localPort;
    let k = this.interfaces.indexOf(localInterface);
    if (k < 0) k = this.interfaces.push(localInterface) - 1;
    this.iface[i] = k;
  }

  /** Every kept connection as an entry, in the kernel's order. */
  get items(): readonly ConnectionEntry[] {
    this.written ??= Array.from({ length: this.n }, (_, i) => this.entry(i));
    return this.written;
  }

  /** The `cap` first by the report's order, sorted; only those are written out. */
  first(cap: number): ConnectionEntry[] {
    if (cap <= 0) return [];
    // IPv4 endpoints come first. Their keys, sorted by the typed array's own (native) sort, give
    // the cap-th lowest; only the entries at or below it can be in the answer, so only those are
    // compared in full (ties of the key included).
    const keys = this.v4Key.subarray(0, this.n).filter((k) => k >= 0);
    let candidates: number[];
    if (keys.length >= cap) {
      const threshold = keys.sort()[cap - 1]!;
      candidates = [];
      for (let i = 0; i < this.n; i++) {
        const k = this.v4Key[i]!;
        if (k >= 0 && k <= threshold) candidates.push(i);
      }
    } else {
      candidates = Array.from({ length: this.n }, (_, i) => i);
    }
    const list = new BoundedList<number>(cap, (a, b) => this.compare(a, b));
    for (const i of candidates) list.add(i);
    return list.done().items.map((i) => this.entry(i));
  }

  /** compareConnections of entries i and j, from the numbers where the text is not needed. */
  private compare(i: number, j: number): number {
    const ki = this.v4Key[i]!;
    const kj = this.v4Key[j]!;
    // An IPv4 endpoint starts with a digit, an IPv6 one with "[", which sorts after the digits.
    if (ki < 0 || kj < 0) return ki >= 0 ? -1 : kj >= 0 ? 1 : compareConnections(this.entry(i), this.entry(j));
    return (
      ki - kj ||
      compareStrings(String(this.remotePort[i]), String(this.remotePort[j])) ||
      this.localPort[i]! - this.localPort[j]! ||
      compareStrings(this.interfaces[this.iface[i]!] ?? "", this.interfaces[this.iface[j]!] ?? "")
    );
  }

  private entry(i: number): ConnectionEntry {
    const remote_addr = formatEndpoint(this.address(i), this.remotePort[i]!);
    const local_interface = this.interfaces[this.iface[i]!];
    return local_interface === undefined ? { remote_addr, local_port: this.localPort[i]! } : { remote_addr, local_port: this.localPort[i]!, local_interface };
  }

  private address(i: number): string {
    let t = this.text.get(i);
    if (t === undefined) {
      const v6 = this.ipv6;
      t = this.v4Key[i]! >= 0 ? formatIPv4(this.ipv4[i]!) : formatIPv6([v6[i * 4]!, v6[i * 4 + 1]!, v6[i * 4 + 2]!, v6[i * 4 + 3]!]);
      this.text.set(i, t);
    }
    return t;
  }
}
