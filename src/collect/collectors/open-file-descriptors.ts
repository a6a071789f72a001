// open_file_descriptors: allocated minus unused file handles, from sys/fs/file-nr.

import { parseFileNr } from "../../procfs/file-nr.js";
import { type Collector, collector } from "../collector.js";
import { readParsed } from "./read.js";

export const openFileDescriptors: Collector<number> = collector({
  custom: { type: "number" },
  collect: (ctx) => readParsed(ctx, "sys/fs/file-nr", parseFileNr),
});
