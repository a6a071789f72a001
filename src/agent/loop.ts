// The sampling loop shared by component mode and `run`: sample on schedule, hand the report to
// a sink, and advance the counters baseline only when the sink says it was delivered, so a
// failed publish loses no traffic (the next report's deltas cover the failed interval).

import { join } from "node:path";
import { DEFAULT_CONFIG, type ComponentConfig } from "../config/schema.js";
import { CustomMetricsCollector } from "../custom/collector.js";
import { type State, loadState, saveState } from "../state/store.js";
import { type Logger, errorMessage } from "../util/log.js";
import { type Remembered, type Sample, settingsOf, takeSample } from "./sample.js";

export interface ReportSink {
  /** Resolves once the report was handed over; rejects when it could not be. */
  deliver(sample: Sample, config: ComponentConfig): Promise<void>;
}

export interface AgentOptions {
  sink: ReportSink;
  log: Logger;
  /** Where state persists between runs; undefined keeps it in memory only. */
  statePath?: string;
  /** Lowest interval honoured, and the least time between two reports after a restart. */
  minIntervalSeconds: (config: ComponentConfig) => number;
  /** Called with each delivered report (Detect judges it here). */
  onDelivered?: (sample: Sample, config: ComponentConfig) => void | Promise<void>;
  /** Test hook (bench and end-to-end tests only): how many real ms one configured second lasts. */
  msPerSecond?: number;
}

export class Agent {
  private config: ComponentConfig = DEFAULT_CONFIG;
  private state: State | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly msPerSecond: number;
  private readonly remembered: Remembered = new Map();
  private readonly custom: CustomMetricsCollector;
  readonly counts = { delivered: 0, failed: 0 };

  constructor(private readonly opts: AgentOptions) {
    this.msPerSecond = opts.msPerSecond ?? 1000;
    this.custom = new CustomMetricsCollector(opts.log);
    if (opts.statePath !== undefined) {
      const loaded = loadState(opts.statePath);
      if (loaded.state === undefined && "problem" in loaded && loaded.problem) {
        opts.log.warn("state.ignored", { reason: loaded.problem });
      }
      this.state = loaded.state;
    }
  }

  get currentConfig(): ComponentConfig {
    return this.config;
  }

  get lastState(): State | undefined {
    return this.state;
  }

  /** Effective interval in seconds: the configured one, raised to the floor with a warning. */
  intervalSeconds(config: ComponentConfig = this.config): number {
    return Math.max(config.SampleIntervalSeconds, this.opts.minIntervalSeconds(config));
  }

  /** Starts sampling: now, or when the last publish is far enough back after a restart. */
  start(config: ComponentConfig): void {
    this.config = config;
    this.custom.configure(config.CustomMetrics);
    const last = this.state?.lastPublishAt;
    const earliest = last === undefined ? Date.now() : last + this.opts.minIntervalSeconds(config) * this.msPerSecond;
    if (earliest > Date.now()) {
      this.opts.log.info("schedule.wait", { reason: "recent publish before restart", wait_s: Math.ceil((earliest - Date.now()) / this.msPerSecond) });
    }
    this.schedule(Math.max(Date.now(), earliest));
  }

  /** Applies a new configuration live: the next report follows the new interval. */
  setConfig(config: ComponentConfig): void {
    const before = this.intervalSeconds();
    this.config = config;
    this.custom.configure(config.CustomMetrics);
    const after = this.intervalSeconds();
    if (after !== before && this.timer !== undefined) {
      const lastAt = this.nextAt - before * this.msPerSecond;
      this.schedule(Math.max(Date.now(), lastAt + after * this.msPerSecond));
    }
  }

  /** Takes and delivers one report now (also what each scheduled tick does). */
  async tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    this.persist();
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => {
        if (this.timer === undefined) this.schedule(Math.max(Date.now(), at + this.intervalSeconds() * this.msPerSecond));
      });
    }, Math.max(0, at - Date.now()));
  }

  private async runOnce(): Promise<void> {
    const { log } = this.opts;
    let sample: Sample;
    try {
      sample = takeSample(settingsOf(this.config), this.state, log, Date.now(), this.custom, this.remembered);
    } catch (err) {
      log.error("sample.failed", { reason: errorMessage(err) });
      return;
    }
    try {
      await this.opts.sink.deliver(sample, this.config);
      this.state = { ...sample.nextState, lastPublishAt: Date.now() };
      this.counts.delivered++;
      try {
        await this.opts.onDelivered?.(sample, this.config);
      } catch (err) {
        log.error("report.after_delivery_failed", { report_id: sample.reportId, reason: errorMessage(err) });
      }
    } catch (err) {
      // Keep the old baseline so the next deltas include this interval; the id still advances.
      this.state = { ...(this.state ?? sample.nextState), version: 1, reportId: sample.reportId, counters: this.state?.counters };
      this.counts.failed++;
      log.warn("report.not_delivered", { report_id: sample.reportId, reason: errorMessage(err), failed_total: this.counts.failed });
    }
    this.persist();
  }

  private persist(): void {
    if (this.opts.statePath === undefined || this.state === undefined) return;
    try {
      saveState(this.opts.statePath, this.state);
    } catch (err) {
      this.opts.log.error("state.save_failed", { path: this.opts.statePath, reason: errorMessage(err) });
    }
  }
}

export function statePathIn(workDir: string): string {
  return join(workDir, "state.json");
}
