// Parser for /proc/uptime (fs/proc/uptime.c): "2495.71 4163.77", seconds since boot and idle.

export function parseUptime(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s/.exec(text);
  return m ? Number(m[1]) : undefined;
}
