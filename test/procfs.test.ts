import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatIPv4, formatIPv6, hexAt, parseIPv4, parseIPv6, wordToNetworkOrder, type IPv6Words } from "../src/procfs/address.js";
import { parseFibTrieLocal } from "../src/procfs/fib-trie.js";
import { ProcFS } from "../src/procfs/fs.js";
import { parseIfInet6 } from "../src/procfs/if-inet6.js";
import { parseNetDev } from "../src/procfs/net-dev.js";
import { parseNetRoute } from "../src/procfs/net-route.js";
import { TCP_ESTABLISHED, TCP_LISTEN, parseNetSockets } from "../src/procfs/net-sockets.js";
import { FIXTURES, procFixture, tempDir } from "./helpers.js";
import { MAX_LINE_BYTES, forEachLine } from "../src/procfs/lines.js";

const read = (root: string, file: string) => readFileSync(join(procFixture(root), file), "latin1");

describe("addresses", () => {
  it("decodes native-endian words for both byte orders (asymmetric, so a swap cannot hide)", () => {
    const word = hexAt("0100007F", 0, 8);
    assert.equal(formatIPv4(wordToNetworkOrder(word, "LE")), "127.0.0.1");
    assert.equal(formatIPv4(wordToNetworkOrder(word, "BE")), "1.0.0.127");
    assert.equal(formatIPv4(wordToNetworkOrder(hexAt("0A01A8C0", 0, 8), "LE")), "192.168.1.10");
    assert.equal(formatIPv4(wordToNetworkOrder(hexAt("C0A8010A", 0, 8), "BE")), "192.168.1.10");
  });

  it("rejects non-hex digits", () => {
    assert.equal(hexAt("0100007G", 0, 8), -1);
    assert.equal(hexAt("01 0007F", 0, 8), -1);
  });

  it("formats IPv6 per RFC 5952", () => {
    const cases: Array<[string, string]> = [
      ["::", "::"],
      ["::1", "::1"],
      ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["FE80::ABCD", "fe80::abcd"],
      ["::ffff:10.0.0.5", "::ffff:a00:5"],
    ];
    for (const [input, want] of cases) assert.equal(formatIPv6(parseIPv6(input)!), want, input);
  });

  it("round-trips any IPv6 address and agrees with the WHATWG URL serializer", () => {
    const word = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.tuple(word, word, word, word), fc.boolean(), (w, sparse) => {
        const words = (sparse ? w.map((x, i) => (i % 2 ? 0 : x)) : w) as IPv6Words;
        const text = formatIPv6(words);
        assert.deepEqual(parseIPv6(text), words);
        const url = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        // URL renders ::ffff:0:0/96 addresses with a dotted tail; compare by value then.
        assert.deepEqual(parseIPv6(url), words);
        if (!url.includes(".")) assert.equal(text, url);
      }),
    );
  });

  it("round-trips any IPv4 address", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (ip) => {
        assert.equal(parseIPv4(formatIPv4(ip)), ip);
      }),
    );
  });
});

