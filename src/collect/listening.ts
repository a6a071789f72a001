// When a socket row counts as listening: TCP in state LISTEN. UDP has no LISTEN state: a UDP
// socket listens when it has no remote peer (all-zero address and port); connected UDP sockets
// (DNS, NTP clients) do not.

import { TCP_LISTEN } from "../procfs/net-sockets.js";
import type { SocketRecord } from "../procfs/net-sockets.js";

export function isListening(r: SocketRecord, protocol: "tcp" | "udp"): boolean {
  if (protocol === "tcp") return r.state === TCP_LISTEN;
  return r.remotePort === 0 && (r.remoteAddress === "0.0.0.0" || r.remoteAddress === "::");
}
