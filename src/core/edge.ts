// The agent core, wired once for every transport: sampling and the delivery ledger (../agent),
// Detect (../detect) and the violation and export outboxes (../outbox), behind the one port
// (../agent/transport.ts). A transport (src/greengrass, src/mqtt) hands it a Transport and tells
// it what happens outside (connected, lost, an answer, a configuration in force); the core
// imports neither transport.

import { Agent } from "../agent/agent.js";
import type { Answer } from "../agent/answers.js";
import { reportChannel } from "../agent/report-channel.js";
import type { Transport } from "../agent/transport.js";
import { intervalFloor } from "../config/apply.js";
import { type ComponentConfig, DEFAULT_CONFIG } from "../config/schema.js";
import { Detector } from "../detect/detector.js";
import type { ViolationEvent } from "../detect/evaluate.js";
import { Outboxes } from "../outbox/outboxes.js";
import type { WorkDir } from "../store/files.js";
import type { Logger } from "../util/log.js";

export interface EdgeOptions {
  work: WorkDir;
  thingName: string;
  log: Logger;
  /** Test hook: real ms per configured second. */
  msPerSecond: number;
  transport: Transport;
  /** Why no report can go while the transport holds nothing, as the log says it. */
  offline: string;
  /** The largest export message the transport carries, when below IoT Core's. */
  exportMaxBytes?: number;
  /** Each violation event once it is durable and logged (standalone appends it to a file). */
  onEvent?: (e: ViolationEvent) => void;
}

export class Edge {
  readonly detector: Detector;
  readonly outboxes: Outboxes;
  readonly agent: Agent;
  private config: ComponentConfig = DEFAULT_CONFIG;
  private started = false;

  constructor(o: EdgeOptions) {
    const { work, thingName, log, msPerSecond, transport } = o;
    this.detector = new Detector({ work, thingName, log, config: () => this.config, msPerSecond, exportMaxBytes: o.exportMaxBytes });
    this.outboxes = new Outboxes(work, log, thingName, transport, o.onEvent);
    this.agent = new Agent({
      channel: reportChannel(transport, thingName, log, o.offline),
      log,
      work,
      minIntervalSeconds: intervalFloor,
      msPerSecond,
      breaks: (list, key) => this.detector.breaks(list, key),
      observer: {
        // Every sample is judged; one that sees no network at all is none (the log says why).
        observe: (sample, traffic, cfg) => this.outboxes.take(this.detector.judge(sample, traffic), cfg),
      },
    });
  }

  get currentConfig(): ComponentConfig {
    return this.config;
  }

  /** A configuration in force: the first starts sampling, the next apply live. */
  configure(config: ComponentConfig): void {
    this.config = config;
    this.detector.configure(config);
    if (!this.started) {
      this.started = true;
      this.agent.start(config);
    } else {
      this.agent.setConfig(config);
    }
    this.deliver();
  }

  /** The transport can take publishes again, held by `holder` (see Transport.holder). */
  connected(holder: string): void {
    this.agent.connected(holder);
    this.deliver();
  }

  /** The transport lost its connection: answers may be missed from now on. */
  lost(): void {
    this.agent.disconnected();
  }

  /** The service's answer to a report. */
  answer(a: Answer): void {
    this.agent.answer(a.reportId, a.accepted, a.code);
  }

  /** Starts delivering both outboxes. */
  deliver(): void {
    this.outboxes.deliver(this.config);
  }

  /** Stops sampling; waits for a sample in progress and saves. */
  async stop(): Promise<void> {
    await this.agent.stop();
  }

  /** What the stop line says: the ledger's totals and what still waits. */
  summary(): Record<string, number> {
    const t = this.agent.totals;
    return {
      accepted: t.accepted,
      rejected: t.rejected,
      unconfirmed: t.unconfirmed,
      presumed_lost: t.presumedLost,
      violations_pending: this.outboxes.violations.pending,
      exports_pending: this.outboxes.exports.size,
    };
  }
}
