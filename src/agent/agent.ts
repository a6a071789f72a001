// The sampling loop shared by component mode and `run`. Every interval it takes one sample, has
// it judged (Detect sees every sample, whether or not a report goes out), and, when a report may
// go, builds it from the traffic ledger and hands it to the channel. State is written ahead of
// each publish, so a process killed mid-publish knows the report may be in the nucleus.

import { type ComponentConfig, DEFAULT_CONFIG } from "../config/schema.js";
import { type CollectorMemory, newMemory } from "../collect/context.js";
import { CustomMetricsReader } from "../custom/custom-metrics.js";
import type { ProducedReport } from "../report/build.js";
import { nextReportId } from "../report/report-id.js";
import { ProcFS } from "../procfs/fs.js";
import type { WorkDir } from "../store/files.js";
import { type Logger, errorMessage } from "../util/log.js";
import type { Traffic } from "../metrics/catalogue.js";
import { Ledger, type LedgerNote, addTraffic, isZero } from "./ledger.js";
import { ListRank } from "./list-rank.js";
import { baselineWhenBlocked, rebaseOnReboot, reportTraffic } from "./report-traffic.js";
import { logLedgerNotes } from "./ledger-log.js";
import { reportBlocked } from "./report-gate.js";
import { type Clock, REAL_CLOCK, Schedule, firstSampleWait } from "./schedule.js";
import { Remembered, type Sample, reportOf, settingsOf, takeSample, trafficSince } from "./sample.js";
import { type State, baselineFor, initialState, stateFile } from "./state.js";
import type { JsonFile } from "../store/files.js";

export interface ReportChannel {
  /** Who holds the reports handed over now (see Transport.holder), or undefined while nothing can take one. */
  holder(): string | undefined;
  /** Why no report can go while holder() is undefined, as the log says it. */
  readonly offline: string;
  /** Hands a report over; resolves once it is queued, rejects when it was refused. */
  publish(report: ProducedReport, config: ComponentConfig): Promise<void>;
  /** A channel with no answers (stdout): a report is settled as soon as it is written. */
  readonly settlesOnPublish?: boolean;
  /** The largest report the channel carries, when it is below the service's 128 KB. */
  readonly maxReportBytes?: number;
}

export interface SampleObserver {
  /** Judges one sample; `traffic` is the traffic since the previous sample (undefined: none). */
  observe(sample: Sample, traffic: Traffic | undefined, config: ComponentConfig): void | Promise<void>;
}

export interface AgentOptions {
  channel: ReportChannel;
  observer?: SampleObserver;
  log: Logger;
  work: WorkDir;
  /** Lowest interval honoured, and the least time between two reports. */
  minIntervalSeconds: (config: ComponentConfig) => number;
  /** Test hook (bench and end-to-end tests only): how many real ms one configured second lasts. */
  msPerSecond?: number;
  /** The state file's name in the work folder (default state.json). */
  stateFileName?: string;
  /** Whether a list entry breaks a profile's list behavior: such entries are kept first when a list is cut. */
  breaks?: (list: string, key: string) => boolean;
  /** The schedule's timers (tests give one that moves only when told). */
  clock?: Clock;
}

/** How long a report waits for its answer before the next one may go anyway (seconds). */
const HOLD_MAX_SECONDS = 7200;
/** An answer this long after its publish means the report sat in the spool (seconds). */
const SPOOLED_HINT_SECONDS = 30;

export class Agent {
  private config: ComponentConfig = DEFAULT_CONFIG;
  private readonly file: JsonFile<State>;
  private state: State;
  private readonly ledger: Ledger;
  private readonly schedule: Schedule;
  private readonly clock: Clock;
  private lastTickMono: number | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private notBefore = 0;
  /** Monotonic time (the clock's) of the last report handed over in this process (finer than Date.now()). */
  private lastPublishMono: number | undefined;
  private tickMono = 0;
  private readonly ms: number;
  private readonly remembered = new Remembered();
  private readonly said = new Map<string, string>();
  readonly custom: CustomMetricsReader;
  /** What collectors keep between samples (CPU times, the listener scan). */
  private readonly memory: CollectorMemory = newMemory();
  /** Which entries are kept first when a list is cut (./list-rank.ts). */
  private readonly lists: ListRank;
  readonly counts = { samples: 0, published: 0, refused: 0 };

  constructor(private readonly opts: AgentOptions) {
    this.ms = opts.msPerSecond ?? 1000;
    this.clock = opts.clock ?? REAL_CLOCK;
    this.schedule = new Schedule(() => {
      this.lastTickMono = this.clock.now();
      void this.tick().finally(() => {
        if (!this.schedule.armed) this.schedule.at(this.lastTickMono! + this.intervalSeconds() * this.ms);
      });
    }, this.clock);
    this.custom = new CustomMetricsReader(opts.log);
    this.lists = new ListRank(opts.breaks);
    this.file = stateFile(opts.work, opts.stateFileName);
    this.state = this.file.load() ?? initialState();
    this.ledger = new Ledger(this.state.ledger);
    // Answers to what was outstanding when the last run ended may have come while nobody listened.
    this.ledger.markGaps();
    // CPU times saved before a restart are a baseline only on the same boot (checked per sample).
    this.memory.cpu = this.state.cpu;
  }

