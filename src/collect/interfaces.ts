// Maps a local address to the name of its interface, from the proc root alone (no
// getifaddrs(), which would see the container's own namespace rather than the mounted host's).

import { parseIPv4 } from "../procfs/address.js";
import type { InterfaceAddress6 } from "../procfs/if-inet6.js";
import { RTF_GATEWAY, type Route } from "../procfs/net-route.js";

export const LOOPBACK_INTERFACE = "lo";

export class InterfaceResolver {
  private readonly cache = new Map<string, string | undefined>();
  private readonly local4: Set<string>;
  private readonly v6: Map<string, string>;

  constructor(
    private readonly routes: Route[],
    localIPv4: string[],
    ipv6: InterfaceAddress6[],
  ) {
    this.local4 = new Set(localIPv4);
    this.v6 = new Map();
    for (const a of ipv6) if (!this.v6.has(a.address)) this.v6.set(a.address, a.iface);
  }

  /** Interface of a local address; undefined for wildcard binds and addresses not on this host. */
  resolve(address: string): string | undefined {
    if (this.cache.has(address)) return this.cache.get(address);
    const iface = this.lookup(address);
    this.cache.set(address, iface);
    return iface;
  }

  private lookup(address: string): string | undefined {
    if (address === "0.0.0.0" || address === "::") return undefined;
    if (address.includes(":")) {
      // ::1 never appears with another interface; if_inet6 lists it under lo anyway.
      if (address === "::1") return LOOPBACK_INTERFACE;
      return this.v6.get(address);
    }
    const ip = parseIPv4(address);
    if (ip === undefined) return undefined;
    // All of 127.0.0.0/8 is loopback, and the main route table never lists it.
    if (ip >>> 24 === 127) return LOOPBACK_INTERFACE;
    if (!this.local4.has(address)) return undefined;
    return mostSpecificRoute(this.routes, ip)?.iface;
  }
}

/** Longest-prefix match, preferring directly connected (non-gateway) routes, then lower metric. */
export function mostSpecificRoute(routes: Route[], ip: number): Route | undefined {
  let best: Route | undefined;
  let bestScore = -1;
  for (const r of routes) {
    if ((ip & r.mask) >>> 0 !== r.destination) continue;
    const prefix = popcount(r.mask);
    const score = prefix * 2 + ((r.flags & RTF_GATEWAY) === 0 ? 1 : 0);
    if (score > bestScore || (score === bestScore && best !== undefined && r.metric < best.metric)) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v = (v & (v - 1)) >>> 0) n++;
  return n;
}
