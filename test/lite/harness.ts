// The real nucleus lite for the end-to-end tests: built once from its sources into the work
// tree's ignored .cache folder, its daemons (ggconfigd, ggipcd, iotcored, ggpubsubd) started as
// plain processes as its README describes for a machine without systemd, iotcored connected
// over mutual TLS to a local mosquitto that stands in for AWS IoT Core (throwaway CA and
// certificates made here with openssl, loopback only). A component is started the way lite's
// systemd unit starts it: recipe-runner inside a cgroup named ggl.<component>.service, which is
// how ggipcd knows the caller (sd_pid_get_unit), with the IPC socket in its environment.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ROOT, tempDir } from "../helpers.js";
import { Pki } from "../pki.js";

/** The lite sources next to the work tree (../shared/greengrass-lite), or where LITE_SRC says. */
const SOURCE_CANDIDATES = [process.env.LITE_SRC, resolve(ROOT, "../shared/greengrass-lite"), "/work/shared/greengrass-lite"];
const BUILD_DIR = join(ROOT, ".cache", "greengrass-lite");
const DAEMONS = ["ggconfigd", "ggipcd", "iotcored", "ggpubsubd"] as const;
/** Core-bus sockets are fixed here (README: each daemon's socket is /run/greengrass/<name>). */
const CORE_BUS = "/run/greengrass";
/** iotcored always connects to port 8883 (iotcored/src/tls.c). */
export const BROKER_PORT = 8883;
const TOOLS = ["cmake", "ninja", "cc", "pkg-config", "mosquitto", "openssl"];

function sourceDir(): string | undefined {
  return SOURCE_CANDIDATES.find((d) => d !== undefined && existsSync(join(d, "aws-greengrass-lite", "CMakeLists.txt")));
}

/** The writable cgroup v2 hierarchy (a unified mount, or /sys/fs/cgroup itself). */
function cgroupRoot(): string | undefined {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  for (const line of mounts) {
    const [left, right] = line.split(" - ");
    if (right?.startsWith("cgroup2 ")) return left!.split(" ")[4];
  }
  return undefined;
}

/** Why the lite suite cannot run here (one line), or undefined when it can. */
export function liteSkipReason(): string | undefined {
  if (process.platform !== "linux") return "nucleus lite runs on Linux only";
  if (process.getuid?.() !== 0) return "needs root: lite's core bus lives in /run/greengrass and components are identified by cgroup (CI runs as root)";
  if (sourceDir() === undefined) return `no lite sources at ${SOURCE_CANDIDATES.filter(Boolean).join(" or ")}`;
  const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length > 0)
    return `missing ${missing.join(", ")} (apt-get install build-essential cmake ninja-build pkg-config mosquitto openssl and lite's -dev packages)`;
  const cg = cgroupRoot();
  if (cg === undefined) return "no cgroup v2 hierarchy mounted (lite identifies components by their cgroup)";
  try {
    const probe = join(cg, "ggl.defender-probe.service");
    mkdirSync(probe, { recursive: true });
    rmdirSync(probe);
  } catch (err) {
    return `cannot create cgroups under ${cg}: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * Why the lite suite cannot run here, building lite first when it can (one line), or undefined
 * when it runs: a machine that cannot build lite (a -dev package missing) skips, saying so.
 */
export function liteUnavailable(): string | undefined {
  const reason = liteSkipReason();
  if (reason !== undefined) return reason;
  try {
    buildLite();
    return undefined;
  } catch (err) {
    const lines = (err as Error).message.split("\n").filter((l) => l.trim() !== "");
    const cause =
      [/CMake Error|error:|No package '.*' found/, /error|not found/i].map((re) => lines.find((l) => re.test(l))).find(Boolean) ?? lines.at(-1) ?? "unknown";
    return `nucleus lite does not build here (${cause.trim().slice(0, 200)}); the whole output is in ${join(BUILD_DIR, "build.log")}`;
  }
}

/** Builds lite once (offline, with the four pinned dependencies), then reuses the build. */
export function buildLite(): string {
  const src = sourceDir()!;
  const bin = join(BUILD_DIR, "bin");
  if (DAEMONS.every((d) => existsSync(join(bin, d))) && existsSync(join(bin, "recipe-runner"))) return bin;
  const deps = (name: string) => join(src, "deps", name);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: src, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
      mkdirSync(BUILD_DIR, { recursive: true });
      writeFileSync(join(BUILD_DIR, "build.log"), r.stdout + r.stderr);
      throw new Error(`${cmd} failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
    }
  };
  run("cmake", [
    "-S",
    join(src, "aws-greengrass-lite"),
    "-B",
    BUILD_DIR,
    "-G",
    "Ninja",
    "-D",
    "CMAKE_BUILD_TYPE=MinSizeRel",
    "-D",
    "FETCHCONTENT_FULLY_DISCONNECTED=ON",
    "-D",
    `FETCHCONTENT_SOURCE_DIR_CORE_MQTT=${deps("core_mqtt")}`,
    "-D",
    `FETCHCONTENT_SOURCE_DIR_AWS_SIGV4=${deps("aws_sigv4")}`,
    "-D",
    `FETCHCONTENT_SOURCE_DIR_GG_SDK=${deps("gg_sdk")}`,
    "-D",
    `FETCHCONTENT_SOURCE_DIR_UNITY=${deps("unity")}`,
  ]);
  run("ninja", ["-C", BUILD_DIR, "-j2"]);
  return bin;
}

