export const USAGE = `Usage: node defender.js <command> [options]

With no command the bundle runs as the Greengrass component (the nucleus sets
AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT, SVCUID and AWS_IOT_THING_NAME).

Commands:
  collect     take one sample and write one report to stdout (exactly what would be published)
    --proc-root DIR            proc file system to read (default /proc)
    --format json|cbor         report encoding (default json)
    --short-names              use the short key names (hed, met, ...)
    --state FILE               read the previous sample's counters from FILE, then save this one's
    --max-list-entries N       cap on each list in the report (default 100)
    --exclude-interfaces LIST  comma-separated interfaces left out of network_stats (default lo)
    --custom-metrics FILE      custom metric definitions, the JSON of the CustomMetrics key
    --file-roots LIST          comma-separated folders "file" sources may read (CustomMetricFileRoots)
  run         the component's loop outside Greengrass: each report to stdout
    --config FILE              configuration JSON, the same keys as the recipe's (see README)
    --interval SECONDS         SampleIntervalSeconds (at least 10 here: nothing goes to the service)
    --state FILE               keep the counters baseline and report id in FILE across runs
    --work-dir DIR             keep state, Detect history and alarms in DIR (read by violations, explore)
    --violations FILE          append violation events as NDJSON (default DIR/violations.ndjson)
    --thing NAME               thing name in violation events (default local)
    --proc-root DIR, --format json|cbor, --short-names   as for collect
    with a connection (standalone, no Greengrass): reports and violations go to AWS IoT Core
    --endpoint HOST            the account's iot:Data-ATS endpoint (aws iot describe-endpoint)
    --port N                   8883 (default), or 443 (ALPN x-amzn-mqtt-ca)
    --cert FILE --key FILE --root-ca FILE   the device's certificate, its key, the CA of the endpoint
    --thing-name NAME          the thing the certificate is attached to
    --client-id ID             MQTT client id (default: the thing name)
                               (the same keys may be in --config; state in --work-dir, default /var/lib/defender)
  check-profile FILE | --default
              validate a security profile (the JSON of aws iot create-security-profile) and lint it;
              exit 1 on errors. --default prints the built-in profile. [--interval S] [--min-datapoints N]
              [--ml-min-datapoints N] [--work-dir DIR: also show that device's ML model status]
  replay --profile FILE --reports FILE [--thing NAME] [--min-datapoints N] [--ml-min-datapoints N] [--history-days D]
              evaluate profiles over NDJSON reports (long or short names; report_id in epoch
              seconds or milliseconds); violation events as NDJSON
  violations [--work-dir DIR] [--json] [--recent N] [--html FILE]
              the active alarms, ML models and recent violation events of the component on this
              device; --html writes them as one offline page, each event linking to its chart
  explore --metric NAME [--around TIME] [--window 2h] [--svg FILE] [--html FILE] [--work-dir DIR]
              a metric's values around a time from the local history (IPs with first/last seen
              for aws:destination-ip-addresses; ML bands); --svg writes a chart with the alarms
              shaded, --html one offline page with the chart, the events and the addresses
              (DIR defaults to $DEFENDER_WORK_DIR or /greengrass/v2/work/community.greengrass.DeviceDefender)
  baseline --profile FILE (--exported FILE... | --merge SKETCHES...) [--out FILE] [--sketch-out FILE]
              the fleet's statistical thresholds: each statisticalThreshold of the profile resolved
              to a static value from exported metrics (one message per line, plain or gzip; files
              or folders, read in name order) of many things; --sketch-out writes this shard's
              sketches, --merge combines shards
  help, --help, -h   show this message
`;
