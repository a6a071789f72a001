export const USAGE = `Usage: node defender.js <command> [options]

Commands:
  collect     take one sample and write one report to stdout (exactly what would be published)
    --proc-root DIR            proc file system to read (default /proc)
    --format json|cbor         report encoding (default json)
    --short-names              use the short key names (hed, met, ...)
    --state FILE               read the previous sample's counters from FILE, then save this one's
    --max-list-entries N       cap on each list in the report (default 100)
    --exclude-interfaces LIST  comma-separated interfaces left out of network_stats (default lo)
  help        show this message
`;

export class UsageError extends Error {}
