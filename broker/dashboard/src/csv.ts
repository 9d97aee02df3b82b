// CSV text for a table's export (pure, so a unit test runs it in Node): RFC 4180 quoting, and cells a
// spreadsheet would run as a formula made inert
// (OWASP "CSV Injection": a leading = + - @, tab or carriage return gets a ' in front).

export type Cell = string | number | boolean | null | undefined;

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  // Numbers are data, not formulas: -3 stays -3. Text that starts like a formula does not.
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return `${[header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
