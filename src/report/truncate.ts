// Deterministic list truncation: keep the `cap` entries that come first by (rank, order), so
// two samples of the same state give the same report. O(n log cap) (../collect/bounded.ts).

import { smallestSorted } from "../collect/bounded.js";

/** The `cap` first items by `rank` (none: all alike) then `order`, sorted by `order`. */
export function cheapestFirst<T>(items: readonly T[], cap: number, rank: ((t: T) => number) | undefined, order: (a: T, b: T) => number): T[] {
  if (items.length <= cap) return [...items].sort(order);
  if (cap <= 0) return [];
  if (rank === undefined) return smallestSorted(items, cap, order);
  const ranked = items.map((item) => ({ item, r: rank(item) }));
  const cmp = (a: { item: T; r: number }, b: { item: T; r: number }) => a.r - b.r || order(a.item, b.item);
  return smallestSorted(ranked, cap, cmp)
    .map((x) => x.item)
    .sort(order);
}
