// Device Defender reserved topics: lowercase "defender" and format segment (AWS IoT developer
// guide, reserved-topics.html#reserved-topics-device-defender; topic names are case sensitive).

export function reportTopic(thingName: string, format: string): string {
  return `$aws/things/${thingName}/defender/metrics/${format}`;
}
