// The time of each sample for Detect: the wall clock, but never earlier than the previous sample
// plus the time that really passed (CLOCK_MONOTONIC, shared by every process of a boot). After
// the clock steps back, datapoints keep their order and their true spacing, so windows and
// baselines stay right (the timeline then runs ahead of the wall clock by the size of the step).
// The test hook (msPerSecond) makes configured seconds pass faster, as the scheduler does.

export interface ClockMark {
  /** Epoch ms given to the last sample. */
  time: number;
  /** CLOCK_MONOTONIC ms when it was taken, and the boot it belongs to. */
  mono: number;
  bootId?: string;
}

const monotonicMs = () => Number(process.hrtime.bigint() / 1_000_000n);

export class SampleClock {
  constructor(
    public last: ClockMark | undefined,
    private readonly msPerSecond = 1000,
    private readonly wall: () => number = Date.now,
    private readonly mono: () => number = monotonicMs,
  ) {}

  /** The time it is now on this clock, without taking a sample (a sample that could not be judged). */
  peek(bootId: string | undefined): number {
    const mark = this.last;
    const time = this.next(bootId).time;
    this.last = mark;
    return time;
  }

  /** The time of a sample taken now, and the seconds since the previous one (undefined for the first). */
  next(bootId: string | undefined): { time: number; interval?: number } {
    const mono = this.mono();
    const last = this.last;
    const sameBoot = last !== undefined && last.bootId === bootId && mono >= last.mono;
    let time: number;
    if (last === undefined) time = this.wall();
    else if (this.msPerSecond !== 1000) time = sameBoot ? last.time + ((mono - last.mono) * 1000) / this.msPerSecond : Math.max(this.wall(), last.time + 1);
    else time = Math.max(this.wall(), sameBoot ? last.time + (mono - last.mono) : last.time + 1);
    time = Math.floor(Math.max(time, (last?.time ?? -Infinity) + 1));
    this.last = { time, mono, bootId };
    return last === undefined ? { time } : { time, interval: (time - last.time) / 1000 };
  }
}
