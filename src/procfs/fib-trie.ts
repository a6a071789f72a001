// Parser for /proc/net/fib_trie (net/ipv4/fib_trie.c fib_trie_seq_show): the local IPv4
// addresses of the host are the leaves followed by a "/32 host LOCAL" alias line, e.g.
//        |-- 192.0.2.2
//           /32 host LOCAL
// The file prints addresses in dotted form, so no byte-order question arises here.

import { formatIPv4, parseIPv4 } from "./address.js";
import type { ParseResult } from "./parse-result.js";

/** The distinct local addresses (dotted quads), in order of first appearance. */
export function parseFibTrieLocal(text: string): ParseResult<string> {
  const seen = new Set<string>();
  let skipped = 0;
  let leaf: number | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("|--")) {
      leaf = parseIPv4(line.slice(3).trim());
      if (leaf === undefined) skipped++;
    } else if (line.startsWith("/")) {
      if (/^\/32\s+host\s+LOCAL$/.test(line) && leaf !== undefined) seen.add(formatIPv4(leaf));
    } else if (!line.startsWith("+--") && line !== "" && !/^[A-Za-z0-9_]+:$/.test(line)) {
      skipped++;
    }
  }
  return { records: [...seen], skipped };
}
