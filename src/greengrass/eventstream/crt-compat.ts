// Stands in for the "aws-crt" module inside the bundle when the TypeScript transport is built
// (scripts/build.ts resolves aws-iot-device-sdk-v2's `require("aws-crt")` here). The SDK's
// Greengrass IPC client uses only these parts of aws-crt: eventstream (the transport), cancel
// (pure JavaScript, reused as is), io.SocketOptions (a description of the socket) and CrtError.

import * as cancel from "aws-crt/dist/common/cancel";
import { ClientConnection, ClientStream, CrtError, Header, HeaderType, MessageFlags, MessageType } from "./connection.js";

export const eventstream = { ClientConnection, ClientStream, Header, HeaderType, MessageFlags, MessageType };

export const io = {
  SocketType: { STREAM: 0, DGRAM: 1 } as const,
  SocketDomain: { IPV4: 0, IPV6: 1, LOCAL: 2 } as const,
  SocketOptions: class SocketOptions {
    constructor(
      readonly type = 0,
      readonly domain = 0,
      readonly connect_timeout_ms = 5000,
    ) {}
  },
};

export { cancel, CrtError };