describe("net/tcp and friends", () => {
  it("parses the real machine's files and agrees with ss(8) taken at the same moment", () => {
    const fs = new ProcFS(procFixture("real-x86_64"), "LE");
    const ours = new Set<string>();
    const norm = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
    for (const file of ["tcp", "tcp6", "udp", "udp6"] as const) {
      const { records, skipped } = fs.sockets(file);
      assert.equal(skipped, 0);
      for (const r of records) {
        if (file.startsWith("tcp") && r.state !== TCP_LISTEN && r.state !== TCP_ESTABLISHED) continue;
        ours.add(`${file.slice(0, 3)} ${norm(r.localAddress, r.localPort)} ${norm(r.remoteAddress, r.remotePort)}`);
      }
    }
    const theirs = new Set<string>();
    const ssText = readFileSync(join(FIXTURES, "proc", "ss-real-x86_64.txt"), "utf8");
    for (const line of ssText.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 6) continue;
      // ss prints wildcards as "*" / "[::]:*" and mapped addresses as [::ffff:a.b.c.d]; we print plain IPv4.
      const fix = (e: string, wildcard: string) =>
        e
          .replace(/^\[::ffff:([0-9.]+)\]/, "$1")
          .replace(/^\*:(\d+)$/, "[::]:$1")
          .replace(/:\*$/, `:${wildcard}`);
      const localWild = f[4]!.startsWith("[") || f[4]!.startsWith("*") ? "[::]" : "0.0.0.0";
      let peer = fix(f[5]!, "0");
      if (peer === "*:0") peer = `${localWild}:0`;
      theirs.add(`${f[0]} ${fix(f[4]!, "0")} ${peer}`);
    }
    assert.deepEqual([...ours].sort(), [...theirs].sort());
  });

  it("reads fixed fields, any sl width, and counts malformed or truncated lines", () => {
    const { records, skipped } = parseNetSockets(read("tricky", "net/tcp"), { family: 4, byteOrder: "LE" });
    assert.equal(skipped, 4);
    assert.deepEqual(
      records.map((r) => [r.state, r.localAddress, r.localPort, r.remoteAddress, r.remotePort, r.inode]),
      [
        [0x0a, "10.1.2.3", 80, "0.0.0.0", 0, 1001],
        [0x0a, "127.0.0.53", 53, "0.0.0.0", 0, 1002],
        [0x01, "192.168.1.10", 22, "203.0.113.7", 50000, 1003],
        [0x06, "192.168.1.10", 22, "203.0.113.7", 50001, 0],
        [0x02, "192.168.1.10", 40000, "10.0.0.5", 443, 1005],
        [0x08, "192.168.1.10", 40001, "10.0.0.5", 443, 1006],
        [0x01, "192.168.1.10", 40002, "10.0.0.5", 443, 1007],
        [0x01, "10.1.2.3", 8080, "10.0.0.5", 54321, 1010],
      ],
    );
  });

  it("filters by state without counting other states as malformed", () => {
    const { records, skipped } = parseNetSockets(read("tricky", "net/tcp"), {
      family: 4,
      byteOrder: "LE",
      states: new Set([TCP_ESTABLISHED]),
    });
    // The bad-address LISTEN row is not examined past its state, so only 3 are counted here.
    assert.equal(skipped, 3);
    assert.deepEqual(
      records.map((r) => r.localPort),
      [22, 40002, 8080],
    );
  });

  it("renders IPv4-mapped tcp6 peers as IPv4 and keeps pure IPv6", () => {
    const { records, skipped } = parseNetSockets(read("tricky", "net/tcp6"), { family: 6, byteOrder: "LE" });
    assert.equal(skipped, 2);
    assert.deepEqual(
      records.map((r) => `${r.localAddress}|${r.remoteAddress}:${r.remotePort}`),
      ["::|:::0", "192.168.1.10|10.0.0.5:57585", "2001:db8:0:1::10|2001:db8::1:49154", "fe80::1|:::0", "::1|:::0"],
    );
  });

  it("reads tcp6 words big-endian when told to", () => {
    const line =
      "  sl  local\n   0: 20010DB8000000000000000000000001:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1\n";
    assert.equal(parseNetSockets(line, { family: 6, byteOrder: "BE" }).records[0]!.localAddress, "2001:db8::1");
    assert.equal(parseNetSockets(line, { family: 6, byteOrder: "LE" }).records[0]!.localAddress, "b80d:120::100:0");
  });

  it("handles header-only and empty files without phantom rows", () => {
    assert.deepEqual(parseNetSockets("", { family: 4 }), { records: [], skipped: 0 });
    assert.deepEqual(parseNetSockets(read("real-x86_64", "net/udp").split("\n")[0]!, { family: 4 }), {
      records: [],
      skipped: 0,
    });
  });

  it("yields empty lists for missing files (a kernel without IPv6)", () => {
    const fs = new ProcFS(procFixture("no-ipv6"));
    assert.deepEqual(fs.sockets("tcp6"), { records: [], skipped: 0 });
    assert.deepEqual(fs.ipv6Addresses(), { records: [], skipped: 0 });
    assert.deepEqual(fs.problems, []);
  });
});

describe("net/dev", () => {
  it("splits the name at the first colon only and accepts no space after it", () => {
    const { records, skipped } = parseNetDev(read("tricky", "net/dev"));
    assert.equal(skipped, 1);
    assert.deepEqual(records, [
      { name: "lo", rxBytes: 987654, rxPackets: 321, txBytes: 987654, txPackets: 321 },
      { name: "eth0", rxBytes: 1000000, rxPackets: 1000, txBytes: 500000, txPackets: 600 },
      { name: "br-1a2b", rxBytes: 2000, rxPackets: 20, txBytes: 3000, txPackets: 30 },
      { name: "eth0.100", rxBytes: 12345678901, rxPackets: 12345, txBytes: 98765432109, txPackets: 54321 },
    ]);
  });

  it("reads the real machine's file", () => {
    const { records, skipped } = parseNetDev(read("real-x86_64", "net/dev"));
    assert.equal(skipped, 0);
    assert.deepEqual(
      records.map((r) => r.name),
      ["lo", "ifb0", "ifb1", "eth0"],
    );
    assert.ok(records.every((r) => Number.isSafeInteger(r.rxBytes) && r.rxBytes >= 0));
  });
});

