// Giving memory back between cycles. V8 returns the heap it grew to only after its memory
// reducer sees the process idle, which a process that wakes every few minutes seldom lets happen:
// measured, the component rested at ~57 MB instead of ~49 MB. A full collection once an hour
// (~25 ms of CPU) brings it back to its live size. It needs node's --expose-gc, which the recipe
// passes; without it nothing is done.

/** Collects garbage every `everyMs` while the process runs; returns what stops it. */
export function collectGarbageEvery(everyMs: number, gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc): () => void {
  if (typeof gc !== "function") return () => undefined;
  const timer = setInterval(() => gc(), everyMs);
  timer.unref(); // never what keeps the process alive
  return () => clearInterval(timer);
}
