// Our IP address test against node:net's, which it stands in for (src/util/ip.ts).

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ipVersion, isIPv4, isIPv6 } from "../src/util/ip.js";

/** Texts made of the characters addresses are made of, often almost an address. */
const addressLike = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:.%xz-".split("")), maxLength: 48 }),
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.tuple(fc.ipV6(), fc.string({ unit: fc.constantFrom(..."eth0:.-%_ ".split("")), maxLength: 6 })).map(([a, z]) => `${a}%${z}`),
  fc
    .tuple(fc.ipV6(), fc.nat(40), fc.string({ unit: fc.constantFrom(..."0123456789abcdef:.".split("")), maxLength: 3 }))
    .map(([a, at, s]) => a.slice(0, at) + s + a.slice(at)),
);

describe("IP address text", () => {
  it("answers as node:net does, for 20,000 address-like texts", () => {
    fc.assert(
      fc.property(addressLike, (s) => {
        assert.equal(isIPv4(s), net.isIPv4(s), s);
        assert.equal(isIPv6(s), net.isIPv6(s), s);
        assert.equal(ipVersion(s), net.isIP(s), s);
      }),
      { numRuns: 20_000 },
    );
  });

  it("the edges, written out", () => {
    const cases: Array<[string, 0 | 4 | 6]> = [
      ["0.0.0.0", 4],
      ["255.255.255.255", 4],
      ["256.1.1.1", 0],
      ["01.2.3.4", 0],
      ["1.2.3", 0],
      ["1.2.3.4.", 0],
      ["::", 6],
      ["::1", 6],
      ["1::", 6],
      [":::", 0],
      ["1::2::3", 0],
      ["1:2:3:4:5:6:7:8", 6],
      ["1:2:3:4:5:6:7::", 6],
      ["1:2:3:4:5:6:7:8:9", 0],
      ["::ffff:10.0.0.1", 6],
      ["1:2:3:4:5:6:10.0.0.1", 6],
      ["1:2:3:4:5:6:7:10.0.0.1", 0],
      ["fe80::1%eth0", 6],
      ["fe80::1%", 0],
      ["12345::", 0],
      ["", 0],
    ];
    for (const [s, v] of cases) {
      assert.equal(ipVersion(s), v, s);
      assert.equal(net.isIP(s), v, `node:net disagrees on ${s}`);
    }
  });
});
