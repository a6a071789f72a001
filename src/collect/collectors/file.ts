// file: a number or a list read from a file, optionally picked out by a regular expression (its
// first group, or the whole match) and scaled. The configuration that names the file arrives
// through cloud deployments, so reading is bounded and confined:
// - Only files under the allowed roots: /sys, the proc root (and /proc), and the folders listed in
//   CustomMetricFileRoots. Under a proc root, per-process files (<pid>/..., self/..., where
//   environ holds the component's IPC token) and kernel memory (kcore, kmsg, kpage*) are refused:
//   a file source must not be a way to copy a secret to the cloud. The check is made on the path
//   with every symlink resolved.
// - Only regular files (proc and sysfs attributes are regular files): a FIFO, a device such as
//   /dev/zero or a socket is refused; the file is opened non-blocking, so opening never hangs.
// - At most 64 KiB is read; a larger file is an error, not a truncated value.
// - Regular expressions run in linear time (re2js, a port of RE2): no pattern can stall the
//   loop, whatever the file holds.

import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";
import type { RE2JS } from "re2js";
import { CollectError, type Collector, collector } from "../collector.js";
import type { FileSettings } from "../context.js";

export const FILE_SOURCE_MAX_BYTES = 64 * 1024;
const SYSTEM_ROOTS = ["/sys", "/proc"];
const KERNEL_MEMORY = /^(kcore|kmsg|kmem|kpage[a-z]*|sysrq-trigger)$/;

/** Compiles a file source's regular expression (RE2 syntax); throws with the reason. */
export function compileRegex(pattern: string): RE2JS {
  // Loaded on first use: most devices configure no file source, and the component's memory counts.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when used (see above)
  const { RE2JS: re2 } = require("re2js") as typeof import("re2js");
  return re2.compile(pattern);
}

function under(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? undefined : rel;
}

/** Why `path` (symlinks resolved) may not be read by a file source, or undefined when it may. */
export function fileAccessProblem(path: string, extraRoots: readonly string[], procRoot: string): string | undefined {
  const procRoots = [...new Set([procRoot, "/proc"])];
  for (const root of procRoots) {
    const rel = under(root, path);
    if (rel === undefined) continue;
    const first = rel.split(sep)[0]!;
    if (/^\d+$/.test(first) || first === "self" || first === "thread-self")
      return `${path} is a per-process file (it may hold secrets such as the component's environment)`;
    if (KERNEL_MEMORY.test(first)) return `${path} exposes kernel memory`;
    return undefined;
  }
  if ([...SYSTEM_ROOTS, ...extraRoots].some((r) => under(r, path) !== undefined)) return undefined;
  return `${path} is outside the allowed roots (/sys, the proc root, and CustomMetricFileRoots: ${extraRoots.length > 0 ? extraRoots.join(", ") : "none"})`;
}

/** The text of a file a file source may read: confined, non-blocking, bounded. */
export function readConfined(path: string, settings: FileSettings): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new CollectError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const problem = fileAccessProblem(real, settings.extraRoots, settings.procRoot);
  if (problem) throw new CollectError(`refused: ${problem}`);
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    throw new CollectError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new CollectError(`refused: ${path} is not a regular file`);
    const buf = Buffer.allocUnsafe(FILE_SOURCE_MAX_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > FILE_SOURCE_MAX_BYTES) throw new CollectError(`${path} is larger than ${FILE_SOURCE_MAX_BYTES / 1024} KiB`);
    return buf.toString("utf8", 0, n);
  } catch (err) {
    if (err instanceof CollectError) throw err;
    throw new CollectError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export const fileSource: Collector<number | number[] | string[]> = collector({
  custom: { type: "any", needs: ["path"], accepts: ["regex", "scale"] },
  collect(ctx, params) {
    const text = readConfined(params.path!, ctx.fileSettings);
    let items: string[];
    if (params.regex !== undefined) {
      const m = compileRegex(params.regex).matcher(text);
      items = [];
      while (m.find()) items.push(m.groupCount() >= 1 ? (m.group(1) ?? "") : (m.group(0) ?? ""));
    } else {
      items = params.type === "number" ? [text.trim()] : text.split(/[\s,]+/).filter((s) => s !== "");
    }
    if (params.type === "number" || params.type === "number-list") {
      const nums = items.map((s) => (NUMBER.test(s.trim()) ? Number(s) * (params.scale ?? 1) : NaN));
      if (nums.length === 0 || nums.some((n) => !Number.isFinite(n))) {
        throw new CollectError(
          `${params.path} does not hold ${params.type === "number" ? "a number" : "numbers"}${params.regex ? ` matching ${params.regex}` : ""}`,
        );
      }
      return params.type === "number" ? nums[0]! : nums;
    }
    return items.map((s) => s.trim());
  },
});
