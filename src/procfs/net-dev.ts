// Parser for /proc/net/dev (net/core/net-procfs.c dev_seq_printf_stats).
//
// Two header lines, then "%6s: %7llu ..." with 8 receive and 8 transmit fields. The name is
// split at the first ':' only: dev_valid_name() forbids ':' and whitespace in names but allows
// '-' and '.' (br-1a2b, eth0.100), and old kernels print no space after the colon.

import type { ParseResult } from "./parse-result.js";

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

export function parseNetDev(text: string): ParseResult<InterfaceCounters> {
  const records: InterfaceCounters[] = [];
  let skipped = 0;
  const lines = text.split("\n");
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon).trim();
    const fields =
      colon < 0
        ? []
        : line
            .slice(colon + 1)
            .trim()
            .split(/\s+/);
    // A counter beyond 2^53 cannot be counted exactly in JavaScript (and no interface has moved
    // 9 PB): the line is left out and counted rather than turned into a bogus delta.
    if (name === "" || /\s/.test(name) || fields.length < 16 || !fields.every((f) => /^\d+$/.test(f) && Number(f) <= Number.MAX_SAFE_INTEGER)) {
      skipped++;
      continue;
    }
    const num = (k: number) => Number(fields[k]);
    records.push({ name, rxBytes: num(0), rxPackets: num(1), txBytes: num(8), txPackets: num(9) });
  }
  return { records, skipped };
}
