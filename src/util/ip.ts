// Whether a text is an IP address, as node:net's isIP answers (a property test holds the two
// equal, test/ip.test.ts), without loading node:net: that module brings Node's stream stack with
// it, ~10 ms of a one-shot command's start (README "Start-up").
//
// IPv4: four decimal numbers 0-255 without leading zeros. IPv6 (RFC 4291 2.2): eight groups of
// one to four hex digits, the last two of which may be written as IPv4; one "::" stands for one
// or more groups of zeros; a zone ("%eth0", RFC 4007 11.2) may follow.

/** One decimal part of an IPv4 address: "0" to "255", no leading zero. */
function isByte(s: string, from: number, to: number): boolean {
  const n = to - from;
  if (n < 1 || n > 3) return false;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v <= 255 && (n === 1 || s.charCodeAt(from) !== 48);
}

function isIPv4Between(s: string, from: number, to: number): boolean {
  let start = from;
  for (let part = 0; part < 4; part++) {
    let end = start;
    while (end < to && s.charCodeAt(end) !== 46) end++;
    if (!isByte(s, start, end)) return false;
    if (part < 3 && end >= to) return false;
    start = end + 1;
  }
  return start === to + 1;
}

export function isIPv4(s: string): boolean {
  return isIPv4Between(s, 0, s.length);
}

const isHexDigit = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** A zone: letters, digits, "-", "." and ":" (as node:net accepts it). */
const isZoneChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 58;

/**
 * Groups written in s[from, to) separated by ":" (empty when from === to); -1 when one is not
 * 1-4 hex digits. With `v4Last`, the last may be an IPv4 address, which counts as two.
 */
function groupsBetween(s: string, from: number, to: number, v4Last: boolean): number {
  if (from === to) return 0;
  let count = 0;
  let start = from;
  for (;;) {
    let end = start;
    while (end < to && s.charCodeAt(end) !== 58) end++;
    const last = end >= to;
    if (last && v4Last && s.slice(start, end).includes(".")) return isIPv4Between(s, start, end) ? count + 2 : -1;
    if (end - start < 1 || end - start > 4) return -1;
    for (let i = start; i < end; i++) if (!isHexDigit(s.charCodeAt(i))) return -1;
    count++;
    if (last) return count;
    start = end + 1;
  }
}

export function isIPv6(s: string): boolean {
  let end = s.indexOf("%");
  if (end >= 0) {
    if (end === s.length - 1) return false;
    for (let i = end + 1; i < s.length; i++) if (!isZoneChar(s.charCodeAt(i))) return false;
  } else {
    end = s.length;
  }
  const gap = s.indexOf("::");
  if (gap < 0 || gap >= end) return groupsBetween(s, 0, end, true) === 8;
  if (s.indexOf("::", gap + 1) >= 0 && s.indexOf("::", gap + 1) < end) return false;
  const head = groupsBetween(s, 0, gap, false);
  const tail = groupsBetween(s, gap + 2, end, true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

/** 4 or 6 for an IP address, 0 for any other text (node:net's isIP). */
export function ipVersion(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}
