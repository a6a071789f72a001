// The hourly full collection that lets the component rest at its live size (src/util/memory.ts).

import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { collectGarbageEvery } from "../src/util/memory.js";

describe("collecting garbage between cycles", () => {
  it("collects once per period, never before, and stops when told", () => {
    mock.timers.enable({ apis: ["setInterval"] });
    try {
      let collections = 0;
      const stop = collectGarbageEvery(3_600_000, () => collections++);
      mock.timers.tick(3_599_999);
      assert.equal(collections, 0);
      mock.timers.tick(1);
      assert.equal(collections, 1);
      mock.timers.tick(3 * 3_600_000);
      assert.equal(collections, 4);
      stop();
      mock.timers.tick(10 * 3_600_000);
      assert.equal(collections, 4);
    } finally {
      mock.timers.reset();
    }
  });

  it("the recipe starts node with --expose-gc, so the collection happens on a device", async () => {
    const { recipeRun } = await import("./nucleus/harness.js");
    assert.ok(recipeRun().flags.includes("--expose-gc"));
  });
});
