// A list that keeps at most `cap` items, the first ones by a comparison, and counts every item it
// was offered: what a collector keeps of a socket file whatever its size. A max-heap holds the
// kept items, its root the one that goes first when a better item comes; an item worse than the
// root costs one comparison.

/** A list cut to what was kept, with the true count. */
export interface Listed<T> {
  /** The kept items, in the order their producer says (BoundedList: sorted by its comparison). */
  readonly items: readonly T[];
  /** How many items there were. */
  readonly total: number;
  /**
   * The `cap` first items by the report's order, sorted, for a list that finds them without
   * writing out the rest (./kept-connections.ts); a list without it is cut from `items`.
   */
  first?(cap: number): T[];
  /** How many items it holds, for a list that can say so without writing them out. */
  readonly kept?: number;
}

export class BoundedList<T> {
  private readonly heap: T[] = [];
  total = 0;

  constructor(
    readonly cap: number,
    private readonly cmp: (a: T, b: T) => number,
  ) {}

  add(item: T): void {
    this.total++;
    const heap = this.heap;
    if (heap.length < this.cap) {
      heap.push(item);
      this.up(heap.length - 1);
    } else if (this.cap > 0 && this.cmp(item, heap[0]!) < 0) {
      heap[0] = item;
      this.down(0);
    }
  }

  /** Whether `item` would be kept if added now (a caller can skip building one that would not). */
  wouldKeep(item: T): boolean {
    return this.heap.length < this.cap || (this.cap > 0 && this.cmp(item, this.heap[0]!) < 0);
  }

  /** The kept items, sorted, and the count (the list is spent). */
  done(): Listed<T> {
    return { items: this.heap.sort(this.cmp), total: this.total };
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.cmp(heap[i]!, heap[parent]!) <= 0) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.cmp(heap[l]!, heap[m]!) > 0) m = l;
      if (r < heap.length && this.cmp(heap[r]!, heap[m]!) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

/** The `cap` smallest items by `cmp`, sorted. */
export function smallestSorted<T>(items: Iterable<T>, cap: number, cmp: (a: T, b: T) => number): T[] {
  const list = new BoundedList(cap, cmp);
  for (const item of items) list.add(item);
  return [...list.done().items];
}

/**
 * The first `cap` items by rank (lower first), then by arrival: what a sample keeps of a socket
 * list. One array per rank seen, each filled in arrival order, so an item is placed without a
 * comparison, and one that would not be kept is only counted (a storm's rows mostly, never built).
 */
export class FirstByRank<T> {
  total = 0;
  /** Items held, at most `cap`: the last ones of the highest ranks go first when a lower rank comes. */
  private held = 0;
  private readonly byRank = new Map<number, T[]>();
  /** The ranks with an array, ascending. */
  private ranks: number[] = [];

  constructor(readonly cap: number) {}

  /** Whether an item of rank `r` would be kept if added now: build it only then. */
  admits(r: number): boolean {
    if (this.held < this.cap) return true;
    // Full: kept only if some held item ranks after it (the last of the highest rank then goes).
    return this.cap > 0 && this.ranks[this.ranks.length - 1]! > r;
  }

  /** Adds an item that `admits` allowed (call `pass` for one it did not). */
  add(r: number, item: T): void {
    this.total++;
    let list = this.byRank.get(r);
    if (list === undefined) {
      list = [];
      this.byRank.set(r, list);
      this.ranks = [...this.ranks, r].sort((a, b) => a - b);
    }
    list.push(item);
    if (++this.held <= this.cap) return;
    const worst = this.ranks[this.ranks.length - 1]!;
    const last = this.byRank.get(worst)!;
    last.pop();
    this.held--;
    if (last.length === 0) {
      this.byRank.delete(worst);
      this.ranks = this.ranks.slice(0, -1);
    }
  }

  /** Counts an item that was not kept. */
  pass(): void {
    this.total++;
  }

  /** The kept items by rank, then arrival, and the count (the list is spent). */
  done(): { items: T[]; total: number } {
    return { items: this.ranks.flatMap((r) => this.byRank.get(r)!), total: this.total };
  }
}
