// The component's configuration from the nucleus: read once at set-up and again after update
// events (one read in flight at a time; events during a read cause one more read), and checked
// before a deployment applies it (SubscribeToValidateConfigurationUpdates →
// SendConfigurationValidityReport), so a deployment with a bad value fails and rolls back with
// the key, value and rule in its status message (deployment/DynamicComponentConfigurationValidator).

import { z } from "zod";
import { applyConfiguration } from "../config/apply.js";
import type { ComponentConfig } from "../config/schema.js";
import type { JsonFile, WorkDir } from "../store/files.js";
import { lintOptionsOf, lintProfile } from "../detect/lint.js";
import { LogOnce, type Logger } from "../util/log.js";
import { MQTTPROXY, PUBSUB, isGranted, missingGrant } from "./access-control.js";
import { rpcErrorText } from "./ipc.js";
import { type IpcClient, call, isAlive } from "./ipc-wait.js";
import type { Runtime } from "./runtime.js";
import { reportTopic, responseTopics, violationIoTTopic } from "../report/topics.js";

const OPERATION_TIMEOUT_MS = 10_000;
const UPDATE_DEBOUNCE_MS = 100;

/**
 * Why a configuration document cannot be used, one sentence per problem; empty when it can.
 * Grants are read as `runtime` reads them (see access-control.ts).
 */
export function configurationProblems(doc: unknown, current: ComponentConfig, thingName: string, runtime: Runtime = "nucleus"): string[] {
  const { config, problems } = applyConfiguration(doc, current);
  const out = problems.map((p) => `${p.key}=${shortJson(p.value)}: ${p.rule}`);
  if (problems.length > 0) return out;
  const acl = (doc as Record<string, unknown> | null | undefined)?.accessControl;
  const need = (service: string, operation: string, resource: string, key: string) => {
    if (!isGranted(acl, service, operation, resource, runtime, thingName)) out.push(`${key}: ${missingGrant(service, operation, resource)}`);
  };
  for (const doc of config.SecurityProfiles) {
    const { profile, findings } = lintProfile(doc, lintOptionsOf(config));
    for (const f of findings) if (f.level === "ERROR") out.push(`SecurityProfiles: ${f.where}: ${f.message}`);
    // Metrics export publishes to the profile's topic: the recipe grants defender/export.
    const topic = profile?.metricsExportConfig?.mqttTopic;
    if (topic !== undefined)
      need(MQTTPROXY, "aws.greengrass#PublishToIoTCore", topic, `SecurityProfiles: profile ${profile!.securityProfileName} metricsExportConfig.mqttTopic`);
  }
  if (config.PublishMetrics) {
    need(MQTTPROXY, "aws.greengrass#PublishToIoTCore", reportTopic(thingName, config.Format), "Format");
    for (const t of responseTopics(thingName, config.Format)) need(MQTTPROXY, "aws.greengrass#SubscribeToIoTCore", t, "Format");
  }
  need(PUBSUB, "aws.greengrass#PublishToTopic", config.ViolationTopic, "ViolationTopic");
  if (config.ViolationIoTTopic !== "")
    need(MQTTPROXY, "aws.greengrass#PublishToIoTCore", violationIoTTopic(config.ViolationIoTTopic, thingName), "ViolationIoTTopic");
  return out;
}

