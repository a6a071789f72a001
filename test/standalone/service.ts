// The service double of the standalone suites: an MQTT client with its own certificate that
// answers each report as Device Defender does (./../nucleus/cloud.ts) and keeps the violation
// events it hears. Its session is persistent, so nothing is lost to it across a broker restart.

import { readFileSync } from "node:fs";
import mqtt from "mqtt";
import { DeviceDefenderService } from "../nucleus/cloud.js";
import type { Pki } from "../pki.js";
import { type Broker, SERVICE_CN } from "./broker.js";

export interface ServiceDouble {
  client: mqtt.MqttClient;
  defender: DeviceDefenderService;
  violations: Array<{ topic: string; event: Record<string, unknown> }>;
  /** While set, answers are kept back (the service slow to answer); release() sends them. */
  hold: { on: boolean; release(): Promise<void> };
}

export async function serviceDouble(broker: Broker, pki: Pki): Promise<ServiceDouble> {
  const id = pki.issue("service", SERVICE_CN);
  const defender = new DeviceDefenderService(0);
  const violations: ServiceDouble["violations"] = [];
  const client = mqtt.connect({
    host: "127.0.0.1",
    port: broker.port,
    protocol: "mqtts",
    ca: readFileSync(pki.ca),
    cert: readFileSync(id.cert),
    key: readFileSync(id.key),
    servername: "localhost",
    reconnectPeriod: 200,
    protocolVersion: 5,
    clean: false,
    clientId: "service-double",
    properties: { sessionExpiryInterval: 3600 },
  });
  await new Promise<void>((res, rej) => {
    client.once("connect", () => res());
    client.once("error", rej);
  });
  await client.subscribeAsync(["$aws/things/+/defender/metrics/+", "defender/violations/#"], { qos: 1 });
  client.on("message", (topic, payload) => {
    if (topic.startsWith("defender/violations/"))
      return void violations.push({ topic, event: JSON.parse(payload.toString("utf8")) as Record<string, unknown> });
    const answer = defender.receive(topic, payload);
    if (!answer) return;
    const send = () => client.publishAsync(answer.topic, answer.payload, { qos: 1 });
    if (hold.on) held.push(send);
    else void send();
  });
  const held: Array<() => Promise<unknown>> = [];
  const hold = {
    on: false,
    /** Sends what was held; resolves once the broker has taken each answer. */
    async release() {
      hold.on = false;
      await Promise.all(held.splice(0).map((send) => send()));
    },
  };
  return { client, defender, violations, hold };
}
