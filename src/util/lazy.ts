// A value made on first use. Module-level schemas (zod builds each one with dozens of closures)
// and tables cost a one-shot command's start for every module it imports (README "Start-up"):
// declared through `lazy`, a module does no work when imported, and a command pays only for
// what it uses.

export function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