  get currentConfig(): ComponentConfig {
    return this.config;
  }

  get currentState(): State {
    return this.state;
  }

  get totals() {
    return this.state.ledger.totals;
  }

  /** Effective interval in seconds: the configured one, raised to the floor. */
  intervalSeconds(config: ComponentConfig = this.config): number {
    return Math.max(config.SampleIntervalSeconds, this.opts.minIntervalSeconds(config));
  }

  /** Starts sampling: now, or one interval after the last sample of a run that just ended. */
  start(config: ComponentConfig): void {
    this.config = config;
    this.started = true;
    this.custom.configure(config.CustomMetrics);
    const now = Date.now();
    const interval = this.intervalSeconds() * this.ms;
    for (const key of ["lastSampleAt", "lastPublishAt"] as const) {
      const t = this.state[key];
      if (t !== undefined && t > now) {
        // The clock stepped back since: wait as if that happened now, never the whole step.
        this.opts.log.warn("clock.stepped_back", { key, saved: new Date(t).toISOString(), now: new Date(now).toISOString() });
        this.state[key] = now;
      }
    }
    this.opts.log.info("agent.started", { interval_s: this.intervalSeconds(), publish_metrics: config.PublishMetrics });
    const wait = firstSampleWait(this.state.lastSampleAt, now, interval);
    if (wait > 0) this.opts.log.info("schedule.wait", { reason: "recent sample before restart", wait_s: Math.ceil(wait / this.ms) });
    this.schedule.at(this.clock.now() + wait);
  }

  /** Applies a new configuration live: the next sample follows the new interval. */
  setConfig(config: ComponentConfig): void {
    const before = this.intervalSeconds();
    this.config = config;
    this.custom.configure(config.CustomMetrics);
    const after = this.intervalSeconds();
    if (after !== before && this.schedule.armed && this.lastTickMono !== undefined) {
      this.schedule.at(Math.max(this.clock.now(), this.lastTickMono + after * this.ms));
    }
  }

  /** Takes one sample now (also what each scheduled tick does). */
  async tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The nucleus instance behind a (new) connection: reports an older instance held are lost. */
  connected(nucleus: string): void {
    const notes = this.ledger.nucleusIs(nucleus);
    this.logNotes(notes);
    this.persist();
  }

  /** The connection is gone: answers to what is outstanding may be missed from now on. */
  disconnected(): void {
    this.ledger.markGaps();
    this.persist();
  }

  /** The service's answer to a report (matched by report id). */
  answer(reportId: number, accepted: boolean, code?: string): void {
    const now = Date.now();
    const sentAt = this.ledger.outstanding.find((o) => o.reportId === reportId)?.sentAt;
    this.logNotes(this.ledger.answer(reportId, accepted));
    const floor = this.opts.minIntervalSeconds(this.config) * this.ms;
    // A throttled report, or one that sat in the spool and reached the service only now: the
    // next report waits a full floor from now, so it is not throttled in turn.
    if (code === "Throttled" || (sentAt !== undefined && now - sentAt > SPOOLED_HINT_SECONDS * this.ms)) {
      this.notBefore = Math.max(this.notBefore, now + floor);
    }
    this.persist();
  }

  /** Stops sampling; waits (bounded by the caller) for a tick in progress, then saves. */
  async stop(): Promise<void> {
    this.schedule.stop();
    await this.running?.catch(() => undefined);
    this.persist();
  }

