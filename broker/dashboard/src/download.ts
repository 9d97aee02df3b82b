// Saving a file from the page (a table's CSV export) without a server round trip.

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
