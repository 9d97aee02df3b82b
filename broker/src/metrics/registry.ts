// A minimal Prometheus registry: labelled counters, and gauges read at scrape time (text format 0.0.4).
type Labels = Record<string, string>;

interface Counter {
  readonly kind: 'counter';
  readonly help: string;
  readonly values: Map<string, { labels: Labels; value: number }>;
}
interface Gauge {
  readonly kind: 'gauge' | 'counter-fn';
  readonly help: string;
  readonly read: () => number | { labels: Labels; value: number }[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
/** Identifies a label set within one counter; cheaper than its text (no escaping), which only a scrape needs. */
const labelKey = (labels: Labels) => {
  let key = '';
  for (const k in labels) key += `${k}\u0000${labels[k]}\u0000`;
  return key;
};
const labelText = (labels: Labels) => {
  const keys = Object.keys(labels);
  return keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
};

export type Metrics = ReturnType<typeof createMetrics>;

/** `constLabels` go on every series (a cluster node's `node`), before each series' own labels. */
export function createMetrics(constLabels: Labels = {}) {
  const metrics = new Map<string, Counter | Gauge>();
  const text = (labels: Labels) => labelText({ ...constLabels, ...labels });
  return {
    counter(name: string, help: string) {
      const c: Counter = { kind: 'counter', help, values: new Map() };
      metrics.set(name, c);
      return {
        inc(labels: Labels = {}, by = 1): void {
          const key = labelKey(labels);
          const cur = c.values.get(key);
          if (cur) cur.value += by;
          else c.values.set(key, { labels, value: by });
        },
        get(labels: Labels = {}): number {
          return c.values.get(labelKey(labels))?.value ?? 0;
        },
      };
    },
    gauge(name: string, help: string, read: Gauge['read']): void {
      metrics.set(name, { kind: 'gauge', help, read });
    },
    /** A counter whose value another component keeps (read at scrape time). */
    counterFrom(name: string, help: string, read: Gauge['read']): void {
      metrics.set(name, { kind: 'counter-fn', help, read });
    },
    render(): string {
      const out: string[] = [];
      for (const [name, m] of metrics) {
        out.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} ${m.kind === 'gauge' ? 'gauge' : 'counter'}`);
        if (m.kind === 'counter') {
          if (m.values.size === 0) out.push(`${name}${text({})} 0`);
          for (const { labels, value } of m.values.values()) out.push(`${name}${text(labels)} ${value}`);
        } else {
          const v = m.read();
          if (typeof v === 'number') out.push(`${name}${text({})} ${v}`);
          else for (const { labels, value } of v) out.push(`${name}${text(labels)} ${value}`);
        }
      }
      return `${out.join('\n')}\n`;
    },
  };
}
