/**
 * CSV lines (RFC 4180) for admin exports. A cell a spreadsheet would run as a formula (=, +, -,
 * @, tab or CR first) gets an apostrophe in front, since exported fields come from outside.
 */
export function csvLine(cells: readonly string[]): string {
  return (
    cells
      .map((v) => {
        const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
        return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
      })
      .join(',') + '\r\n'
  );
}
