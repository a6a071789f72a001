// listening_process_names: command names of the processes that own listening sockets (socket
// inodes of the listening rows of net/tcp*, net/udp*, matched to <pid>/fd links): the first
// question after a "new port" alarm. Processes whose fds may not be read are skipped and counted.
//
// Reading every fd link costs one readlink per fd (about 130 ms for 2,000 processes here), so a
// full scan happens only when the set of listening sockets changes; otherwise only processes that
// appeared since are read. A new port therefore always gets a fresh answer; a process that
// receives an existing listening socket by fd passing is seen at the next change.

import { socketInode } from "../../procfs/fd-link.js";
import { type Collector, collector } from "../collector.js";

export const listeningProcessNames: Collector<string[]> = collector({
  custom: { type: "string-list" },
  collect(ctx) {
    const scan = ctx.sockets();
    const inodes = scan.listenerInodes;
    if (scan.listenerInodesCut) ctx.notes.push(`only the processes of the first ${inodes.size} listening sockets were looked for`);
    const key = [...inodes].sort((a, b) => a - b).join(",");
    const cache = ctx.memory.listeners;
    const rescan = cache.key !== key;
    const byPid = new Map<number, number[] | null>();
    const names = new Set<string>();
    let unreadable = 0;
    for (const pid of ctx.fs.pids()) {
      let sockets = rescan ? undefined : cache.byPid.get(pid);
      if (sockets === undefined) {
        try {
          sockets = ctx.fs
            .fdTargets(pid)
            .map(socketInode)
            .filter((i): i is number => i !== undefined);
        } catch {
          sockets = null; // not ours to read (or gone): skipped and counted
        }
      }
      byPid.set(pid, sockets);
      if (sockets === null) unreadable++;
      else if (sockets.some((i) => inodes.has(i))) {
        const comm = ctx.fs.read(`${pid}/comm`, "utf8").trim();
        if (comm !== "") names.add(comm);
      }
    }
    cache.key = key;
    cache.byPid = byPid;
    if (unreadable > 0) ctx.notes.push(`${unreadable} processes' fds could not be read`);
    return [...names].sort();
  },
});
