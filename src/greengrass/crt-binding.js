// Stand-in for aws-crt/dist/native/binding.js inside the bundle (wired by scripts/build.ts).
// aws-crt looks for its addon under <bundle dir>/../../bin/<platform>, which does not exist in a
// Greengrass artifact folder; this loads aws-crt-<platform>-<arch>-<libc>.node from the bundle's
// own folder instead, so no environment variable is needed.
"use strict";
const path = require("path");
const fs = require("fs");
const os = require("os");

const CRuntimeType = Object.freeze({ NON_LINUX: "cruntime", MUSL: "musl", GLIBC: "glibc" });

function detectCRuntime() {
  if (os.platform() !== "linux") return CRuntimeType.NON_LINUX;
  // Node reports the glibc version it runs on; musl builds report none.
  const header = process.report && process.report.getReport().header;
  return header && header.glibcVersionRuntime ? CRuntimeType.GLIBC : CRuntimeType.MUSL;
}

const cRuntime = detectCRuntime();
const file = `aws-crt-${os.platform()}-${os.arch()}-${cRuntime}.node`;
const addon = path.join(__dirname, file);
if (!fs.existsSync(addon)) {
  throw new Error(
    `native addon ${file} not found next to the bundle in ${__dirname} ` +
      "(supported platforms: linux x64 and arm64 with glibc)",
  );
}

module.exports = { __esModule: true, default: require(addon), cRuntime, CRuntimeType };
