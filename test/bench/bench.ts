// npm run bench: the figures the README quotes, from one run.

import { readFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { collectSnapshot } from "../../src/collect/collect.js";
import { ProcFS } from "../../src/procfs/fs.js";
import { produceReport } from "../../src/report/produce.js";
import { tempDir } from "../helpers.js";
import { writeSyntheticProc } from "./synthetic-proc.js";

const PROC_FILES = ["net/tcp", "net/tcp6", "net/udp", "net/udp6", "net/dev", "net/route", "net/fib_trie", "net/if_inet6"];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => void, runs: number): number {
  fn(); // warm up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(t);
}

/** The same work the component does per cycle: sample, build, validate, encode. */
function collectOnce(root: string): void {
  const snapshot = collectSnapshot(new ProcFS(root));
  produceReport(snapshot, {
    reportId: Date.now(),
    maxListEntries: 100,
    excludedInterfaces: new Set(["lo"]),
    counterBits: 64,
    previousCounters: {},
    format: "json",
    shortNames: false,
  });
}

function bareRead(root: string): void {
  for (const f of PROC_FILES) {
    try {
      readFileSync(join(root, f), "latin1");
    } catch {
      /* missing file: nothing to read */
    }
  }
}

async function openLoopbackConnections(count: number): Promise<{ sockets: Socket[]; servers: Server[] }> {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  for (const host of ["127.0.0.1", "::1"]) {
    const server = createServer((s) => sockets.push(s));
    await new Promise<void>((res) => server.listen(0, host, res));
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    for (let i = 0; i < count / 2; i += 250) {
      const batch = Array.from({ length: Math.min(250, count / 2 - i) }, () =>
        new Promise<Socket>((res, rej) => {
          const c = createConnection({ host, port }, () => res(c));
          c.once("error", rej);
        }),
      );
      sockets.push(...(await Promise.all(batch)));
    }
  }
  return { sockets, servers };
}

export async function benchMetrics(lines: string[]): Promise<void> {
  const root = join(tempDir("defender-bench-"), "proc");
  const rows = writeSyntheticProc(root, { tcp: 50_000, tcp6: 20_000, listeners: 500 });
  const synthetic = time(() => collectOnce(root), 15);
  lines.push(
    `synthetic (50,000 tcp + 20,000 tcp6 established + 500 listeners, regular files): median ${synthetic.toFixed(1)} ms per collection, ${((synthetic * 1000) / rows).toFixed(2)} µs per row (target < 100 ms)`,
  );

  const idle = time(() => collectOnce("/proc"), 30);
  const idleRead = time(() => bareRead("/proc"), 30);
  lines.push(
    `idle machine, real /proc: median ${idle.toFixed(2)} ms per collection, of which the kernel needs ${idleRead.toFixed(2)} ms to produce the files (target < 8 ms)`,
  );

  const CONNECTIONS = 5_000; // 10,000 ESTABLISHED rows counting both ends; needs ~10,100 fds
  const { sockets, servers } = await openLoopbackConnections(CONNECTIONS);
  try {
    const established = collectSnapshot(new ProcFS("/proc")).establishedConnections?.length ?? 0;
    const collect = time(() => collectOnce("/proc"), 15);
    const read = time(() => bareRead("/proc"), 15);
    lines.push(
      `live /proc with ${CONNECTIONS} loopback connections (${established} ESTABLISHED rows): collection ${collect.toFixed(1)} ms vs bare read ${read.toFixed(1)} ms = ${(collect / read).toFixed(2)}x (target <= 2.5x)`,
    );
  } finally {
    // RST instead of FIN: no TIME_WAIT rows left behind to slow the next run's "idle" figure.
    for (const s of sockets) s.resetAndDestroy();
    for (const s of servers) s.close();
  }
}

async function main(): Promise<void> {
  const lines: string[] = [];
  await benchMetrics(lines);
  lines.push(`peak RSS of the bench process: ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB`);
  process.stdout.write(`${lines.map((l) => `- ${l}`).join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
