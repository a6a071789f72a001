// Standalone mode's figures: the agent against mosquitto with mutual TLS (RSS and CPU per cycle,
// beside the component's), and what each candidate MQTT client costs on its own (MQTT.js, which
// we ship, and aws-iot-device-sdk-v2's MQTT 5 client over aws-crt), both started with the
// recipe's node flags.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE } from "../bundle.js";
import { ROOT, tempDir } from "../helpers.js";
import { recipeRun } from "../nucleus/harness.js";
import { Pki } from "../pki.js";
import { Broker, brokerSkipReason, freePort } from "../standalone/broker.js";
import { serviceDouble } from "../standalone/service.js";
import { procStatus } from "./proc-status.js";

const THING = "bench-thing";

async function withBroker<T>(fn: (b: { broker: Broker; pki: Pki; device: { cert: string; key: string }; dir: string }) => T | Promise<T>): Promise<T> {
  const dir = tempDir("defender-bench-mqtt-");
  mkdirSync(join(dir, "pki"));
  const pki = new Pki(join(dir, "pki"));
  const device = pki.issue("device", THING);
  const broker = new Broker(dir, pki, await freePort(), THING);
  await broker.start();
  try {
    return await fn({ broker, pki, device, dir });
  } finally {
    await broker.stop();
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function benchStandalone(lines: string[]): Promise<void> {
  const skip = brokerSkipReason();
  if (skip) return void lines.push(`standalone: not measured (${skip})`);
  await withBroker(async ({ broker, pki, device, dir }) => {
    const { client: service, defender } = await serviceDouble(broker, pki);
    const { flags, env } = recipeRun();
    // 300 configured seconds last 60 ms, as in the component's bench: 1,000 cycles in a minute.
    const child = spawn(
      process.execPath,
      [
        ...flags,
        BUNDLE,
        "run",
        "--work-dir",
        join(dir, "work"),
        "--endpoint",
        "localhost",
        "--port",
        String(broker.port),
        "--cert",
        device.cert,
        "--key",
        device.key,
        "--root-ca",
        pki.ca,
        "--thing-name",
        THING,
      ],
      { stdio: "ignore", env: { PATH: process.env.PATH, ...env, DEFENDER_TEST_MS_PER_SECOND: "0.2" } },
    );
    const accepted = () => defender.reports.filter((r) => r.outcome === "accepted").length;
    try {
      const window = async (from: number) => {
        const rss: number[] = [];
        for (let n = from; n < from + 100; n++) {
          await waitFor(() => accepted() >= n, 60_000, `${n} cycles`);
          rss.push(procStatus(child.pid!).rssKb / 1024);
        }
        rss.sort((a, b) => a - b);
        return `median ${rss[50]!.toFixed(1)} MB, highest ${rss[99]!.toFixed(1)} MB`;
      };
      const early = await window(100);
      const at200 = procStatus(child.pid!);
      await waitFor(() => accepted() >= 900, 120_000, "900 cycles");
      const late = await window(900);
      const at1000 = procStatus(child.pid!);
      const cycles = accepted() - 200;
      lines.push(
        `standalone (MQTT.js over mutual TLS to mosquitto, every report answered), on this machine's /proc: RSS over cycles 100-199 ${early}; over cycles 900-999 ${late}; peak ${(at1000.hwmKb / 1024).toFixed(1)} MB`,
      );
      lines.push(
        `standalone: CPU ${((at1000.cpuMs - at200.cpuMs) / cycles).toFixed(2)} ms per cycle, of which ${((at1000.sysMs - at200.sysMs) / cycles).toFixed(2)} ms in the kernel`,
      );
    } finally {
      child.kill("SIGKILL");
      await service.endAsync(true);
    }
  });
}

/** A child that connects, publishes one QoS 1 message, waits for things to settle and prints its RSS (kB). */
const CLIENTS: Record<string, string> = {
  "node alone": `setTimeout(() => console.log(require("fs").readFileSync("/proc/self/status", "utf8").match(/VmRSS:\\s+(\\d+)/)[1]), 1500);`,
  "a TLS connection alone (node:tls, mutual TLS, no MQTT)": `
    const [port, cert, key, ca] = process.argv.slice(2);
    const fs = require("fs");
    const s = require("tls").connect({ host: "localhost", port: Number(port), cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(ca) }, () => {
      setTimeout(() => { console.log(fs.readFileSync("/proc/self/status", "utf8").match(/VmRSS:\\s+(\\d+)/)[1]); process.exit(0); }, 1500);
    });`,
  "MQTT.js 5 (shipped)": `
    const [port, cert, key, ca, topic] = process.argv.slice(2);
    const fs = require("fs");
    const mqtt = require("mqtt");
    const c = mqtt.connect({ host: "localhost", port: Number(port), protocol: "mqtts", protocolVersion: 5, cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(ca), clientId: "bench-mqttjs" });
    c.on("connect", async () => {
      await c.publishAsync(topic, Buffer.alloc(2000, 0x7b), { qos: 1 });
      setTimeout(() => { console.log(fs.readFileSync("/proc/self/status", "utf8").match(/VmRSS:\\s+(\\d+)/)[1]); process.exit(0); }, 1500);
    });`,
  "aws-iot-device-sdk-v2 MQTT 5 (aws-crt)": `
    const [port, cert, key, ca, topic] = process.argv.slice(2);
    const fs = require("fs");
    const { iot, mqtt5 } = require("aws-iot-device-sdk-v2");
    const b = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath("localhost", cert, key);
    b.withPort(Number(port));
    b.withCertificateAuthorityFromPath(undefined, ca);
    b.withConnectProperties({ keepAliveIntervalSeconds: 60, clientId: "bench-crt" });
    const c = new mqtt5.Mqtt5Client(b.build());
    c.on("connectionSuccess", async () => {
      await c.publish({ topicName: topic, qos: mqtt5.QoS.AtLeastOnce, payload: Buffer.alloc(2000, 0x7b) });
      setTimeout(() => { console.log(fs.readFileSync("/proc/self/status", "utf8").match(/VmRSS:\\s+(\\d+)/)[1]); process.exit(0); }, 1500);
    });
    c.on("connectionFailure", (e) => { console.error(e.error && e.error.toString()); process.exit(1); });
    c.start();`,
};

export async function benchMqttClients(lines: string[]): Promise<void> {
  const skip = brokerSkipReason();
  if (skip) return void lines.push(`mqtt clients: not measured (${skip})`);
  await withBroker(({ broker, pki, device, dir }) => {
    const { flags, env } = recipeRun();
    const topic = `$aws/things/${THING}/defender/metrics/json`;
    const figures: string[] = [];
    for (const [name, code] of Object.entries(CLIENTS)) {
      const file = join(dir, `${name.replace(/\W+/g, "-")}.js`);
      writeFileSync(file, code);
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = spawnSync(process.execPath, [...flags, file, String(broker.port), device.cert, device.key, pki.ca, topic], {
          cwd: ROOT,
          encoding: "utf8",
          env: { PATH: process.env.PATH, NODE_PATH: join(ROOT, "node_modules"), ...env },
        });
        if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
        runs.push(Number(r.stdout.trim()) / 1024);
      }
      runs.sort((a, b) => a - b);
      figures.push(`${name} ${runs[2]!.toFixed(1)} MB`);
    }
    lines.push(
      `mqtt clients, each loaded from node_modules, RSS after connecting over mutual TLS and one QoS 1 publish, with the recipe's node flags and environment (median of 5): ${figures.join("; ")}`,
    );
  });
}
