// A check of the catalogue (#/checks/ID): what it finds, why it matters, how to fix it, and its references.
// The catalogue is bundled, so this page needs no API call.
import { ApiError } from '../api.js';
import { CHECKS, REFERENCES } from '../catalogue.js';
import { severityBadge } from '../format.js';
import { h, replace } from '../h.js';
import { figure, figures, pageTitle, section } from '../parts.js';
import type { ViewContext } from '../view.js';

export async function checkView(ctx: ViewContext): Promise<void> {
  const id = decodeURIComponent(ctx.params[0] ?? '');
  const def = CHECKS.get(id);
  if (!def) throw new ApiError(404, 'NOT_FOUND', 'Unknown check', `No check is called ${id}.`);
  replace(
    ctx.main,
    h('p', { class: 'crumbs' }, 'Checks / ', h('code', null, def.id)),
    pageTitle(def.title),
    figures(
      figure('Check', h('code', null, def.id), 'check-id'),
      figure('Category', def.category, 'check-category'),
      figure('Severity', severityBadge(def.severity), 'check-severity', 'when reachable from the network'),
      figure('On loopback only', severityBadge(def.loopbackSeverity), 'check-loopback-severity'),
    ),
    section('Why it matters', h('p', null, def.description)),
    section('What the scanner observes', h('p', null, def.evidence)),
    section('Remediation', h('p', { 'data-testid': 'remediation' }, def.remediation)),
    section(
      'References',
      h(
        'ul',
        null,
        def.references.map((r) => {
          const ref = REFERENCES[r];
          return h('li', null, h('a', { href: ref.url, rel: 'noopener noreferrer' }, ref.title));
        }),
      ),
    ),
  );
  ctx.ready('check');
}
