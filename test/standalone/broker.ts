// Debian's mosquitto as AWS IoT Core for the standalone suite: mutual TLS on a loopback port
// (require_certificate, the certificate's CN as the client's identity) and an ACL file that
// mirrors the least-privilege IoT policy of the README's "Standalone" section.

import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Proc } from "../lite/harness.js";
import type { Pki } from "../pki.js";

export const SERVICE_CN = "device-defender-double";

/** Why the suite cannot run here, or undefined. */
export function brokerSkipReason(): string | undefined {
  for (const tool of ["mosquitto", "openssl"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install mosquitto openssl; .ci/run does)`;
  }
  return undefined;
}

/** A free loopback port (asked of the kernel, then released for the broker). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** The device's IoT policy, as mosquitto ACL lines (iot:Publish → write, iot:Subscribe + iot:Receive → read). */
export function deviceAcl(thing: string): string[] {
  const base = `$aws/things/${thing}/defender/metrics`;
  return [
    `user ${thing}`,
    `topic write ${base}/json`,
    `topic write ${base}/cbor`,
    `topic write defender/violations/${thing}`,
    "topic write defender/export",
    ...["json", "cbor"].flatMap((f) => [`topic read ${base}/${f}/accepted`, `topic read ${base}/${f}/rejected`]),
  ];
}

export class Broker {
  proc: Proc | undefined;

  constructor(
    readonly dir: string,
    readonly pki: Pki,
    readonly port: number,
    readonly thing: string,
  ) {
    const acl = [
      ...deviceAcl(thing),
      "",
      `user ${SERVICE_CN}`,
      "topic read $aws/things/+/defender/metrics/+",
      "topic write $aws/things/+/defender/metrics/+/accepted",
      "topic write $aws/things/+/defender/metrics/+/rejected",
      "topic read defender/violations/#",
      "",
    ];
    writeFileSync(join(dir, "acl"), acl.join("\n"));
    writeFileSync(
      join(dir, "mosquitto.conf"),
      [
        `listener ${port} 127.0.0.1`,
        `cafile ${pki.ca}`,
        `certfile ${join(pki.dir, "server.pem")}`,
        `keyfile ${join(pki.dir, "server.key")}`,
        "require_certificate true",
        "use_identity_as_username true",
        "allow_anonymous false",
        `acl_file ${join(dir, "acl")}`,
        // Sessions and their queued QoS 1 messages survive a restart, as they do in IoT Core.
        "persistence true",
        `persistence_location ${dir}/`,
        "user root",
        "log_dest stderr",
        "log_type all",
        "",
      ].join("\n"),
    );
  }

  async start(): Promise<void> {
    this.proc = new Proc(spawn("mosquitto", ["-c", join(this.dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] }));
    await this.proc.waitForLine(/mosquitto version .* running/, 20_000);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = undefined;
    p.child.kill("SIGTERM");
    await p.exited;
  }
}