/** A process whose output is kept line by line. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      let buf = "";
      stream?.on("data", (d: Buffer) => {
        buf += d.toString("utf8");
        const parts = buf.split("\n");
        buf = parts.pop()!;
        this.lines.push(...parts);
      });
    }
    // "close", not "exit": a step's shell can end before the node it started has written its last line.
    this.exited = new Promise((res) => child.on("close", (code, signal) => res({ code, signal })));
  }
  /** Waits for a line; the timeout only bounds a hung test, it asserts nothing about speed. */
  async waitForLine(re: RegExp, timeoutMs = 60_000, from = 0): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > until) throw new Error(`no line matching ${re} in:\n${this.lines.slice(-60).join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface LiteOptions {
  thingName: string;
  /** services.<name>: {version, configuration} as a deployment would write them. */
  components: Record<string, { version: string; configuration: unknown }>;
}

export class LiteCore {
  readonly root: string;
  readonly pki: Pki;
  readonly daemons = new Map<string, Proc>();
  /** Unset until start() has run mosquitto (a start that failed before it leaves none to stop). */
  broker: Proc | undefined;
  private readonly cgroups: string;

  private constructor(
    readonly dir: string,
    readonly bin: string,
    readonly opts: LiteOptions,
  ) {
    this.root = join(dir, "root");
    mkdirSync(join(dir, "pki"), { recursive: true });
    this.pki = new Pki(join(dir, "pki"));
    this.cgroups = cgroupRoot()!;
  }

  static async start(opts: LiteOptions): Promise<LiteCore> {
    const bin = buildLite();
    const core = new LiteCore(tempDir("defender-lite-"), bin, opts);
    try {
      await core.boot();
    } catch (err) {
      await core.stop();
      throw err;
    }
    return core;
  }

  get socketPath(): string {
    return join(this.root, "gg-ipc.socket");
  }

  private async boot(): Promise<void> {
    const { dir, root, pki } = this;
    for (const sub of [join(dir, "state"), join(dir, "config.d"), join(root, "packages", "recipes"), join(root, "packages", "artifacts"), join(root, "work")])
      mkdirSync(sub, { recursive: true });
    const device = pki.issue("device", this.opts.thingName);
    // mosquitto as IoT Core: mutual TLS, the certificate's CN is the client's identity.
    writeFileSync(
      join(dir, "mosquitto.conf"),
      [
        "per_listener_settings true",
        `listener ${BROKER_PORT} 127.0.0.1`,
        `cafile ${pki.ca}`,
        `certfile ${join(pki.dir, "server.pem")}`,
        `keyfile ${join(pki.dir, "server.key")}`,
        "require_certificate true",
        "use_identity_as_username true",
        "allow_anonymous false",
        "user root",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "log_type subscribe",
        "log_type unsubscribe",
        "",
      ].join("\n"),
    );
    this.broker = new Proc(spawn("mosquitto", ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] }));
    await this.broker.waitForLine(/Opening ipv4 listen socket on port 8883|mosquitto version .* running/, 20_000);
    // The nucleus configuration (ggconfigd -c FILE -C DIR: every file in DIR is merged too).
    const system = { certificateFilePath: device.cert, privateKeyPath: device.key, rootCaPath: pki.ca, rootPath: root, thingName: this.opts.thingName };
    const nucleus = {
      componentType: "NUCLEUS",
      configuration: {
        awsRegion: "eu-west-1",
        iotCredEndpoint: "localhost",
        iotDataEndpoint: "localhost",
        iotRoleAlias: "GreengrassV2TokenExchangeRoleAlias",
        runWithDefault: { posixUser: "root:root" },
      },
    };
    // JSON is YAML: lite's libyaml reader takes it as is.
    writeFileSync(join(dir, "config.yaml"), JSON.stringify({ system, services: { "aws.greengrass.NucleusLite": nucleus } }));
    // One file per component: ggconfigd reads a file of at most 8 KB and 500 objects (config_load.c).
    for (const [name, component] of Object.entries(this.opts.components))
      writeFileSync(join(dir, "config.d", `${name}.yaml`), JSON.stringify({ services: { [name]: component } }));
    // Stale core-bus sockets would make a daemon think another one is listening.
    for (const name of ["gg_config", "ipc_component", "aws_iot_mqtt", "gg_pubsub"]) rmSync(join(CORE_BUS, name), { force: true });
    const daemon = (name: string, args: string[] = []) => {
      const p = new Proc(spawn(join(this.bin, name), args, { cwd: join(dir, "state"), stdio: ["ignore", "pipe", "pipe"] }));
      this.daemons.set(name, p);
      return p;
    };
    await daemon("ggconfigd", ["-c", join(dir, "config.yaml"), "-C", join(dir, "config.d")]).waitForLine(
      /Listening on socket \/run\/greengrass\/gg_config/,
      20_000,
    );
    for (const name of DAEMONS.slice(1)) daemon(name);
    await this.daemons.get("iotcored")!.waitForLine(/Connected to IoT core/, 30_000);
    for (let i = 0; i < 100 && !existsSync(this.socketPath); i++) await new Promise((r) => setTimeout(r, 50));
  }

  /** Installs a component's recipe and artifacts where lite's recipe-runner looks for them. */
  install(name: string, version: string, recipe: string, artifacts: Record<string, string>): void {
    writeFileSync(join(this.root, "packages", "recipes", `${name}-${version}.yaml`), recipe);
    const art = join(this.root, "packages", "artifacts", name, version);
    mkdirSync(art, { recursive: true });
    for (const [file, from] of Object.entries(artifacts)) writeFileSync(join(art, file), readFileSync(from));
    // recipe-runner starts the step in the work folder; lite's deployment creates it (unit WorkingDirectory).
    mkdirSync(join(this.root, "work", name), { recursive: true });
  }

  private cgroup(name: string): string {
    const cg = join(this.cgroups, `ggl.${name}.service`);
    mkdirSync(cg, { recursive: true });
    return cg;
  }

  /**
   * One lifecycle step, as lite's unit for it runs it: recipe-runner inside the unit's cgroup
   * (recipe2unit names them ggl.<name>.install.service and ggl.<name>.service; ggipc-auth's
   * auth.c strips the ".install").
   */
  step(name: string, version: string, phase: "install" | "run", env: Record<string, string> = {}): Proc {
    const cg = this.cgroup(phase === "install" ? `${name}.install` : name);
    const script = `echo $$ > ${cg}/cgroup.procs && exec ${join(this.bin, "recipe-runner")} -n ${name} -v ${version} -p ${phase}`;
    return new Proc(
      spawn("sh", ["-c", script], {
        cwd: join(this.root, "work", name),
        env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: this.socketPath, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  }

  /** A bare IPC client inside the component's cgroup, so ggipcd takes it for that component. */
  ipc(component: string, ops: Array<{ op: string; payload: unknown }>): Proc {
    const cg = this.cgroup(component);
    const client = join(ROOT, "test", "lite", "ipc-client.ts");
    const script = `echo $$ > ${cg}/cgroup.procs && exec ${process.execPath} --import tsx ${client} "$0" "$1" "$2"`;
    return new Proc(spawn("sh", ["-c", script, this.socketPath, component, JSON.stringify(ops)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** What systemd does on `systemctl stop`: SIGTERM to every process of the unit's cgroup. */
  stopUnit(name: string): void {
    const procs = readFileSync(join(this.cgroup(name), "cgroup.procs"), "utf8")
      .split("\n")
      .filter(Boolean);
    for (const pid of procs) {
      try {
        process.kill(Number(pid), "SIGTERM");
      } catch {
        // already gone
      }
    }
  }

  log(daemon: string): string[] {
    return this.daemons.get(daemon)?.lines ?? [];
  }

  async stop(): Promise<void> {
    const procs = [...this.daemons.values(), ...(this.broker ? [this.broker] : [])];
    for (const p of procs) p.child.kill("SIGTERM");
    await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))])));
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    for (const entry of readdirSync(this.cgroups)) {
      if (!entry.startsWith("ggl.")) continue;
      const cg = join(this.cgroups, entry);
      for (const pid of readFileSync(join(cg, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
      for (let i = 0; i < 40; i++) {
        try {
          rmdirSync(cg);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    chmodSync(this.dir, 0o700);
  }
}
