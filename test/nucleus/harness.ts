// Runs the built bundle as the nucleus would: a child process with the IPC variables set,
// talking to the NucleusDouble over a real Unix socket. The double's component configuration
// starts from the recipe's own DefaultConfiguration (accessControl included), as a deployment of
// the recipe would.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { decodeFirstSync } from "cbor";
import { toLongNames } from "../../src/report/names.js";
import { ReportSchema } from "../../src/report/schema.js";
import { join } from "node:path";
import { parse } from "yaml";
import { BUNDLE } from "../bundle.js";
import { ROOT, tempDir } from "../helpers.js";
import { NucleusDouble, type NucleusOptions, type Publish } from "./server.js";

export const THING = "test-thing";
export const COMPONENT = "community.greengrass.DeviceDefender";
/** Test hook: one configured second lasts this many ms, so 300 s is 1.5 s. */
export const MS_PER_SECOND = 5;

/** The recipe's DefaultConfiguration, as the nucleus takes it from recipe.yaml. */
export function recipeDefaults(): Record<string, unknown> {
  const recipe = parse(readFileSync(join(ROOT, "recipe.yaml"), "utf8")) as { ComponentConfiguration: { DefaultConfiguration: Record<string, unknown> } };
  return recipe.ComponentConfiguration.DefaultConfiguration;
}

/**
 * How the recipe's Run step starts the component: its node flags and its Setenv (without
 * DEFENDER_WORK_DIR, which the nucleus fills with {work:path}; the tests set the folder).
 */
export function recipeRun(): { flags: string[]; env: Record<string, string> } {
  const recipe = parse(readFileSync(join(ROOT, "recipe.yaml"), "utf8")) as { Lifecycle: { all: { run: { Script: string; Setenv: Record<string, string> } } } };
  const run = recipe.Lifecycle.all.run;
  return {
    flags: run.Script.split(" ").filter((a) => a.startsWith("--")),
    env: Object.fromEntries(Object.entries(run.Setenv).filter(([k]) => k !== "DEFENDER_WORK_DIR")),
  };
}

/** The nucleus double of the benches: in `dir`, configured to read `procRoot`, no report interval enforced. */
export function benchNucleus(dir: string, procRoot: string): NucleusDouble {
  return new NucleusDouble({
    socketPath: join(dir, "ipc.socket"),
    svcuid: "bench",
    thingName: "bench-thing",
    componentName: COMPONENT,
    recipeDefaults: recipeDefaults(),
    configuration: { ProcRoot: procRoot },
    reportIntervalMs: 0,
  });
}

export class ComponentProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    let buf = "";
    child.stderr!.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      const parts = buf.split("\n");
      buf = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stdout!.on("data", (d: Buffer) => this.lines.push(...d.toString("utf8").trim().split("\n")));
    this.exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal })));
  }

  /** Waits for a log line; the timeout only bounds a hung test, it asserts nothing about speed. */
  async waitForLine(re: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        await new Promise((r) => setTimeout(r, 50));
        const late = this.lines.slice(from).find((l) => re.test(l));
        if (late) return late;
        throw new Error(`component exited (${this.child.exitCode ?? this.child.signalCode}) before a line matching ${re}:\n${this.lines.join("\n")}`);
      }
      if (Date.now() > until) throw new Error(`no log line matching ${re} in:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l)).length;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}

export interface Setup {
  nucleus: NucleusDouble;
  workDir: string;
  msPerSecond: number;
  start(extraEnv?: Record<string, string>): ComponentProcess;
  close(): Promise<void>;
}

export interface SetupOptions extends Partial<NucleusOptions> {
  msPerSecond?: number;
  /** How to run node (default: this node); e.g. qemu-arm-static -L ROOT ROOT/usr/bin/node. */
  node?: string[];
}

export async function setup(configuration: Record<string, unknown>, opts: SetupOptions = {}): Promise<Setup> {
  const dir = tempDir("defender-e2e-");
  const workDir = join(dir, "work");
  const msPerSecond = opts.msPerSecond ?? MS_PER_SECOND;
  const { node: nodeCommand, ...nucleusOptions } = opts;
  delete nucleusOptions.msPerSecond; // the component's clock, not an option of the double
  const node = nodeCommand ?? [process.execPath];
  const nucleus = new NucleusDouble({
    socketPath: join(dir, "ipc.socket"),
    svcuid: "svcuid-secret-token",
    thingName: THING,
    componentName: COMPONENT,
    recipeDefaults: recipeDefaults(),
    configuration,
    // The service's 300 s, scaled; the double allows a fifth less for scheduling noise.
    reportIntervalMs: 300 * msPerSecond * 0.8,
    validationTimeoutMs: 30_000,
    ...nucleusOptions,
  });
  await nucleus.start();
  const procs: ComponentProcess[] = [];
  return {
    nucleus,
    workDir,
    msPerSecond,
    start(extraEnv = {}) {
      mkdirSync(workDir, { recursive: true });
      // Started as the recipe starts it: its node flags and environment.
      const run = recipeRun();
      const child = spawn(node[0]!, [...node.slice(1), ...run.flags, BUNDLE], {
        cwd: workDir,
        env: {
          ...run.env,
          PATH: process.env.PATH,
          AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: nucleus.opts.socketPath,
          SVCUID: nucleus.opts.svcuid,
          AWS_IOT_THING_NAME: THING,
          DEFENDER_TEST_MS_PER_SECOND: String(msPerSecond),
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

/** Writes a net/dev with lo and eth0 (rx bytes, rx packets, tx bytes, tx packets). */
export function setDev(root: string, eth0: [number, number, number, number]) {
  const [rb, rp, tb, tp] = eth0;
  writeFileSync(
    join(root, "net/dev"),
    "Inter-|   Receive                                                |  Transmit\n" +
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
      "    lo: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n" +
      `  eth0: ${rb} ${rp} 0 0 0 0 0 0 ${tb} ${tp} 0 0 0 0 0 0\n`,
  );
}

/** A published report, parsed and validated (long names). */
export function report(p: Publish) {
  const doc: unknown = p.topicName.endsWith("/cbor") ? decodeFirstSync(p.payload) : JSON.parse(p.payload.toString("utf8"));
  return ReportSchema.parse(toLongNames(doc));
}
