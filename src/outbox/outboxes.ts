// What every mode with a transport does with a judged sample: the violation events and export
// messages are made durable first, then the events are said, then delivery is started (never
// awaited: reports and Detect do not wait for IoT Core).

import type { Transport } from "../agent/transport.js";
import type { ComponentConfig } from "../config/schema.js";
import type { Judged } from "../detect/detector.js";
import type { ViolationEvent } from "../detect/alarms.js";
import { logViolation } from "../detect/log-violation.js";
import type { WorkDir } from "../store/files.js";
import { type Logger, errorMessage } from "../util/log.js";
import { ExportOutbox } from "./export-outbox.js";
import { ViolationOutbox } from "./violation-outbox.js";

export class Outboxes {
  readonly violations: ViolationOutbox;
  readonly exports: ExportOutbox;

  constructor(
    work: WorkDir,
    private readonly log: Logger,
    thingName: string,
    private readonly transport: Transport,
    /** Each event, once it is durable and logged (standalone appends it to its violations file). */
    private readonly onEvent: (e: ViolationEvent) => void = () => undefined,
  ) {
    this.violations = new ViolationOutbox(work, log, thingName);
    this.exports = new ExportOutbox(work, log);
  }

  take(judged: Judged, config: ComponentConfig): void {
    this.violations.add(judged.events, config, this.transport.publishLocal !== undefined);
    this.exports.add(judged.exports);
    for (const e of judged.events) {
      logViolation(this.log, e);
      this.onEvent(e);
    }
    if (judged.events.length > 0 || judged.exports.length > 0 || this.violations.pending > 0 || this.exports.size > 0) this.deliver(config);
  }

  /** Starts delivering both outboxes (after a reconnection, a new configuration, new entries). */
  deliver(config: ComponentConfig): void {
    void this.violations.deliver(this.transport, config).catch((err: unknown) => this.log.error("violation.delivery_failed", { reason: errorMessage(err) }));
    void this.exports.deliver(this.transport).catch((err: unknown) => this.log.error("export.delivery_failed", { reason: errorMessage(err) }));
  }
}
