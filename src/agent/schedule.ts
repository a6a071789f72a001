// When the next sample is taken: one timer, re-armed, on a monotonic clock. Node's timers
// overflow above 2^31 - 1 ms (and then fire at once), so longer waits are chained; a timer that
// fires early (timers count whole milliseconds of a cached loop clock) is re-armed, so a sample
// is never taken before its time and the interval floor always holds.

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Schedule {
  private handle: unknown;
  private atMono = 0;
  private stopped = false;

  constructor(
    private readonly fire: () => void,
    private readonly clock: Clock = REAL_CLOCK,
  ) {}

  /** Whether a tick is armed. */
  get armed(): boolean {
    return this.handle !== undefined;
  }

  /** Arms the one tick for monotonic time `atMono` (replacing any other). */
  at(atMono: number): void {
    if (this.stopped) return;
    this.cancel();
    this.atMono = atMono;
    const wait = Math.max(0, atMono - this.clock.now());
    this.handle = this.clock.setTimeout(
      () => {
        this.handle = undefined;
        if (this.clock.now() < this.atMono) {
          this.at(this.atMono);
          return;
        }
        this.fire();
      },
      Math.min(wait, MAX_TIMER_MS),
    );
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}

/** How long the first sample waits: one interval after the last sample of a run that just ended, never longer. */
export function firstSampleWait(lastSampleAt: number | undefined, now: number, intervalMs: number): number {
  return lastSampleAt === undefined ? 0 : Math.max(0, Math.min(intervalMs, lastSampleAt + intervalMs - now));
}
