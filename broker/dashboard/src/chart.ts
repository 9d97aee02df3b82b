// Time charts with uPlot. The canvas is hidden from assistive technology: each chart comes with a one-line
// summary and its data as a table (in a <details>), and a legend that names every series in words.
import uPlot from 'uplot';
import { append, type Child, h } from './h.js';

export interface Series {
  readonly label: string;
  /** A CSS custom property on :root holding the colour (light and dark differ). */
  readonly color: string;
  readonly values: readonly (number | null)[];
  readonly kind?: 'line' | 'bars' | 'area';
  /** What the legend shows at the cursor (default: the value); stacked series show their own count. */
  readonly valueAt?: (index: number) => string;
}

export interface ChartOptions {
  readonly title: string;
  /** One sentence a screen reader hears instead of the picture. */
  readonly summary: string;
  /** Seconds since the epoch, ascending. */
  readonly x: readonly number[];
  readonly series: readonly Series[];
  readonly y?: { readonly min?: number; readonly max?: number; readonly label?: string };
  readonly height?: number;
  /** The same data as a table (the text alternative), shown on demand. */
  readonly table?: Child;
  readonly testid?: string;
  /** Seconds between points (an hour by default): how far a single point's axis reaches either side. */
  readonly step?: number;
}

export interface Chart {
  readonly element: HTMLElement;
  destroy(): void;
}

const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

let chartIds = 0;

export function timeChart(opts: ChartOptions): Chart {
  const id = `chart-${++chartIds}`;
  const height = opts.height ?? 220;
  const plot = h('div', { class: 'chart-plot', 'aria-hidden': 'true' });
  const legendValues = opts.series.map(() => h('span', { class: 'legend-value' }));
  const legend = h(
    'ul',
    { class: 'chart-legend', 'aria-hidden': 'true' },
    opts.series.map((s, i) => {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = cssVar(s.color);
      return h('li', null, swatch, s.label, legendValues[i]);
    }),
  );
  const element = h(
    'figure',
    { class: 'chart', 'aria-labelledby': `${id}-title`, 'data-testid': opts.testid ?? null },
    h('figcaption', { id: `${id}-title`, class: 'chart-title' }, opts.title),
    h('p', { class: 'chart-summary' }, opts.summary),
    legend,
    plot,
    opts.table ? h('details', { class: 'chart-data' }, h('summary', null, 'Data as a table'), opts.table) : null,
  );

  const text = cssVar('--fg-muted');
  const grid = cssVar('--grid');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const bars = uPlot.paths.bars?.({ size: [0.7, 40] });
  const options: uPlot.Options = {
    width: 600,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // Bars stand on their hour: half a step of room either side keeps the first and last whole.
      x: opts.series.some((s) => s.kind === 'bars')
        ? { time: true, range: (_u, min, max) => [min - (opts.step ?? 3600) / 2, max + (opts.step ?? 3600) / 2] }
        : { time: true },
      y: {
        range: (_u, min, max): uPlot.Range.MinMax => [opts.y?.min ?? Math.min(0, min), opts.y?.max ?? (max || 1)],
      },
    },
    axes: [axis, { ...axis, ...(opts.y?.label ? { label: opts.y.label } : {}), size: 64 }],
    series: [
      {},
      ...opts.series.map((s): uPlot.Series => {
        const color = cssVar(s.color);
        // uPlot shows the points only when they are few enough to see apart (one alone, say).
        const base: uPlot.Series = { label: s.label, stroke: color, width: 2 };
        if (s.kind === 'bars' && bars) return { ...base, fill: color, paths: bars, width: 0, points: { show: false } };
        if (s.kind === 'area') return { ...base, fill: color, width: 1 };
        return base;
      }),
    ],
    hooks: {
      setCursor: [
        (u) => {
          const idx = u.cursor.idx;
          opts.series.forEach((s, i) => {
            const el = legendValues[i];
            if (!el) return;
            if (idx === null || idx === undefined) el.textContent = '';
            else el.textContent = `: ${s.valueAt ? s.valueAt(idx) : (s.values[idx] ?? '—')}`;
          });
        },
      ],
    },
  };
  const data = [opts.x, ...opts.series.map((s) => s.values)] as uPlot.AlignedData;
  const u = new uPlot(options, data, plot);
  const only = opts.x.length === 1 ? opts.x[0] : undefined;
  // One point alone makes an empty x range, which uPlot widens to years: show a step either side instead.
  if (only !== undefined) u.setScale('x', { min: only - (opts.step ?? 3600), max: only + (opts.step ?? 3600) });
  // The figure's width is only known once it is in the page and changes with the window.
  const resize = new ResizeObserver(() => {
    const width = Math.floor(plot.clientWidth);
    if (width > 0 && width !== u.width) u.setSize({ width, height });
  });
  resize.observe(plot);
  return {
    element,
    destroy() {
      resize.disconnect();
      u.destroy();
    },
  };
}

/** Hourly or daily buckets as seconds for uPlot. */
export const seconds = (iso: string) => Date.parse(iso) / 1000;

/** A place in the page whose charts are redrawn as a whole (a new range, a live update). */
export interface ChartSlot {
  readonly element: HTMLElement;
  /** Destroys the charts shown and shows these (and any other content) instead. */
  show(...children: (Chart | Child)[]): void;
  destroy(): void;
}

export function chartSlot(className = 'charts'): ChartSlot {
  const element = h('div', { class: className });
  let charts: Chart[] = [];
  const destroy = () => {
    for (const c of charts) c.destroy();
    charts = [];
  };
  return {
    element,
    show(...children) {
      destroy();
      element.replaceChildren();
      for (const c of children) {
        if (isChart(c)) {
          charts.push(c);
          element.append(c.element);
        } else append(element, [c]);
      }
    },
    destroy,
  };
}

const isChart = (c: unknown): c is Chart =>
  typeof c === 'object' && c !== null && 'destroy' in c && 'element' in c && !(c instanceof Node);
