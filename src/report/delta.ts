// network_stats are deltas since the previous sample ("Delta Metric, >= 0" in the spec).

import type { CounterMap } from "../collect/counters.js";
import type { Traffic } from "../metrics/catalogue.js";

/**
 * Increase of one counter. A decrease means a reset (driver reload, interface re-created), so
 * the new value is all that was counted since; on a 32-bit kernel a decrease by more than half
 * the range is a wrap instead, and the modular difference is the traffic.
 */
export function counterDelta(prev: number | undefined, cur: number, counterBits: 32 | 64): number {
  if (prev === undefined) return cur;
  if (cur >= prev) return cur - prev;
  if (counterBits === 32 && prev - cur > 2 ** 31) return cur + 2 ** 32 - prev;
  return cur;
}

/**
 * Sum of per-interface deltas, excluded interfaces left out. `prev` undefined means there is no
 * baseline: the caller must then omit network_stats rather than send totals since boot.
 * An interface that appeared counts its whole value; one that vanished counts nothing.
 */
export function networkStatsDelta(prev: CounterMap, cur: CounterMap, excluded: ReadonlySet<string>, counterBits: 32 | 64): Traffic {
  const sum = { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0 };
  for (const [name, c] of Object.entries(cur)) {
    if (excluded.has(name)) continue;
    const p = prev[name];
    sum.bytes_in += counterDelta(p?.bi, c.bi, counterBits);
    sum.bytes_out += counterDelta(p?.bo, c.bo, counterBits);
    sum.packets_in += counterDelta(p?.pi, c.pi, counterBits);
    sum.packets_out += counterDelta(p?.po, c.po, counterBits);
  }
  return sum;
}

/** Counter width of this kernel's /proc/net/dev: `unsigned long`, so 32 bits on 32-bit kernels. */
export function defaultCounterBits(arch: string = process.arch): 32 | 64 {
  return arch === "arm" || arch === "ia32" || arch === "mips" || arch === "mipsel" || arch === "ppc" ? 32 : 64;
}
