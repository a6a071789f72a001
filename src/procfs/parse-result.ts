/** What every line-oriented proc parser returns: the records, and how many lines it left out. */
export interface ParseResult<T> {
  records: T[];
  /** Lines that were malformed or truncated and therefore left out. */
  skipped: number;
}
