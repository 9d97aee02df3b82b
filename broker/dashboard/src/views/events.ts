// Security events (#/events): authentication failures, denials, throttles, session takeovers and revocations,
// filtered by kind, device and time, a page at a time, newest first; new events appear on the first page live.
import { api, query } from '../api.js';
import type { Page, SecurityEvent } from '../api-types.js';
import { fail } from '../failure.js';
import { type Field, filterForm, textField } from '../filters.js';
import { time } from '../format.js';
import { h, replace } from '../h.js';
import { deviceLink, pageTitle } from '../parts.js';
import { dataTable, pager } from '../table.js';
import type { ViewContext } from '../view.js';

/** The kinds the fleet server records (broker/src), grouped as the issue names them. */
const KINDS: readonly (readonly [string, readonly string[]])[] = [
  ['Authentication failures', ['tls.denied', 'auth.denied', 'enroll.denied', 'api.denied']],
  ['Denials', ['acl.denied', 'connect.refused']],
  ['Throttles', ['connect.throttled', 'rate.throttled', 'rate.disconnected', 'limit.packet']],
  ['Takeovers', ['session.takeover']],
  ['Revocations', ['device.revoked', 'session.revoked', 'operator.revoked']],
  [
    'Changes',
    ['device.added', 'device.renewed', 'enroll.succeeded', 'enroll.tokens-created', 'command.queued', 'operator.added'],
  ],
];

const detailText = (d: unknown) => (d === null || d === undefined ? null : JSON.stringify(d));

export async function eventsView(ctx: ViewContext): Promise<void> {
  const { signal } = ctx;
  let filter = {
    event: ctx.query.get('event') ?? '',
    deviceId: ctx.query.get('deviceId') ?? '',
    since: ctx.query.get('since') ?? '',
  };
  const table = dataTable<SecurityEvent>({
    caption: 'Security events, newest first',
    name: 'events',
    columns: [
      { label: 'Time', value: (e) => e.at, cell: (e) => time(e.at), rowHeader: true },
      { label: 'Event', value: (e) => e.event, cell: (e) => h('code', null, e.event) },
      { label: 'Device', value: (e) => e.deviceId, cell: (e) => (e.deviceId ? deviceLink(e.deviceId) : '—') },
      { label: 'Address', value: (e) => e.address },
      { label: 'Actor', value: (e) => e.actor },
      {
        label: 'Detail',
        value: (e) => detailText(e.detail),
        cell: (e) => h('code', null, detailText(e.detail) ?? '—'),
      },
    ],
    empty: 'No security events match.',
  });
  const pages = pager(
    table,
    (cursor) => {
      const since = filter.since ? new Date(filter.since).toISOString() : undefined;
      return api<Page<SecurityEvent>>(
        `/events${query({ limit: 100, cursor, event: filter.event, deviceId: filter.deviceId, since })}`,
        { signal },
      );
    },
    { one: 'event', many: 'events' },
  );

  const kind = h(
    'select',
    { id: 'filter-event', name: 'event' },
    h('option', { value: '' }, 'Any'),
    KINDS.map(([group, names]) =>
      h(
        'optgroup',
        { label: group },
        names.map((n) => h('option', { value: n, selected: n === filter.event }, n)),
      ),
    ),
  );
  const fields: Field[] = [
    { name: 'event', label: 'Event', control: kind },
    textField('deviceId', 'Device id', filter.deviceId, { pattern: '[a-z0-9\\-]{3,64}', autocomplete: 'off' }),
    {
      name: 'since',
      label: 'Since (local time)',
      control: h('input', { id: 'filter-since', name: 'since', type: 'datetime-local', value: filter.since }),
    },
  ];
  const form = filterForm('Filter security events', '/events', fields, (v) => {
    filter = { event: v.event ?? '', deviceId: v.deviceId ?? '', since: v.since ?? '' };
    pages.reset().catch(fail);
  });

  replace(ctx.main, pageTitle('Security events'), form, pages.element, table.element, pages.bottom);
  await pages.reset();
  ctx.ready('events');

  // The stream sends each new event as the list shows it.
  ctx.onLive('security', (e) => {
    if (!pages.atStart) return;
    // The page read may already hold it: stored before the list was read, sent by the stream's next tick. The list is
    // newest first by id, so anything not above its first row is shown already (or older than what is).
    const newest = table.rows[0]?.id;
    if (newest !== undefined && e.id <= newest) return;
    if (filter.event && e.event !== filter.event) return;
    if (filter.deviceId && e.deviceId !== filter.deviceId) return;
    table.prepend(e);
  });
}
