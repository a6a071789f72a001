// The agent's transport on a Greengrass core: the port (../agent/transport.ts) over the IPC
// connection. AWS IoT Core through the nucleus's MQTT connection (PublishToIoTCore, QoS 1: the
// nucleus spools it), the local bus through PublishToTopic. A refusal for authorization names
// the accessControl grant that would allow it.

import type { CancelController } from "aws-crt/dist/common/cancel";
import { model } from "aws-iot-device-sdk-v2/dist/greengrasscoreipc/client";
import { PublishRefused, type Transport } from "../agent/transport.js";
import { MQTTPROXY, PUBSUB, missingGrant } from "./access-control.js";
import { errorShape, rpcErrorText } from "./ipc.js";
import { type IpcClient, call } from "./ipc-wait.js";

const OPERATION_TIMEOUT_MS = 10_000;

/** What the transport needs of the connection (IpcConnection has it): the live client and its nucleus. */
export interface IpcLink {
  readonly current: IpcClient | undefined;
  readonly nucleus: string | undefined;
}

export class IpcTransport implements Transport {
  constructor(
    private readonly connection: IpcLink,
    readonly maxReportBytes: number | undefined,
  ) {}

  holder(): string | undefined {
    return this.connection.current === undefined ? undefined : this.connection.nucleus;
  }

  publishToIoTCore(topic: string, payload: Uint8Array | string): Promise<void> {
    return this.operation("PublishToIoTCore", MQTTPROXY, topic, (client, c) =>
      client.publishToIoTCore({ topicName: topic, qos: model.QOS.AT_LEAST_ONCE, payload }, { cancelController: c }),
    );
  }

  readonly publishLocal = (topic: string, message: Record<string, unknown>): Promise<void> =>
    this.operation("PublishToTopic", PUBSUB, topic, (client, c) =>
      client.publishToTopic({ topic, publishMessage: { jsonMessage: { message } } }, { cancelController: c }),
    );

  private async operation(
    name: "PublishToIoTCore" | "PublishToTopic",
    service: string,
    topic: string,
    op: (client: IpcClient, c: CancelController) => Promise<unknown>,
  ): Promise<void> {
    const client = this.connection.current;
    if (client === undefined) throw new PublishRefused("not connected to the Greengrass nucleus", name);
    try {
      await call(client, OPERATION_TIMEOUT_MS, name, (c) => op(client, c));
    } catch (err) {
      const fix = errorShape(err) === "UnauthorizedError" ? missingGrant(service, `aws.greengrass#${name}`, topic) : undefined;
      throw new PublishRefused(rpcErrorText(err), name, fix);
    }
  }
}
