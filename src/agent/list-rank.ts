// Which entries of a list are kept first when it must be cut (by the collectors, to their budget,
// and by the report, to MaxListEntries): those that break a profile's list behavior, then those
// new since the previous report, then the rest in the kernel's order. Lower ranks are kept first.

export type Breaks = (list: string, key: string) => boolean;

export class ListRank {
  /** Each list's keys in the previous report. */
  private previous = new Map<string, Set<string>>();

  constructor(private readonly breaks?: Breaks) {}

  /** 0: breaks a list behavior; 1: new since the previous report; 2: the rest. */
  readonly rank = (list: string, key: string): number => {
    if (this.breaks?.(list, key)) return 0;
    const previous = this.previous.get(list);
    return previous !== undefined && !previous.has(key) ? 1 : 2;
  };

  /** The lists' keys of the report just built: "new" is judged against them next time. */
  reported(keys: Map<string, Set<string>>): void {
    this.previous = keys;
  }
}
