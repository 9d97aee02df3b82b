// The device list (#/devices): one page of 100 at a time (never the whole fleet), filtered by status, and a box to
// open a device by its id.
import { api, query } from '../api.js';
import type { Device, Page } from '../api-types.js';
import { fail } from '../failure.js';
import { deviceState, num, relative, stateBadge, stateText, time } from '../format.js';
import { h, replace } from '../h.js';
import { deviceLink, pageTitle } from '../parts.js';
import { dataTable, pager } from '../table.js';
import type { ViewContext } from '../view.js';

const PAGE = 100;

export const deviceColumns = [
  { label: 'Device', value: (d: Device) => d.id, cell: (d: Device) => deviceLink(d.id), rowHeader: true },
  {
    label: 'Status',
    value: (d: Device) => stateText(deviceState(d)),
    cell: (d: Device) => stateBadge(deviceState(d)),
  },
  { label: 'Type', value: (d: Device) => d.type },
  {
    label: 'Last seen',
    value: (d: Device) => d.lastSeen,
    cell: (d: Device) => (d.lastSeen ? h('span', null, time(d.lastSeen), ` (${relative(d.lastSeen)})`) : 'never'),
  },
  { label: 'Address', value: (d: Device) => d.lastAddress },
  { label: 'Agent', value: (d: Device) => d.agentVersion },
  {
    label: 'Certificate expires',
    value: (d: Device) => d.certificateExpires,
    cell: (d: Device) => time(d.certificateExpires, 'date'),
  },
  {
    label: 'Samples',
    value: (d: Device) => d.telemetryCount,
    cell: (d: Device) => num(d.telemetryCount),
    numeric: true,
  },
];

export async function devicesView(ctx: ViewContext): Promise<void> {
  const { signal } = ctx;
  let status = ctx.query.get('status') ?? '';
  const table = dataTable<Device>({
    caption: 'Devices, in id order',
    name: 'devices',
    columns: deviceColumns,
    empty: 'No devices.',
  });
  const pages = pager(
    table,
    (cursor) => api<Page<Device>>(`/devices${query({ limit: PAGE, cursor, status })}`, { signal }),
    { one: 'device', many: 'devices' },
  );

  const statusSelect = h(
    'select',
    { id: 'device-status', name: 'status' },
    [
      ['', 'All'],
      ['active', 'Active'],
      ['revoked', 'Revoked'],
    ].map(([v, label]) => h('option', { value: v ?? '', selected: v === status }, label ?? '')),
  );
  statusSelect.addEventListener('change', () => {
    status = statusSelect.value;
    history.replaceState(null, '', `#/devices${query({ status })}`);
    pages.reset().catch(fail);
  });

  const idInput = h('input', {
    id: 'device-id',
    name: 'id',
    type: 'text',
    required: true,
    pattern: '[a-z0-9\\-]{3,64}',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const open = h(
    'form',
    { class: 'controls', role: 'search' },
    h('label', { for: 'device-id' }, 'Open device by id'),
    idInput,
    h('button', { type: 'submit' }, 'Open'),
  );
  open.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/devices/${encodeURIComponent(idInput.value.trim())}`;
  });

  replace(
    ctx.main,
    pageTitle('Devices'),
    open,
    h('div', { class: 'controls' }, h('label', { for: 'device-status' }, 'Status'), statusSelect),
    pages.element,
    table.element,
    pages.bottom,
  );
  await pages.reset();
  ctx.ready('devices');
}
