// Parser for /proc/sys/fs/file-nr (fs/file_table.c proc_nr_files): "allocated unused max".

/** Open file handles: allocated − unused. */
export function parseFileNr(text: string): number | undefined {
  const m = /^(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text.trim());
  return m ? Number(m[1]) - Number(m[2]) : undefined;
}