  private async runOnce(): Promise<void> {
    const { log } = this.opts;
    this.tickMono = this.clock.now();
    const config = this.config;
    const settings = settingsOf(config);
    const now = Date.now();
    let sample: Sample;
    try {
      if (this.memory.cpu && this.state.bootId !== undefined && this.memory.cpu === this.state.cpu) {
        // A reboot restarts the CPU counters too: the saved times are no baseline then.
        const bootNow = new ProcFS(settings.procRoot).bootId();
        if (bootNow !== undefined && bootNow !== this.state.bootId) this.memory.cpu = undefined;
      }
      sample = takeSample(settings, log, now, this.memory, this.custom, this.remembered, this.lists.rank);
    } catch (err) {
      log.error("sample.failed", { reason: errorMessage(err) });
      return;
    }
    this.counts.samples++;
    const s = this.state;
    const owed = rebaseOnReboot(s, sample, config.ExcludedInterfaces);
    if (owed) this.ledger.state.carry = addTraffic(this.ledger.state.carry, owed);
    const sinceSample = trafficSince(baselineFor(s.sampleCounters, s.bootId, sample.bootId), sample, config.ExcludedInterfaces);
    try {
      await this.opts.observer?.observe(sample, sinceSample, config);
    } catch (err) {
      log.error("detect.failed", { reason: errorMessage(err) });
    }
    s.bootId = sample.bootId ?? s.bootId;
    if (sample.counters) s.sampleCounters = sample.counters;
    s.lastSampleAt = now;
    if (this.memory.cpu) s.cpu = this.memory.cpu;
    if (this.counts.samples % 100 === 1) {
      const m = process.memoryUsage();
      const mb = (n: number) => Math.round(n / 1e5) / 10;
      log.debug("process.memory", {
        samples: this.counts.samples,
        rss_mb: mb(m.rss),
        heap_used_mb: mb(m.heapUsed),
        heap_total_mb: mb(m.heapTotal),
        external_mb: mb(m.external),
        array_buffers_mb: mb(m.arrayBuffers),
      });
    }
    log.debug("sample.taken", {
      at: new Date(now).toISOString(),
      interfaces: sample.counters ? Object.keys(sample.counters).length : 0,
      custom_metrics: Object.keys(sample.customMetrics).length,
      blind: sample.blind !== undefined,
    });
    if (sample.blind) {
      // Nothing seen is not "nothing happened": no report (an empty one would be accepted as an idle device).
      this.persist();
      return;
    }
    if (!config.PublishMetrics) {
      // Nothing goes to the service: when reports start again, they start from now.
      if (sample.counters) s.reportCounters = sample.counters;
    } else {
      await this.report(sample, config, now);
    }
    this.persist();
  }

  /** Whether a report may go now, and why not (./report-gate.ts). */
  private blockedBecause(now: number, config: ComponentConfig): string | undefined {
    const { channel } = this.opts;
    return reportBlocked({
      holder: channel.holder(),
      offline: channel.offline,
      sinceLastMs:
        this.lastPublishMono !== undefined
          ? this.clock.now() - this.lastPublishMono
          : this.state.lastPublishAt !== undefined
            ? now - this.state.lastPublishAt
            : Infinity,
      floorMs: this.opts.minIntervalSeconds(config) * this.ms,
      now,
      notBefore: this.notBefore,
      awaited: this.ledger.awaiting(now, HOLD_MAX_SECONDS * this.ms),
    });
  }

  private async report(sample: Sample, config: ComponentConfig, now: number): Promise<void> {
    const { log, channel } = this.opts;
    const s = this.state;
    const blocked = this.blockedBecause(now, config);
    if (blocked !== undefined) {
      if (this.isNew("report.blocked", blocked)) log.warn("report.not_delivered", { reason: blocked, carried_to_next: "yes" });
      if (baselineWhenBlocked(s, sample)) this.persist();
      return;
    }
    this.said.delete("report.blocked");
    const carry = this.ledger.carry;
    const traffic = reportTraffic(s, carry, sample, config.ExcludedInterfaces);
    const reportId = nextReportId(s.reportId, now);
    let produced: ProducedReport;
    try {
      produced = reportOf(sample, { ...settingsOf(config), maxBytes: this.opts.channel.maxReportBytes }, reportId, traffic, log, this.lists.rank);
      this.lists.reported(produced.keys);
    } catch (err) {
      log.error("report.invalid", { report_id: reportId, reason: errorMessage(err) });
      return;
    }
    // Written ahead: if the process dies during the publish, the next run knows this report
    // may be in the nucleus, and waits a full interval after it.
    log.debug("report.built", {
      report_id: reportId,
      bytes: produced.payload.length,
      network_stats: traffic ? JSON.stringify(traffic) : "none",
      carried: isZero(carry) ? "none" : JSON.stringify(carry),
    });
    this.logNotes(this.ledger.sent({ reportId, traffic, sentAt: now, nucleus: channel.holder()! }));
    if (sample.counters) s.reportCounters = sample.counters;
    s.reportId = reportId;
    s.lastPublishAt = now;
    this.lastPublishMono = this.tickMono;
    this.persist();
    try {
      await channel.publish(produced, config);
      this.counts.published++;
      if (channel.settlesOnPublish) this.logNotes(this.ledger.answer(reportId, true));
    } catch (err) {
      this.ledger.refused(reportId);
      this.counts.refused++;
      log.warn("report.not_delivered", { report_id: reportId, reason: errorMessage(err), carried_to_next: "yes", refused_total: this.counts.refused });
    }
  }

  private logNotes(notes: LedgerNote[]): void {
    logLedgerNotes(this.opts.log, notes, this.state.ledger.totals);
  }

  /** True when `value` differs from what was last said under `key`. */
  private isNew(key: string, value: string): boolean {
    if (this.said.get(key) === value) return false;
    this.said.set(key, value);
    return true;
  }

  private persist(): void {
    if (!this.started && this.state.reportId === 0) return;
    this.state.ledger = this.ledger.state;
    this.file.save(this.state);
  }
}
