// CSV export of a table: RFC 4180 quoting, and cells a spreadsheet would run as a formula made inert
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

/** Saves `text` as `filename` through a Blob and a temporary <a download>: no server round trip. */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked on the next turn: Chromium starts the download from the click, after this task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
