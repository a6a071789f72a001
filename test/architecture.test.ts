// The shape of src/: no import circles between files or between folders, and the agent core
// behind one transport port (src/agent/transport.ts), importing neither Greengrass nor MQTT.

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "./helpers.js";
import { circles, folderGraph, importGraph } from "./import-graph.js";

const graph = importGraph(join(ROOT, "src"));
const folders = folderGraph(graph);
const TRANSPORTS = ["greengrass", "mqtt"];
const CORE = ["agent", "collect", "config", "core", "custom", "detect", "metrics", "outbox", "page", "procfs", "report", "store", "util"];

describe("the import graph of src/", () => {
  it("finds the imports it is asked about (the graph is not empty by mistake)", () => {
    assert.ok(graph.get("greengrass/component.ts")!.has("core/edge.ts"));
    assert.ok(graph.get("mqtt/standalone.ts")!.has("core/edge.ts"), "both transports stand on the one core");
    assert.ok(graph.get("cli/main.ts")!.has("greengrass/component.ts"), "dynamic imports count");
    assert.deepEqual(
      circles(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set(["a"])],
          ["c", new Set(["a"])],
        ]),
      ),
      [["a", "b"]],
      "a circle is found",
    );
  });

  it("has no circle between files", () => {
    assert.deepEqual(circles(graph), []);
  });

  it("has no circle between folders", () => {
    assert.deepEqual(circles(folders), []);
  });

  it("keeps the core to the port: no core folder imports a transport, and the transports do not import each other", () => {
    for (const core of CORE) {
      const wrong = [...(folders.get(core) ?? [])].filter((f) => TRANSPORTS.includes(f) || f === "cli");
      assert.deepEqual(wrong, [], `src/${core} imports ${wrong.join(", ")}`);
    }
    assert.ok(!folders.get("greengrass")!.has("mqtt") && !folders.get("mqtt")!.has("greengrass"));
    assert.deepEqual(CORE.concat(TRANSPORTS, ["cli"]).sort(), [...folders.keys()].sort(), "every folder is placed");
  });
});
