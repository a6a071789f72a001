// The built-in profile, on unless DefaultProfile is false: ordinary behaviors (print them with
// `check-profile --default` and copy them) covering the incidents Device Defender exists for.

import type { SecurityProfile } from "./profile-schema.js";

export const DEFAULT_PROFILE: SecurityProfile = {
  securityProfileName: "EdgeDefault",
  securityProfileDescription:
    "Built-in edge profile: remote-management ports, unusual outbound traffic, connection surges and new listening ports, judged against this device's own baseline",
  behaviors: [
    {
      // Telnet on its standard and its IoT-botnet port (Mirai scans 23 and 2323): a deny list.
      name: "NoTelnetListening",
      metric: "aws:listening-tcp-ports",
      criteria: { comparisonOperator: "not-in-port-set", value: { ports: [23, 2323] } },
    },
    {
      // Data exfiltration: normal is at or below the device's 99th percentile of bytes out.
      name: "BytesOutWithinBaseline",
      metric: "aws:all-bytes-out",
      criteria: {
        comparisonOperator: "less-than-equals",
        statisticalThreshold: { statistic: "p99" },
        durationSeconds: 300,
        consecutiveDatapointsToAlarm: 2,
        consecutiveDatapointsToClear: 2,
      },
    },
    {
      name: "PacketsOutWithinBaseline",
      metric: "aws:all-packets-out",
      criteria: {
        comparisonOperator: "less-than-equals",
        statisticalThreshold: { statistic: "p99" },
        durationSeconds: 300,
        consecutiveDatapointsToAlarm: 2,
        consecutiveDatapointsToClear: 2,
      },
    },
    {
      // Botnet or DoS participation: a surge of established connections.
      name: "EstablishedConnectionsWithinBaseline",
      metric: "aws:num-established-tcp-connections",
      criteria: {
        comparisonOperator: "less-than-equals",
        statisticalThreshold: { statistic: "p99" },
        consecutiveDatapointsToAlarm: 2,
        consecutiveDatapointsToClear: 2,
      },
    },
    {
      // A backdoor opened: more listening ports than the device has ever had.
      name: "ListeningTcpPortsWithinBaseline",
      metric: "aws:num-listening-tcp-ports",
      criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p100" } },
    },
    {
      name: "ListeningUdpPortsWithinBaseline",
      metric: "aws:num-listening-udp-ports",
      criteria: { comparisonOperator: "less-than-equals", statisticalThreshold: { statistic: "p100" } },
    },
  ],
  // Kept in the history for `explore`: who the device talked to, around an alarm.
  additionalMetricsToRetainV2: [{ metric: "aws:destination-ip-addresses" }],
};
