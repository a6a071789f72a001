// CIDR containment for IPv4 and IPv6 (in-cidr-set / not-in-cidr-set).

import { isIPv4, isIPv6 } from "../util/ip.js";
import { parseIPv4, parseIPv6 } from "../procfs/address.js";

/** An address as 16 bytes (IPv4 as ::ffff:a.b.c.d, so a v4 CIDR matches a mapped peer too). */
function bytes(ip: string): number[] | undefined {
  if (isIPv4(ip)) {
    const v = parseIPv4(ip)!;
    return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  }
  if (!isIPv6(ip)) return undefined;
  const w = parseIPv6(ip);
  if (!w) return undefined;
  return w.flatMap((x) => [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff]);
}

export interface Cidr {
  base: number[];
  bits: number;
}

/** "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const parts = text.split("/");
  if (parts.length > 2) return undefined;
  const [ip, len] = parts;
  const base = bytes(ip ?? "");
  if (!base) return undefined;
  const v4 = isIPv4(ip!);
  const max = v4 ? 32 : 128;
  const n = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(n >= 0 && n <= max)) return undefined;
  return { base, bits: v4 ? 96 + n : n };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const b = bytes(ip);
  if (!b) return false;
  let bits = c.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[i]! & mask) !== (c.base[i]! & mask)) return false;
  }
  return true;
}
