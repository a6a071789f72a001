// Which Greengrass runtime started the component, and the limits that differ between them.
// Both hand the component the IPC socket's path; its file name tells them apart: nucleus lite's
// ggipcd listens on <rootPath>/gg-ipc.socket (modules/ggipcd/src/entry.c, GG_IPC_SOCKET_NAME),
// the Java nucleus on <rootPath>/ipc.socket (ipc/IPCEventStreamService.java).

import { basename } from "node:path";

export type Runtime = "nucleus" | "lite";

export function runtimeOf(socketPath: string): Runtime {
  return basename(socketPath) === "gg-ipc.socket" ? "lite" : "nucleus";
}

/**
 * lite refuses any IPC frame over 10,000 bytes, and drops the connection with it
 * (ggipcd/src/ipc_server.h GGL_IPC_MAX_MSG_LEN; ipc_server.c client_ready: "EventStream packet
 * does not fit"). A PublishToIoTCore frame from our transport is the payload in base64 plus
 * ~320 bytes (prelude, headers, JSON keys, and the topic of a 128-character thing name):
 * 7,200 report bytes make 9,916 (test/lite-limits.test.ts builds that frame).
 */
export const LITE_MAX_REPORT_BYTES = 7200;

export function maxReportBytes(runtime: Runtime): number | undefined {
  return runtime === "lite" ? LITE_MAX_REPORT_BYTES : undefined;
}
