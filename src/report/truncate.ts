// Deterministic list truncation: keep the `cap` entries that come first by (rank, order), so
// two samples of the same state give the same report. O(n log cap): 70,000 connections cost little.

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

/** The `cap` smallest items by `cmp`, sorted. */
export function smallestSorted<T>(items: readonly T[], cap: number, cmp: (a: T, b: T) => number): T[] {
  if (items.length <= cap) return [...items].sort(cmp);
  if (cap <= 0) return [];
  // Max-heap of the best `cap` so far; its root is the worst kept item.
  const heap: T[] = [];
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (cmp(heap[i]!, heap[parent]!) <= 0) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l]!, heap[m]!) > 0) m = l;
      if (r < heap.length && cmp(heap[r]!, heap[m]!) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const item of items) {
    if (heap.length < cap) {
      heap.push(item);
      up(heap.length - 1);
    } else if (cmp(item, heap[0]!) < 0) {
      heap[0] = item;
      down(0);
    }
  }
  return heap.sort(cmp);
}
