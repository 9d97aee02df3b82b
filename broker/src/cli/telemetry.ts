// fleet telemetry DEVICE: a device's samples received in a time range, oldest first, read a page at a time.
import { deviceIdArg, parseCli, parseDuration, parsePositiveInt, UsageError } from '../../../shared/src/index.js';
import { timeOf } from '../admin/local-context.js';
import { MAX_PAGE } from '../admin/local.js';
import type { StoredSample } from '../admin/types.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

/** Samples one run prints at most. */
const MAX_SAMPLES = 1_000_000;

const HELP = `fleet telemetry DEVICE [--from ISO | --since 1h] [--to ISO] [--limit 100] [--json]
                (--data DIR | --server URL …)

Prints the device's samples received from --from (or the last --since) until --to, oldest first, at most
--limit of them (default 100, at most ${MAX_SAMPLES}). The range is on the time the fleet server received each
sample; the DEVICE TIME column is the device's own clock. --json prints an array of
{"ts", "receivedAt", "stream", "seq", "metrics"}.

${TARGET_HELP}`;

export async function telemetryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      ...TARGET_OPTIONS,
      from: { type: 'string' },
      since: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if (positionals.length !== 1) throw new UsageError(`give one DEVICE\n\n${HELP}`);
  const id = deviceIdArg(positionals[0]!);
  if (values.from !== undefined && values.since !== undefined) throw new UsageError('give --from or --since, not both');
  // Compared as numbers (ISO strings sort wrongly for years past 9999), sent as ISO 8601.
  const fromMs =
    values.since !== undefined ? Date.now() - parseDuration(values.since, '--since') : timeOf(values.from, '--from');
  const toMs = timeOf(values.to, '--to');
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) throw new UsageError('--from must be before --to');
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const [from, to] = [iso(fromMs), iso(toMs)];
  const limit = parsePositiveInt(values.limit, '--limit', 100, MAX_SAMPLES);

  const admin = openAdmin(values);
  try {
    const samples: StoredSample[] = [];
    let cursor: string | null = null;
    let more = false;
    do {
      const page = await admin.telemetry(id, {
        limit: Math.min(MAX_PAGE, limit - samples.length),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(cursor !== null ? { cursor } : {}),
      });
      samples.push(...page.items);
      cursor = page.next;
      more = cursor !== null && samples.length >= limit;
    } while (cursor !== null && samples.length < limit);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(samples, null, 2)}\n`);
    } else if (samples.length === 0) {
      process.stdout.write(`no samples from ${id} in that range\n`);
    } else {
      process.stdout.write(
        renderTable(
          ['RECEIVED', 'DEVICE TIME', 'STREAM', 'SEQ', 'METRICS'],
          samples.map((s) => [
            s.receivedAt,
            s.ts,
            s.stream,
            s.seq,
            Object.entries(s.metrics)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ]),
        ),
      );
    }
    if (more) process.stderr.write(`more samples follow; raise --limit or narrow the range\n`);
    return 0;
  } finally {
    admin.close();
  }
}