describe("routes, fib_trie and if_inet6", () => {
  it("parses net/route with native-endian words", () => {
    const { records, skipped } = parseNetRoute(read("tricky", "net/route"), "LE");
    assert.equal(skipped, 1);
    assert.deepEqual(
      records.map((r) => `${r.iface} ${formatIPv4(r.destination)}/${formatIPv4(r.mask)} via ${formatIPv4(r.gateway)} m${r.metric}`),
      [
        "eth0 0.0.0.0/0.0.0.0 via 192.168.1.1 m100",
        "eth0 192.168.1.0/255.255.255.0 via 0.0.0.0 m100",
        "eth0.100 10.1.2.0/255.255.255.0 via 0.0.0.0 m0",
        "br-1a2b 172.17.0.0/255.255.0.0 via 0.0.0.0 m0",
        "eth0 10.0.0.0/255.0.0.0 via 192.168.1.1 m0",
      ],
    );
  });

  it("takes the local addresses from fib_trie, not broadcast or network entries", () => {
    assert.deepEqual(parseFibTrieLocal(read("tricky", "net/fib_trie")), {
      records: ["10.1.2.3", "127.0.0.1", "192.168.1.10"],
      skipped: 0,
    });
    assert.deepEqual(parseFibTrieLocal(read("real-x86_64", "net/fib_trie")).records, ["127.0.0.1", "192.0.2.2"]);
  });

  it("reads if_inet6 in network byte order", () => {
    const { records, skipped } = parseIfInet6(read("tricky", "net/if_inet6"));
    assert.equal(skipped, 1);
    assert.deepEqual(
      records.map((r) => `${r.address}/${r.prefixLength} ${r.iface}`),
      ["::1/128 lo", "fe80::1/64 eth0", "2001:db8:0:1::10/64 eth0.100", "fe80::1/64 br-1a2b"],
    );
  });
});

describe("parsers never throw", () => {
  const realLines = ["tcp", "tcp6", "udp", "udp6", "dev", "route", "fib_trie", "if_inet6"].flatMap((f) => read("real-x86_64", `net/${f}`).split("\n"));
  // Arbitrary text, and real lines cut, spliced and with characters replaced.
  const mutated = fc.tuple(fc.constantFrom(...realLines), fc.nat(), fc.nat(), fc.string({ maxLength: 8 })).map(([line, a, b, junk]) => {
    const i = a % (line.length + 1);
    const j = i + (b % (line.length - i + 1));
    return line.slice(0, i) + junk + line.slice(j);
  });
  const text = fc.array(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), mutated), { maxLength: 20 }).map((ls) => ls.join("\n"));
  const parsers: Array<[string, (t: string) => { records: unknown[]; skipped: number }]> = [
    ["tcp", (t) => parseNetSockets(t, { family: 4 })],
    ["tcp6", (t) => parseNetSockets(t, { family: 6 })],
    ["dev", parseNetDev],
    ["route", (t) => parseNetRoute(t)],
    ["fib_trie", parseFibTrieLocal],
    ["if_inet6", parseIfInet6],
  ];
  for (const [name, parse] of parsers) {
    it(name, () => {
      fc.assert(
        fc.property(text, (t) => {
          const r = parse(t);
          assert.ok(Array.isArray(r.records) && r.skipped >= 0);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe("socket files are streamed, never held whole", () => {
  const lines = (text: string): { lines: string[]; overlong: number } => {
    const dir = tempDir();
    const path = join(dir, "f");
    writeFileSync(path, text);
    const out: string[] = [];
    const overlong = forEachLine(path, (buf, start, end) => out.push(buf.toString("latin1", start, end)));
    return { lines: out, overlong };
  };

  it("gives each line once across buffer boundaries, the last one without a newline too", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom("a", "b", " ", ":"), maxLength: 300 }), { maxLength: 2000 }), fc.boolean(), (ls, trailing) => {
        const text = ls.join("\n") + (trailing && ls.length > 0 ? "\n" : "");
        // A newline ends a line; text after the last one is a line of its own.
        const expected = text === "" ? [] : text.split("\n");
        if (text.endsWith("\n")) expected.pop();
        assert.deepEqual(lines(text), { lines: expected, overlong: 0 });
      }),
      { numRuns: 40 },
    );
  });

  it("leaves out a line longer than it reads, counted, and goes on with the next", () => {
    const long = "x".repeat(MAX_LINE_BYTES * 40);
    assert.deepEqual(lines(`first\n${long}\nlast\n`), { lines: ["first", "last"], overlong: 1 });
    assert.deepEqual(lines(long), { lines: [], overlong: 1 });
  });

  it("reads a socket file of any size with the same answer as the whole-text parser", () => {
    const text = read("tricky", "net/tcp");
    const header = text.slice(0, text.indexOf("\n") + 1);
    const body = text.slice(header.length);
    const many = header + body.repeat(3000); // ~4 MB, many times the read buffer
    const dir = tempDir();
    mkdirSync(join(dir, "net"));
    writeFileSync(join(dir, "net", "tcp"), many);
    const fs = new ProcFS(dir, "LE");
    const seen: string[] = [];
    const skipped = fs.scanSockets("tcp", new Set([TCP_ESTABLISHED, TCP_LISTEN]), (r) =>
      seen.push(`${r.state} ${r.localAddress()}:${r.localPort} ${r.remoteAddress()}:${r.remotePort}`),
    );
    const whole = parseNetSockets(many, { family: 4, byteOrder: "LE", states: new Set([TCP_ESTABLISHED, TCP_LISTEN]) });
    assert.deepEqual(
      seen,
      whole.records.map((r) => `${r.state} ${r.localAddress}:${r.localPort} ${r.remoteAddress}:${r.remotePort}`),
    );
    assert.equal(skipped, whole.skipped);
  });
});
