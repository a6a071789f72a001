// Decoding of the addresses /proc/net prints.
//
// The kernel prints a socket's `__be32` address words with "%08X" as *native* unsigned
// integers (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock), so on a
// little-endian machine 127.0.0.1 reads "0100007F", and each of the four tcp6 words is
// byte-swapped the same way. Ports are printed after ntohs, so they need no swap.
// Byte order is a parameter so both orders can be tested on any host.

export type ByteOrder = "LE" | "BE";

/** The machine's byte order (what os.endianness() says, without loading node:os). */
export const HOST_BYTE_ORDER: ByteOrder = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "LE" : "BE";

const HEX: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

/** Value of `len` hex digits at `pos` in `s`, or -1 if any character is not a hex digit. */
export function hexAt(s: string, pos: number, len: number): number {
  let v = 0;
  for (let i = pos, end = pos + len; i < end; i++) {
    const c = s.charCodeAt(i);
    const d = c < 128 ? HEX[c]! : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** A 32-bit word as printed by the kernel → its four bytes in network order, as a big-endian number. */
export function wordToNetworkOrder(word: number, order: ByteOrder): number {
  if (order === "BE") return word >>> 0;
  return (((word & 0xff) << 24) | ((word & 0xff00) << 8) | ((word >>> 8) & 0xff00) | (word >>> 24)) >>> 0;
}

/** Dotted quad of an IPv4 address held as a big-endian (network order) number. */
export function formatIPv4(be: number): string {
  return `${OCTETS[be >>> 24]}.${OCTETS[(be >>> 16) & 0xff]}.${OCTETS[(be >>> 8) & 0xff]}.${OCTETS[be & 0xff]}`;
}

const OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Parses "a.b.c.d" into a network-order number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** An IPv6 address as four big-endian 32-bit words (network order). */
export type IPv6Words = [number, number, number, number];

/** Decodes the 32 hex digits of a tcp6/udp6 address at `pos`, or undefined if malformed. */
export function ipv6WordsAt(s: string, pos: number, order: ByteOrder): IPv6Words | undefined {
  const w: IPv6Words = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const v = hexAt(s, pos + i * 8, 8);
    if (v < 0) return undefined;
    w[i] = wordToNetworkOrder(v, order);
  }
  return w;
}

/** `::ffff:a.b.c.d` → the embedded IPv4 (network order), else undefined. */
export function mappedIPv4(w: IPv6Words): number | undefined {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff ? w[3] : undefined;
}

/** RFC 5952 text form: lower case, leading zeros dropped, the longest run (≥2) of zero groups as "::". */
export function formatIPv6(w: IPv6Words): string {
  // Hot path (one call per distinct tcp6 address): no intermediate arrays.
  const g0 = w[0] >>> 16,
    g1 = w[0] & 0xffff,
    g2 = w[1] >>> 16,
    g3 = w[1] & 0xffff;
  const g4 = w[2] >>> 16,
    g5 = w[2] & 0xffff,
    g6 = w[3] >>> 16,
    g7 = w[3] & 0xffff;
  const g = GROUPS;
  g[0] = g0;
  g[1] = g1;
  g[2] = g2;
  g[3] = g3;
  g[4] = g4;
  g[5] = g5;
  g[6] = g6;
  g[7] = g7;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += g[i]!.toString(16);
  }
  return out;
}

const GROUPS = new Int32Array(8);

/** Parses IPv6 text (with optional embedded IPv4 tail) into words, or undefined. */
export function parseIPv6(text: string): IPv6Words | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push(v4 >>> 16, v4 & 0xffff);
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const x of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(x)) return undefined;
      out.push(parseInt(x, 16));
    }
    return out;
  };
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (!left || !right) return undefined;
  const given = left.length + right.length + tail.length;
  let all: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    all = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
  } else {
    if (given !== 8) return undefined;
    all = [...left, ...tail];
  }
  const w: IPv6Words = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) w[i] = ((all[2 * i]! << 16) | all[2 * i + 1]!) >>> 0;
  return w;
}

/** Renders "ip:port" the way Device Defender reports it: IPv4 plain, IPv6 in brackets. */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}
