// header.report_id: "Monotonically increasing value. Epoch timestamp recommended" (developer
// guide). Seconds are too coarse (two reports in one second would share an id): ids are epoch
// milliseconds, and strictly increasing even when the clock steps back.

export function nextReportId(lastReportId: number | undefined, now: number): number {
  return Math.max(Math.floor(now), (lastReportId ?? 0) + 1);
}
