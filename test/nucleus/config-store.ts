// A component's configuration as the nucleus keeps it (aws-greengrass-nucleus, src/main/java/
// com/aws/greengrass/):
//
// - Keys are case-insensitive; the first spelling seen is kept and a merge in another case
//   updates that node (config/Topics.java with config/CaseInsensitiveString.java).
// - Read as a map, children whose name starts with "_" are left out (Topics.toPOJO). Deployments
//   apply the resolved configuration with REPLACE, so such keys are dropped from it.
// - A deployment resolves the configuration as: the running one, reset paths removed ("" resets
//   everything; array elements cannot be reset), the recipe defaults merged under what remains
//   (they never overwrite a value), then the merge on top (maps deep-merge, anything else
//   replaces, null sets null) (componentmanager/KernelConfigResolver.java
//   resolveConfigurationToApply, removeKeysFromConfigWhichAreReset).
// - Recipe variables in values are substituted only with interpolateComponentConfiguration.
// - Update events carry a key path relative to `configuration`: one per changed leaf; a removed
//   key (or subtree) sends one event with its path (config/Topics.java childChanged/childRemoved,
//   builtin/services/configstore/ConfigStoreIPCEventStreamAgent.java).
// - GetConfiguration of a leaf answers { <name as stored>: value }; a missing key is
//   ResourceNotFoundError "Key not found".

type Json = unknown;
type Obj = Record<string, Json>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface Entry {
  name: string;
  /** A leaf's JSON value, or the Node of a map. */
  value: unknown;
}

/** One map level of the configuration, keyed case-insensitively. */
export class Node {
  readonly children = new Map<string, Entry>();

  static from(o: Obj): Node {
    const n = new Node();
    for (const [k, v] of Object.entries(o)) n.children.set(k.toLowerCase(), { name: k, value: isObj(v) ? Node.from(v) : structuredClone(v) });
    return n;
  }

  get(key: string): Entry | undefined {
    return this.children.get(key.toLowerCase());
  }

  /** Every key, "_" ones included (the running configuration before a deployment resolves it). */
  toMap(): Obj {
    const out: Obj = {};
    for (const { name, value } of this.children.values()) out[name] = value instanceof Node ? value.toMap() : structuredClone(value);
    return out;
  }

  /** Topics.toPOJO: the map, "_" keys left out. */
  toPOJO(): Obj {
    const out: Obj = {};
    for (const { name, value } of this.children.values()) {
      if (name.startsWith("_")) continue;
      out[name] = value instanceof Node ? value.toPOJO() : structuredClone(value);
    }
    return out;
  }
}

function clone(n: Node): Node {
  return Node.from(n.toMap());
}

/** Deep merge of `src` into `dst` (case-insensitive keys; `onlyMissing` never overwrites). */
function mergeInto(dst: Node, src: Obj, onlyMissing: boolean): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = dst.get(k);
    if (isObj(v)) {
      if (cur && cur.value instanceof Node) mergeInto(cur.value, v, onlyMissing);
      else if (!cur || !onlyMissing) dst.children.set(k.toLowerCase(), { name: cur?.name ?? k, value: Node.from(v) });
    } else if (!cur || !onlyMissing) {
      dst.children.set(k.toLowerCase(), { name: cur?.name ?? k, value: structuredClone(v) });
    }
  }
}

function removePointer(root: Node, pointer: string): void {
  if (pointer === "") {
    root.children.clear();
    return;
  }
  const parts = pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node = root;
  for (const p of parts.slice(0, -1)) {
    const e = node.get(p);
    if (!e || !(e.value instanceof Node)) return; // array elements cannot be reset: skipped
    node = e.value;
  }
  node.children.delete(parts.at(-1)!.toLowerCase());
}

function interpolateValues(v: Json, vars: Record<string, string>): Json {
  if (typeof v === "string") return v.replace(/\{([a-zA-Z]+:[a-zA-Z]+)\}/g, (m, name: string) => vars[name] ?? m);
  if (Array.isArray(v)) return v.map((x) => interpolateValues(x, vars));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateValues(x, vars)]));
  return v;
}

export interface ConfigStoreOptions {
  defaults: Obj;
  interpolate: boolean;
  variables: Record<string, string>;
}

export class ConfigStore {
  private root: Node;

  constructor(private readonly opts: ConfigStoreOptions) {
    this.root = Node.from({});
    this.root = this.resolve({}, []);
  }

  /** GetConfiguration: the whole map for [], a leaf wrapped in a one-key map, or undefined. */
  get(keyPath: string[]): Json {
    if (keyPath.length === 0) return this.root.toPOJO();
    let node: Node = this.root;
    for (let i = 0; i < keyPath.length; i++) {
      const e = node.get(keyPath[i]!);
      if (!e) return undefined;
      if (i === keyPath.length - 1) return e.value instanceof Node ? e.value.toPOJO() : { [e.name]: structuredClone(e.value) };
      if (!(e.value instanceof Node)) return undefined;
      node = e.value;
    }
    return undefined;
  }

  /** The whole configuration as components see it. */
  snapshot(): Obj {
    return this.root.toPOJO();
  }

  /** What a deployment with this merge and reset would make of the configuration. */
  resolve(merge: Obj, reset: string[]): Node {
    const next = clone(this.root);
    for (const p of reset) removePointer(next, p);
    mergeInto(next, this.interpolated(this.opts.defaults), true);
    mergeInto(next, this.interpolated(merge), false);
    return Node.from(next.toPOJO()); // REPLACE with the resolved map: "_" keys are gone
  }

  /** Replaces the configuration; returns the update events' key paths. */
  replace(next: Node): string[][] {
    const events: string[][] = [];
    diff(this.root, next, [], events);
    this.root = next;
    return events;
  }

  private interpolated(o: Obj): Obj {
    return this.opts.interpolate ? (interpolateValues(o, this.opts.variables) as Obj) : o;
  }
}

function diff(before: Node, after: Node, path: string[], events: string[][]): void {
  for (const [key, a] of after.children) {
    const b = before.children.get(key);
    const here = [...path, b?.name ?? a.name];
    if (a.value instanceof Node) {
      if (b && b.value instanceof Node) diff(b.value, a.value, here, events);
      else leaves(a.value, here, events);
    } else if (!b || b.value instanceof Node || JSON.stringify(b.value) !== JSON.stringify(a.value)) {
      events.push(here);
    }
  }
  for (const [key, b] of before.children) if (!after.children.has(key)) events.push([...path, b.name]);
}

function leaves(n: Node, path: string[], events: string[][]): void {
  for (const e of n.children.values()) {
    if (e.value instanceof Node) leaves(e.value, [...path, e.name], events);
    else events.push([...path, e.name]);
  }
}
