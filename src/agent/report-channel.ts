// Reports over the transport port: each on the thing's Device Defender topic for its format
// (../report/topics.ts), at QoS 1, with one log line once its holder has it.

import type { ComponentConfig } from "../config/schema.js";
import type { ProducedReport } from "../report/build.js";
import { reportTopic } from "../report/topics.js";
import { type Logger, errorMessage } from "../util/log.js";
import type { ReportChannel } from "./agent.js";
import type { Transport } from "./transport.js";

export function reportChannel(transport: Transport, thingName: string, log: Logger, offline: string): ReportChannel {
  return {
    offline,
    maxReportBytes: transport.maxReportBytes,
    holder: () => transport.holder(),
    async publish(report: ProducedReport, config: ComponentConfig) {
      const topic = reportTopic(thingName, config.Format);
      try {
        await transport.publishToIoTCore(topic, report.payload);
      } catch (err) {
        throw new Error(`publish to ${topic} failed: ${errorMessage(err)}`, { cause: err });
      }
      log.info("report.published", { report_id: report.report.header.report_id, topic, bytes: report.payload.length });
    },
  };
}
