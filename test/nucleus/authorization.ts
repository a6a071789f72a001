// IPC authorization as the nucleus does it (aws-greengrass-nucleus, src/main/java/com/aws/greengrass/):
//
// - Policies come from every component's configuration, `accessControl.<destination>.<policy id>`
//   with `operations` and `resources`; the principal is the component that owns the configuration
//   (authorization/AuthorizationPolicyParser.java parseAllAuthorizationPolicies). A policy with
//   no operations is skipped. Policies are re-read whenever accessControl changes (no restart).
// - An operation must be one the destination registered (aws.greengrass.ipc.mqttproxy:
//   PublishToIoTCore, SubscribeToIoTCore; aws.greengrass.ipc.pubsub: PublishToTopic,
//   SubscribeToTopic; plus "*"), then the lookup tries (principal, operation) and
//   (principal, "*") (authorization/AuthorizationHandler.java isAuthorized).
// - Resources match as in authorization/WildcardTrie.java: "*" is any run of characters, "/"
//   included; with the MQTT_STYLE lookup that mqttproxy uses (builtin/services/mqttproxy/
//   MqttProxyIPCAgent.java doAuthorization) "+" filling a whole level matches one level and "#"
//   at the end after "/" matches the rest (and the parent level itself); with STANDARD (pubsub)
//   "+" and "#" are literal. "${*}", "${?}" and "${$}" are the literal characters; any other
//   "${c}" and a bare "?" make that resource invalid, and it is skipped.
// - Recipe variables such as {iot:thingName} in the configuration are substituted only when the
//   nucleus option interpolateComponentConfiguration is true (componentmanager/
//   KernelConfigResolver.java, deployment/DeviceConfiguration.java; default false, nucleus
//   2.6.0+): the config store (./config-store.ts) does that, not this module.
//
// This is written independently of the component's own reading (src/greengrass/access-control.ts):
// a token walk of the pattern rather than a regular expression.

export const MQTTPROXY = "aws.greengrass.ipc.mqttproxy";
export const PUBSUB = "aws.greengrass.ipc.pubsub";

const REGISTERED: Record<string, ReadonlySet<string>> = {
  [MQTTPROXY]: new Set(["aws.greengrass#PublishToIoTCore", "aws.greengrass#SubscribeToIoTCore", "*"]),
  [PUBSUB]: new Set(["aws.greengrass#PublishToTopic", "aws.greengrass#SubscribeToTopic", "*"]),
};

type Token = { kind: "char"; c: string } | { kind: "glob" } | { kind: "plus" } | { kind: "hash" };

/** A resource as tokens, or undefined when the nucleus would refuse it (bad escape, "?"). */
function tokenize(resource: string, mqttStyle: boolean): Token[] | undefined {
  const out: Token[] = [];
  for (let i = 0; i < resource.length; i++) {
    const c = resource[i]!;
    if (c === "$" && resource[i + 1] === "{") {
      const close = resource.indexOf("}", i);
      const inner = close < 0 ? "" : resource.slice(i + 2, close);
      if (inner.length !== 1 || !"*?$".includes(inner)) return undefined;
      out.push({ kind: "char", c: inner });
      i = close;
      continue;
    }
    if (c === "?") return undefined;
    if (c === "*") out.push({ kind: "glob" });
    else if (mqttStyle && c === "+" && (i === 0 || resource[i - 1] === "/") && (i + 1 === resource.length || resource[i + 1] === "/"))
      out.push({ kind: "plus" });
    else if (mqttStyle && c === "#" && i + 1 === resource.length && (i === 0 || resource[i - 1] === "/")) out.push({ kind: "hash" });
    else out.push({ kind: "char", c });
  }
  return out;
}

function matchFrom(tokens: Token[], t: number, s: string, i: number): boolean {
  if (t === tokens.length) return i === s.length;
  const tok = tokens[t]!;
  switch (tok.kind) {
    case "char":
      return s[i] === tok.c && matchFrom(tokens, t + 1, s, i + 1);
    case "glob":
      for (let j = i; j <= s.length; j++) if (matchFrom(tokens, t + 1, s, j)) return true;
      return false;
    case "plus": {
      let j = i;
      while (j < s.length && s[j] !== "/") j++;
      return matchFrom(tokens, t + 1, s, j);
    }
    case "hash":
      // "a/#" matches "a/anything" and "a": the "/" before # is then optional.
      return true;
  }
}

export function resourceMatches(pattern: string, resource: string, mqttStyle: boolean): boolean {
  const tokens = tokenize(pattern, mqttStyle);
  if (tokens === undefined) return false;
  const last = tokens.at(-1);
  if (last?.kind === "hash" && tokens.length >= 2) {
    const parent = tokens.slice(0, -2); // without "/#"
    if (matchFrom(parent, 0, resource, 0)) return true;
  }
  return matchFrom(tokens, 0, resource, 0);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const get = (o: unknown, k: string) => (isObj(o) ? Object.entries(o).find(([x]) => x.toLowerCase() === k.toLowerCase())?.[1] : undefined);

export interface Decision {
  allowed: boolean;
  /** The nucleus's log text for a refusal (AuthorizationHandler.isAuthorized). */
  detail?: string;
}

/** Decides one request of `principal` against its configuration's accessControl. */
export function authorize(principal: string, configuration: unknown, destination: string, operation: string, resource: string): Decision {
  const refused = { allowed: false, detail: `Principal ${principal} is not authorized to perform ${destination}:${operation} on resource ${resource}` };
  if (!REGISTERED[destination]?.has(operation)) return { allowed: false, detail: `Component ${principal} not registered for operation ${operation}` };
  const policies = get(get(configuration, "accessControl"), destination);
  if (!isObj(policies)) return refused;
  const mqttStyle = destination === MQTTPROXY;
  for (const policy of Object.values(policies)) {
    const ops = get(policy, "operations");
    if (!Array.isArray(ops) || ops.length === 0) continue;
    if (!ops.includes(operation) && !ops.includes("*")) continue;
    const resources = get(policy, "resources");
    if (!Array.isArray(resources)) continue;
    if (resources.some((r) => typeof r === "string" && resourceMatches(r, resource, mqttStyle))) return { allowed: true };
  }
  return refused;
}
