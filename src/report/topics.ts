// Device Defender reserved topics: lowercase "defender" and format segment (AWS IoT developer
// guide, reserved-topics.html#reserved-topics-device-defender; topic names are case sensitive).

export function reportTopic(thingName: string, format: string): string {
  return `$aws/things/${thingName}/defender/metrics/${format}`;
}

/** Where the service answers a report of this format. */
export function responseTopics(thingName: string, format: string): [accepted: string, rejected: string] {
  const base = reportTopic(thingName, format);
  return [`${base}/accepted`, `${base}/rejected`];
}

/** The configured IoT Core topic for violation events, "{thing}" being the thing name. */
export function violationIoTTopic(template: string, thingName: string): string {
  return template.replaceAll("{thing}", thingName);
}
