// Runs the built bundle as the nucleus would: a child process with the IPC variables set,
// talking to the NucleusDouble over a real Unix socket.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { BUNDLE } from "../bundle.js";
import { tempDir } from "../helpers.js";
import { NucleusDouble, type NucleusOptions } from "./server.js";

export const THING = "test-thing";
export const COMPONENT = "community.greengrass.DeviceDefender";
/** Test hook: one configured second lasts this many ms, so 300 s is 1.5 s. */
export const MS_PER_SECOND = 5;

export class ComponentProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  constructor(readonly child: ChildProcess) {
    let buf = "";
    child.stderr!.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      const parts = buf.split("\n");
      buf = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stdout!.on("data", (d: Buffer) => this.lines.push(...d.toString("utf8").trim().split("\n")));
    this.exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal, at: Date.now() })));
  }

  async waitForLine(re: RegExp, timeoutMs = 8000, from = 0): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no log line matching ${re} in:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}

export interface Setup {
  nucleus: NucleusDouble;
  workDir: string;
  start(extraEnv?: Record<string, string>): ComponentProcess;
  close(): Promise<void>;
}

export async function setup(configuration: Record<string, unknown>, opts: Partial<NucleusOptions> = {}): Promise<Setup> {
  const dir = tempDir("defender-e2e-");
  const workDir = join(dir, "work");
  const nucleus = new NucleusDouble({
    socketPath: join(dir, "ipc.socket"),
    svcuid: "svcuid-secret-token",
    thingName: THING,
    componentName: COMPONENT,
    configuration,
    ...opts,
  });
  await nucleus.start();
  const procs: ComponentProcess[] = [];
  return {
    nucleus,
    workDir,
    start(extraEnv = {}) {
      require("node:fs").mkdirSync(workDir, { recursive: true });
      const child = spawn(process.execPath, [BUNDLE], {
        cwd: workDir,
        env: {
          PATH: process.env.PATH,
          AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: nucleus.opts.socketPath,
          SVCUID: nucleus.opts.svcuid,
          AWS_IOT_THING_NAME: THING,
          DEFENDER_TEST_MS_PER_SECOND: String(MS_PER_SECOND),
          ...extraEnv,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const p = new ComponentProcess(child);
      procs.push(p);
      return p;
    },
    async close() {
      await Promise.all(procs.map((p) => p.stop()));
      await nucleus.stop();
    },
  };
}
