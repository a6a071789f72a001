// The core's MQTT connection to AWS IoT Core, as the nucleus's MQTT client runs it
// (aws-greengrass-nucleus, src/main/java/com/aws/greengrass/mqttclient/):
//
// - Publishes go through the spooler (spool/Spool.java): in memory by default, 2.5 MB
//   (2621440 bytes of payload; the topic does not count). A payload larger than the whole spool
//   fails with "Message is larger than the size of message spool."; when full, the oldest QoS 0
//   messages are evicted, and if that is not enough the publish fails with "Message spool is
//   full. Message could not be added." QoS 1 messages are never evicted. A successful publish
//   only means "added to the spool" (MqttClient.publish).
// - Offline, a QoS 0 publish fails with "Device is offline. Dropping QoS 0 message." (unless
//   keepQos0WhenOffline), and the QoS 0 messages already spooled are dropped when the connection
//   is interrupted (popOutMessagesWithQosZero).
// - On reconnection the spool is sent in order, back to back (triggerSpooler / runSpooler).
// - A nucleus restart loses the in-memory spool.
// - Requests are checked (MqttClient isValidPublishRequest / isValidRequestTopic): not empty, no
//   wildcard in a publish topic, at most 7 "/" and 256 characters once a "$aws/rules/<rule>/"
//   prefix is removed, payload at most mqtt.maxMessageSizeInBytes (128 KiB, "greater than" fails).
// - A subscription is answered only once the connection is up; while offline the request waits
//   (AwsIotMqtt5Client.subscribe chains on connect(), no timeout in the IPC path).

export const SPOOL_MAX_BYTES = Math.floor(2.5 * 1024 * 1024);
export const MAX_MESSAGE_BYTES = 128 * 1024;

export class MqttRequestError extends Error {}

interface Spooled {
  id: number;
  topic: string;
  qos: 0 | 1;
  payload: Buffer;
}

/** Why a topic is refused by the nucleus's MQTT client, or undefined. */
export function topicProblem(topic: string, forPublish: boolean): string | undefined {
  if (topic === "") return "Topic must not be empty";
  if (forPublish && (topic.includes("#") || topic.includes("+"))) return "The topic of publish request should not contain wildcard characters of '#' or '+'";
  const m = /^\$aws\/rules\/[^/]+\//i.exec(topic);
  const rest = m ? topic.slice(m[0].length) : topic;
  if ((rest.match(/\//g) ?? []).length > 7) {
    return "The topic of request must have no more than 7 forward slashes (/). This excludes the first 3 slashes in the mandatory segments for Basic Ingest topics ($AWS/rules/rule-name/).";
  }
  if (rest.length > 256) {
    return "The topic size of request must be no larger than 256 bytes of UTF-8 encoded characters. This excludes the first 3 mandatory segments for Basic Ingest topics ($AWS/rules/rule-name/).";
  }
  return undefined;
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

export interface CloudSubscriber {
  filter: string;
  deliver(topic: string, payload: Buffer): void;
}

export class CoreMqtt {
  private onlineNow: boolean;
  private readonly spool: Spooled[] = [];
  private spoolBytes = 0;
  private nextId = 1;
  private readonly waiting: Array<() => void> = [];
  readonly subscribers = new Set<CloudSubscriber>();
  keepQos0WhenOffline = false;

  constructor(
    /** AWS IoT Core: where a message goes once it leaves the spool. */
    private readonly cloud: (topic: string, payload: Buffer) => void,
    online: boolean,
    public maxSpoolBytes = SPOOL_MAX_BYTES,
  ) {
    this.onlineNow = online;
  }

  get online(): boolean {
    return this.onlineNow;
  }

  get spooled(): ReadonlyArray<{ topic: string; qos: number; bytes: number }> {
    return this.spool.map((s) => ({ topic: s.topic, qos: s.qos, bytes: s.payload.length }));
  }

  /** MqttClient.publish: validates, spools, and sends when online. Throws with the nucleus's text. */
  publish(topic: string, qos: 0 | 1, payload: Buffer): void {
    const problem = topicProblem(topic, true);
    if (problem) throw new MqttRequestError(problem);
    if (payload.length > MAX_MESSAGE_BYTES) {
      throw new MqttRequestError(`The publishing message size ${payload.length} bytes exceeds the configured limit of ${MAX_MESSAGE_BYTES} bytes`);
    }
    if (!this.onlineNow && qos === 0 && !this.keepQos0WhenOffline) throw new MqttRequestError("Device is offline. Dropping QoS 0 message.");
    if (payload.length > this.maxSpoolBytes) throw new MqttRequestError("Message is larger than the size of message spool.");
    this.spoolBytes += payload.length;
    while (this.spoolBytes > this.maxSpoolBytes) {
      const i = this.spool.findIndex((s) => s.qos === 0);
      if (i < 0) break;
      this.spoolBytes -= this.spool[i]!.payload.length;
      this.spool.splice(i, 1);
    }
    if (this.spoolBytes > this.maxSpoolBytes) {
      this.spoolBytes -= payload.length;
      throw new MqttRequestError("Message spool is full. Message could not be added.");
    }
    this.spool.push({ id: this.nextId++, topic, qos, payload });
    if (this.onlineNow) setImmediate(() => this.drain());
  }

  /** Resolves once the connection is up (a subscription's SUBACK). */
  whenOnline(): Promise<void> {
    if (this.onlineNow) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  setOnline(online: boolean): void {
    if (online === this.onlineNow) return;
    this.onlineNow = online;
    if (!online) {
      // onConnectionInterrupted: spooled QoS 0 messages are dropped.
      for (let i = this.spool.length - 1; i >= 0; i--) {
        if (this.spool[i]!.qos === 0) {
          this.spoolBytes -= this.spool[i]!.payload.length;
          this.spool.splice(i, 1);
        }
      }
      return;
    }
    for (const w of this.waiting.splice(0)) w();
    this.drain();
  }

  /** A nucleus restart: the in-memory spool is gone, and so are the subscriptions. */
  restart(): number {
    const lost = this.spool.length;
    this.spool.length = 0;
    this.spoolBytes = 0;
    this.subscribers.clear();
    this.waiting.length = 0;
    return lost;
  }

  /** A message from IoT Core to the core's subscriptions (each subscriber receives it). */
  fromCloud(topic: string, payload: Buffer): void {
    if (!this.onlineNow) return;
    for (const s of [...this.subscribers]) if (topicMatches(s.filter, topic)) s.deliver(topic, payload);
  }

  private drain(): void {
    while (this.onlineNow && this.spool.length > 0) {
      const m = this.spool.shift()!;
      this.spoolBytes -= m.payload.length;
      this.cloud(m.topic, m.payload);
    }
  }
}