function shortJson(v: unknown): string {
  // JSON.stringify returns undefined for undefined (a key given no value), whatever its declared type says.
  const s = typeof v === "string" ? v : ((JSON.stringify(v) as string | undefined) ?? "undefined");
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The last configuration read from the nucleus, kept in the work folder: a restart while the
 * nucleus cannot be reached starts sampling and judging with it instead of waiting.
 */
const CachedSchema = z.object({ kind: z.literal("community.greengrass.DeviceDefender/config"), document: z.unknown() });
export const CONFIG_CACHE_FILE = "config.json";

export interface ConfigSourceOptions {
  log: Logger;
  work: WorkDir;
  thingName: string;
  /** The runtime serving IPC (how it reads grants). */
  runtime?: Runtime;
  /** The configuration in force (the last good one). */
  current: () => ComponentConfig;
  /** A document read from the nucleus. */
  apply: (doc: unknown) => void;
}

export class ConfigSource {
  private reading: Promise<void> | undefined;
  private again = false;
  private debounce: NodeJS.Timeout | undefined;
  private subscribed = new WeakSet<IpcClient>();
  private readonly cache: JsonFile<z.infer<typeof CachedSchema>>;
  private cachedText: string | undefined;
  private validates = false;
  private readonly once: LogOnce;

  constructor(readonly opts: ConfigSourceOptions) {
    this.cache = opts.work.json(CONFIG_CACHE_FILE, CachedSchema);
    this.once = new LogOnce(opts.log);
  }

  /** The configuration the last run read, if any. */
  cached(): unknown {
    const c = this.cache.load();
    this.cachedText = c === undefined ? undefined : JSON.stringify(c.document);
    return c?.document;
  }

  /**
   * Subscribes (once per client) to updates, which the component cannot do without, and to
   * validations, which it can: a runtime that refuses them (nucleus lite: "Unhandled operation
   * requested", ggipcd/src/ipc_dispatch.c) is said once, and each update is then checked as it
   * arrives instead (a bad key is refused and keeps its last good value, config/apply.ts), though
   * a deployment can no longer be failed. Then reads the configuration.
   */
  async attach(client: IpcClient): Promise<void> {
    if (!this.subscribed.has(client)) {
      const updates = client.subscribeToConfigurationUpdate({ keyPath: [] });
      updates.on("message", () => {
        // One deployment sends one event per changed leaf: read once they have arrived.
        clearTimeout(this.debounce);
        this.debounce = setTimeout(
          () => void this.read(client).catch((err: unknown) => this.opts.log.error("config.read_failed", { reason: rpcErrorText(err) })),
          UPDATE_DEBOUNCE_MS,
        );
      });
      try {
        await call(client, OPERATION_TIMEOUT_MS, "SubscribeToConfigurationUpdate", () => updates.activate());
      } catch (err) {
        // Close what was opened, so a retry on this client does not leave a second stream.
        await updates.close().catch(() => undefined);
        throw err;
      }
      await this.subscribeValidations(client);
      this.subscribed.add(client);
    }
    await this.read(client);
  }

  /** Whether the runtime checks deployments with us (false after it refused the subscription). */
  get validating(): boolean {
    return this.validates;
  }

  private async subscribeValidations(client: IpcClient): Promise<void> {
    const validations = client.subscribeToValidateConfigurationUpdates({});
    validations.on("message", (ev) => void this.validate(client, ev.validateConfigurationUpdateEvent));
    try {
      await call(client, OPERATION_TIMEOUT_MS, "SubscribeToValidateConfigurationUpdates", () => validations.activate());
      this.validates = true;
    } catch (err) {
      await validations.close().catch(() => undefined);
      if (!isAlive(client)) throw err; // the connection ended: that is no answer, the reconnection retries
      this.validates = false;
      this.once.say("WARN", "validation-unavailable", "ipc.operation_unavailable", {
        operation: "SubscribeToValidateConfigurationUpdates",
        reason: rpcErrorText(err),
        fallback:
          "each configuration update is checked as it arrives: a bad key is refused and keeps its last good value, but the runtime cannot fail the deployment",
      });
    }
  }

  /** One read at a time; a request during a read causes exactly one more read after it. */
  read(client: IpcClient): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          const res = await call(client, OPERATION_TIMEOUT_MS, "GetConfiguration", (c) => client.getConfiguration({ keyPath: [] }, { cancelController: c }));
          const doc: unknown = res.value ?? {};
          this.opts.apply(doc);
          const text = JSON.stringify(doc);
          if (text !== this.cachedText && this.cache.save({ kind: "community.greengrass.DeviceDefender/config", document: doc })) this.cachedText = text;
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a read() call made while this one awaited
        } while (this.again);
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  /** Answers a proposed configuration before the deployment applies it. */
  private async validate(client: IpcClient, event: { configuration?: unknown; deploymentId?: string } | undefined): Promise<void> {
    const deploymentId = event?.deploymentId;
    if (deploymentId === undefined) return;
    const problems = configurationProblems(event!.configuration ?? {}, this.opts.current(), this.opts.thingName, this.opts.runtime);
    const status = problems.length === 0 ? "ACCEPTED" : "REJECTED";
    const message = problems.length === 0 ? "configuration accepted" : problems.join("; ").slice(0, 2000);
    if (status === "REJECTED") this.opts.log.error("config.deployment_rejected", { deployment: deploymentId, reason: message });
    else this.opts.log.info("config.deployment_validated", { deployment: deploymentId });
    try {
      await call(client, OPERATION_TIMEOUT_MS, "SendConfigurationValidityReport", (c) =>
        client.sendConfigurationValidityReport({ configurationValidityReport: { status: status as never, deploymentId, message } }, { cancelController: c }),
      );
    } catch (err) {
      this.opts.log.error("config.validity_report_failed", { deployment: deploymentId, reason: rpcErrorText(err) });
    }
  }
}
