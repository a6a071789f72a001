// Reading one proc file and parsing it, with the error a custom metric source reports.

import { CollectError } from "../collector.js";
import type { CollectContext } from "../context.js";

export function readParsed<T>(ctx: CollectContext, rel: string, parse: (text: string) => T | undefined): T {
  const text = ctx.fs.read(rel);
  if (text === "") throw new CollectError(`cannot read ${ctx.fs.path(rel)}`);
  const v = parse(text);
  if (v === undefined) throw new CollectError(`cannot parse ${ctx.fs.path(rel)}`);
  return v;
}
