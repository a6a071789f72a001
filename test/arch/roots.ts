// Debian's own Node.js for armhf and arm64, unpacked (not installed) into a folder with
// mmdebstrap --variant=extract and run under qemu-user-static, so the bundle runs on the real
// instruction sets. Both tools come from Debian's packages; the set-up installs them (as root)
// when they are missing. Debian trixie packages Node.js 20.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";

export interface ArchRoot {
  arch: "armhf" | "arm64";
  /** process.arch on it. */
  nodeArch: "arm" | "arm64";
  root: string;
  /** The command that runs its node. */
  node: string[];
}

const QEMU = { armhf: "qemu-arm-static", arm64: "qemu-aarch64-static" } as const;
const CACHE = process.env.DEFENDER_ARCH_CACHE ?? "/var/cache/defender-test-arch";
const MIRROR = "http://deb.debian.org/debian";

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** Installs qemu-user-static and mmdebstrap from Debian's packages when missing (needs root). */
export function ensureTools(): void {
  if (have("qemu-arm-static") && have("qemu-aarch64-static") && have("mmdebstrap")) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { env, stdio: "ignore" });
  execFileSync("apt-get", ["install", "-y", "-qq", "qemu-user-static", "mmdebstrap"], { env, stdio: "ignore" });
}

/** The unpacked root of `arch`, made once and kept in the cache folder. */
export function archRoot(arch: "armhf" | "arm64"): ArchRoot {
  const root = join(CACHE, arch);
  const node = join(root, "usr/bin/node");
  if (!existsSync(node)) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(CACHE, { recursive: true });
    execFileSync("mmdebstrap", ["--quiet", "--variant=extract", `--architectures=${arch}`, "--include=nodejs", "trixie", root, MIRROR], { stdio: "ignore" });
    // trixie's merged /usr: the loader is looked up under /lib, which no package in the extract creates.
    for (const dir of ["lib", "bin"]) if (!existsSync(join(root, dir))) symlinkSync(`usr/${dir}`, join(root, dir));
  }
  return { arch, nodeArch: arch === "armhf" ? "arm" : "arm64", root, node: [QEMU[arch], "-L", root, node] };
}
