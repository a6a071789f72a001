// Generates a proc root in the kernel's exact formats, for benchmarks.

import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, "0");
/** Little-endian rendering of an IPv4 address given as a network-order number. */
const le32 = (be: number) => hex((((be & 0xff) << 24) | ((be & 0xff00) << 8) | ((be >>> 8) & 0xff00) | (be >>> 24)) >>> 0, 8);

const tail = "00000000:00000000 00:00000000 00000000     0        0";

/**
 * The socket files of `opts.tcp` IPv4 and `opts.tcp6` IPv6 established connections and
 * `opts.listeners` listeners, written a chunk at a time (a million rows is 150 MB) to temporary
 * names and renamed into place, so a component reading them meanwhile sees the old files or the new.
 */
export function writeSocketFiles(netDir: string, opts: { tcp: number; tcp6: number; listeners: number; peerOffset?: number }): void {
  const local = 0xc0a8010a; // 192.168.1.10
  const offset = opts.peerOffset ?? 0;
  const write = (name: string, header: string, rows: (emit: (line: string) => void) => void) => {
    const tmp = join(netDir, `.${name}.tmp`);
    const fd = openSync(tmp, "w");
    let chunk = `${header}\n`;
    rows((line) => {
      chunk += `${line}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = "";
      }
    });
    writeSync(fd, chunk);
    closeSync(fd);
    renameSync(tmp, join(netDir, name));
  };
  write("tcp", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", (emit) => {
    let sl = 0;
    for (let i = 0; i < opts.listeners; i++) {
      emit(`${String(sl++).padStart(4)}: ${le32(i % 2 ? local : 0)}:${hex(1000 + i, 4)} 00000000:0000 0A ${tail} ${20000 + i} 1 0000000000000000 100 0 0 10 0`);
    }
    for (let i = 0; i < opts.tcp; i++) {
      const remote = (0x0a000000 + ((i + offset) % 60000) * 7 + 1) >>> 0; // 10.x.y.z peers
      emit(
        `${String(sl++).padStart(4)}: ${le32(local)}:${hex(30000 + (i % 30000), 4)} ${le32(remote)}:${hex(443 + (i % 7), 4)} 01 ${tail} ${100000 + i} 1 0000000000000000 20 4 30 10 -1`,
      );
    }
  });
  write(
    "tcp6",
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    (emit) => {
      const localV6 = "B80D0120000000000000000010000000"; // 2001:db8::10
      for (let i = 0; i < opts.tcp6; i++) {
        const mapped = i % 2 === 0;
        const remote = mapped ? `0000000000000000FFFF0000${le32((0xac100000 + i) >>> 0)}` : `B80D0120000000000000${hex(i & 0xffff, 4)}${le32(i + 1)}`;
        const localAddr = mapped ? `0000000000000000FFFF0000${le32(local)}` : localV6;
        emit(`${String(i).padStart(4)}: ${localAddr}:01BB ${remote}:${hex(1024 + (i % 60000), 4)} 01 ${tail} ${300000 + i} 1 0000000000000000 20 4 30 10 -1`);
      }
    },
  );
}

export function writeSyntheticProc(root: string, opts: { tcp: number; tcp6: number; listeners: number }): number {
  mkdirSync(join(root, "net"), { recursive: true });
  mkdirSync(join(root, "sys/kernel/random"), { recursive: true });
  writeSocketFiles(join(root, "net"), opts);
  writeFileSync(join(root, "net/udp"), "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n");
  writeFileSync(
    join(root, "net/udp6"),
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
  );
  writeFileSync(
    join(root, "net/dev"),
    "Inter-|   Receive                                                |  Transmit\n" +
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
      "    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0\n" +
      "  eth0: 104836224    3096    0    0    0     0          0         0   249739    1817    0    0    0     0       0          0\n",
  );
  writeFileSync(
    join(root, "net/route"),
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
      "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
      "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
  );
  writeFileSync(join(root, "net/fib_trie"), "Local:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 192.168.1.10\n        /32 host LOCAL\n");
  writeFileSync(join(root, "net/if_inet6"), "20010db8000000000000000000000010 02 40 00 00     eth0\n00000000000000000000000000000001 01 80 10 80       lo\n");
  writeFileSync(join(root, "sys/kernel/random/boot_id"), "5b1f3d7e-0000-4000-8000-000000000001\n");
  return opts.tcp + opts.tcp6 + opts.listeners;
}
