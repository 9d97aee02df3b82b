// The operator audit trail (#/audit, admin only: audit:read): who changed what, from where, and the outcome,
// newest first, filtered by operator and action, a page at a time.
import { api, query } from '../api.js';
import type { AuditRecord, Page } from '../api-types.js';
import { fail } from '../failure.js';
import { filterForm, textField } from '../filters.js';
import { time } from '../format.js';
import { h, replace } from '../h.js';
import { pageTitle } from '../parts.js';
import { dataTable, pager } from '../table.js';
import type { ViewContext } from '../view.js';

const OUTCOME_ICON = { ok: '✓', denied: '✗', failed: '!' } as const;

export async function auditView(ctx: ViewContext): Promise<void> {
  const { signal } = ctx;
  let filter = { operator: ctx.query.get('operator') ?? '', action: ctx.query.get('action') ?? '' };
  const table = dataTable<AuditRecord>({
    caption: 'Operator audit trail, newest first',
    name: 'audit',
    columns: [
      { label: 'Time', value: (r) => r.at, cell: (r) => time(r.at), rowHeader: true },
      { label: 'Operator', value: (r) => r.operator },
      { label: 'Role', value: (r) => r.role },
      { label: 'Action', value: (r) => r.action, cell: (r) => h('code', null, r.action) },
      { label: 'Object', value: (r) => (r.objectType ? `${r.objectType} ${r.objectId ?? ''}`.trim() : null) },
      {
        label: 'Outcome',
        value: (r) => r.outcome,
        cell: (r) =>
          h(
            'span',
            { class: `outcome outcome-${r.outcome}` },
            h('span', { 'aria-hidden': 'true' }, OUTCOME_ICON[r.outcome] ?? '?'),
            ` ${r.outcome}`,
          ),
      },
      { label: 'HTTP status', value: (r) => r.status, numeric: true },
      { label: 'Via', value: (r) => r.via },
      { label: 'Address', value: (r) => r.address },
      {
        label: 'Detail',
        value: (r) => (r.detail ? JSON.stringify(r.detail) : null),
        cell: (r) => (r.detail ? h('code', null, JSON.stringify(r.detail)) : '—'),
      },
    ],
    empty: 'No audit records match.',
  });
  const pages = pager(
    table,
    (cursor) => api<Page<AuditRecord>>(`/audit${query({ limit: 100, cursor, ...filter })}`, { signal }),
    { one: 'record', many: 'records' },
  );
  const form = filterForm(
    'Filter the audit trail',
    '/audit',
    [
      textField('operator', 'Operator', filter.operator, { maxlength: '80', autocomplete: 'off' }),
      textField('action', 'Action', filter.action, {
        maxlength: '64',
        autocomplete: 'off',
        placeholder: 'device.revoke',
      }),
    ],
    (v) => {
      filter = { operator: v.operator ?? '', action: v.action ?? '' };
      pages.reset().catch(fail);
    },
  );
  replace(ctx.main, pageTitle('Audit'), form, pages.element, table.element, pages.bottom);
  await pages.reset();
  ctx.ready('audit');
}
