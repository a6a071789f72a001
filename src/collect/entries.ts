// The entries of the socket lists a sample keeps, and the report's order of them: what the
// socket scan makes, the report cuts and sorts, and Detect reads.

export interface PortEntry {
  port: number;
  interface?: string;
}

export interface ConnectionEntry {
  remote_addr: string;
  local_port: number;
  local_interface?: string;
}

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The report's order of port entries: lowest port first, then interface. */
export const comparePorts = (a: PortEntry, b: PortEntry): number => a.port - b.port || compareStrings(a.interface ?? "", b.interface ?? "");

/** The report's order of connections: by remote endpoint, then local port and interface. */
export const compareConnections = (a: ConnectionEntry, b: ConnectionEntry): number =>
  compareStrings(a.remote_addr, b.remote_addr) || a.local_port - b.local_port || compareStrings(a.local_interface ?? "", b.local_interface ?? "");

/** "10.0.0.5:443" → "10.0.0.5"; "[2001:db8::1]:443" → "2001:db8::1". */
export function ipOf(remoteAddr: string): string {
  // "[v6]:port" or "v4:port"; called for every connection of every sample, so no regular expression.
  const colon = remoteAddr.lastIndexOf(":");
  return remoteAddr.charCodeAt(0) === 91 && remoteAddr.charCodeAt(colon - 1) === 93 ? remoteAddr.slice(1, colon - 1) : remoteAddr.slice(0, colon);
}
