// Parser for /proc/meminfo (fs/proc/meminfo.c): "Key:   value kB" lines (a few, such as
// HugePages_Total, have no unit). Values come back in bytes.

export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.trimEnd().endsWith("kB") ? 1024 : 1));
  }
  return out;
}
