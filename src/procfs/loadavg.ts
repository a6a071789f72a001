// Parser for /proc/loadavg (fs/proc/loadavg.c): "1.77 1.49 0.87 1/77 17283".

/** The 1-minute load average. */
export function parseLoadavg1m(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s+\d+(?:\.\d+)?\s+\d+(?:\.\d+)?\s/.exec(text);
  return m ? Number(m[1]) : undefined;
}
