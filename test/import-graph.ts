// The import graph of src/ (static and dynamic relative imports, types included: a circle in
// types is still a circle in the design), its strongly connected parts, and its folder graph.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export type Graph = Map<string, Set<string>>;

/** File → the files it imports, paths relative to `root`. */
export function importGraph(root: string): Graph {
  const graph: Graph = new Map();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) {
        const text = readFileSync(path, "utf8");
        const targets = new Set<string>();
        for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)/g)) {
          targets.add(relative(root, resolve(dirname(path), (m[1] ?? m[2]!).replace(/\.js$/, ".ts"))));
        }
        graph.set(relative(root, path), targets);
      }
    }
  };
  walk(root);
  return graph;
}

/** The circles: strongly connected parts of more than one node (Tarjan). */
export function circles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const part: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      part.push(w);
    } while (w !== v);
    if (part.length > 1) found.push(part.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The same graph between top-level folders of src/ (a file at the top is its own folder). */
export function folderGraph(graph: Graph): Graph {
  const top = (f: string) => f.split("/")[0]!;
  const out: Graph = new Map();
  for (const [file, targets] of graph) {
    const from = top(file);
    if (!out.has(from)) out.set(from, new Set());
    for (const t of targets) if (top(t) !== from) out.get(from)!.add(top(t));
  }
  return out;
}
