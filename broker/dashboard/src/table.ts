// Data tables: a <caption>, column headers with scope, an Export CSV button, and optional cursor paging
// (Previous / Next over the API's `next` cursors) so no view ever holds more than one page of a big list.
import { type Cell, toCsv } from './csv.js';
import { download } from './download.js';
import { fail } from './failure.js';
import { plural } from './format.js';
import { type Child, h, replace } from './h.js';

export interface Column<T> {
  readonly label: string;
  /** The CSV value (and the cell's text unless `cell` is given). */
  readonly value: (row: T) => Cell;
  readonly cell?: (row: T) => Child;
  readonly numeric?: boolean;
  /** This column's cell is the row header (<th scope="row">). */
  readonly rowHeader?: boolean;
}

export interface TableOptions<T> {
  readonly caption: string;
  /** Names the table: data-testid, csv-<name> on its button, <name>.csv. */
  readonly name: string;
  readonly columns: readonly Column<T>[];
  readonly rowAttrs?: (row: T) => Record<string, string>;
  readonly empty?: string;
  /** A long table scrolls in a box of its own (a focusable region, so the keyboard can scroll it). */
  readonly scroll?: boolean;
}

export interface DataTable<T> {
  readonly element: HTMLElement;
  readonly rows: readonly T[];
  setRows(rows: readonly T[]): void;
  prepend(row: T): void;
  /**
   * What Export CSV writes when the table shows one page of a longer list: every row of the list (the pager sets
   * it). `progress` is told the rows fetched so far.
   */
  exportFrom(all: (progress: (rows: number) => void) => Promise<readonly T[]>): void;
}

/** The most rows one export fetches (a hundred requests of the API's largest page). */
export const MAX_EXPORT_ROWS = 100_000;

export function dataTable<T>(opts: TableOptions<T>, initial: readonly T[] = []): DataTable<T> {
  let rows: T[] = [...initial];
  const tbody = h('tbody');
  const table = h(
    'table',
    { 'data-testid': opts.name },
    h('caption', null, opts.caption),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        opts.columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)),
      ),
    ),
    tbody,
  );
  let source: ((progress: (rows: number) => void) => Promise<readonly T[]>) | undefined;
  const label = h('span', null, 'Export CSV');
  const exportCsv = async () => {
    const header = opts.columns.map((c) => c.label);
    let all: readonly T[] = rows;
    if (source) {
      button.disabled = true;
      try {
        all = await source((n) => (label.textContent = `Exporting… ${n} rows`));
      } finally {
        button.disabled = false;
        label.textContent = 'Export CSV';
      }
    }
    download(
      `${opts.name}.csv`,
      toCsv(
        header,
        all.map((r) => opts.columns.map((c) => c.value(r))),
      ),
    );
  };
  const button = h(
    'button',
    {
      type: 'button',
      class: 'csv',
      'data-testid': `csv-${opts.name}`,
      onclick: () => void exportCsv().catch(fail),
    },
    label,
    h('span', { class: 'visually-hidden' }, `: ${opts.caption}`),
  ) as HTMLButtonElement;
  const rowOf = (r: T) =>
    h(
      'tr',
      opts.rowAttrs?.(r) ?? null,
      opts.columns.map((c) => {
        const content: Child = c.cell ? c.cell(r) : String(c.value(r) ?? '—');
        const cls = c.numeric ? 'num' : null;
        return c.rowHeader ? h('th', { scope: 'row', class: cls }, content) : h('td', { class: cls }, content);
      }),
    );
  const draw = () => {
    if (rows.length === 0) {
      replace(tbody, h('tr', null, h('td', { colspan: opts.columns.length, class: 'empty' }, opts.empty ?? 'None.')));
    } else {
      replace(tbody, rows.map(rowOf));
    }
  };
  draw();
  return {
    element: h(
      'div',
      { class: 'table-wrap' },
      h('div', { class: 'table-tools' }, button),
      opts.scroll
        ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': opts.caption }, table)
        : table,
    ),
    get rows() {
      return rows;
    },
    setRows(next) {
      rows = [...next];
      draw();
    },
    exportFrom(all) {
      source = all;
    },
    prepend(row) {
      if (rows.length === 0) {
        rows = [row];
        draw();
        return;
      }
      rows.unshift(row);
      tbody.prepend(rowOf(row));
    },
  };
}

export interface Pager {
  /** Previous / Next above the table. */
  readonly element: HTMLElement;
  /** The same, for below the table (a page is 100 rows long). */
  readonly bottom: HTMLElement;
  /** The first page is shown (where a live row belongs). */
  readonly atStart: boolean;
  /** Loads the first page again (filters changed, or a live update). */
  reset(): Promise<void>;
}

/**
 * Pages a cursor list into `table`: `load(cursor)` fetches one page. Previous goes back through the cursors
 * seen so far (the API's cursors only go forward).
 */
export function pager<T>(
  table: DataTable<T>,
  load: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null }>,
  label: { one: string; many: string },
): Pager {
  const seen: (string | undefined)[] = [];
  let current: string | undefined;
  let next: string | null = null;
  const bars = ['top', 'bottom'].map((where) => {
    const prev = h('button', { type: 'button' }, 'Previous page');
    const fwd = h('button', { type: 'button' }, 'Next page');
    // Only the top bar announces the page change; two live regions would say it twice.
    const status = h('span', { class: 'page-status', 'aria-live': where === 'top' ? 'polite' : null });
    prev.addEventListener('click', () => {
      if (seen.length === 0) return;
      void show(seen.pop()).catch(fail);
    });
    fwd.addEventListener('click', () => {
      if (next === null) return;
      seen.push(current);
      void show(next).catch(fail);
    });
    const element = h('nav', { class: 'pager', 'aria-label': `Pages of ${label.many} (${where})` }, prev, status, fwd);
    return { prev, fwd, status, element };
  });
  const show = async (cursor: string | undefined) => {
    const page = await load(cursor);
    current = cursor;
    next = page.next;
    table.setRows(page.items);
    for (const bar of bars) {
      bar.prev.disabled = seen.length === 0;
      bar.fwd.disabled = next === null;
      bar.status.textContent = `Page ${seen.length + 1}, ${plural(page.items.length, label.one, label.many)}`;
    }
  };
  // Export CSV writes the whole list (as filtered), not the page on screen: every page from the first.
  table.exportFrom(async (progress) => {
    const all: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await load(cursor);
      all.push(...page.items);
      progress(all.length);
      cursor = page.next ?? undefined;
    } while (cursor !== undefined && all.length < MAX_EXPORT_ROWS);
    return all;
  });
  return {
    element: bars[0]!.element,
    bottom: bars[1]!.element,
    get atStart() {
      return seen.length === 0;
    },
    async reset() {
      seen.length = 0;
      await show(undefined);
    },
  };
}
