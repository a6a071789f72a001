// Deterministic list truncation: the report keeps the `cap` smallest entries in a fixed order,
// so two samples of the same state give the same report. `total` keeps the true count.

/** The `cap` smallest items by `cmp`, sorted. O(n log cap), so 70,000 connections cost little. */
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

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
