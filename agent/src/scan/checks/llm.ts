// llm.* checks: pure functions of what the AI probes saw (agent/src/scan/probes/llm.ts). Evidence quotes the probe
// and the relevant part of the answer, already shortened and masked, and ends with a way to repeat it by hand.
import type { AiFacts, AiProbe, Finding, ServiceObservation } from '../types.js';
import { baseUrl, finding } from './finding.js';

const said = (p: AiProbe) => `sent ${p.probe}, answer ${p.answer}`;

function repeat(obs: ServiceObservation, ai: AiFacts): string {
  const k = obs.tls ? '-k' : '';
  const url = `${baseUrl(obs.target, obs.tls !== undefined)}${ai.path}`;
  return `repeat: \`curl ${k ? `${k} ` : ''}-s -H 'Content-Type: application/json' -d '<prompt as JSON>' '${url}'\``;
}

export function llmChecks(obs: ServiceObservation): Finding[] {
  if (obs.facts.protocol !== 'http' || !obs.facts.ai) return [];
  const ai = obs.facts.ai;
  const t = obs.target;
  const out: Finding[] = [];
  const how = repeat(obs, ai);
  if (ai.answeredWithoutAuth && ai.detection)
    out.push(
      finding('llm.no-auth', t, `${ai.kind} at ${ai.path} answered with no credentials: ${said(ai.detection)}; ${how}`),
    );
  if (ai.model)
    out.push(
      finding('llm.model-disclosure', t, `${ai.kind} discloses ${JSON.stringify(ai.model.name)} (${ai.model.source})`),
    );
  const injected = ai.injection.filter((p) => p.hit);
  if (injected.length)
    out.push(
      finding(
        'llm.prompt-injection',
        t,
        `${injected.length} of ${ai.injection.length} planted instructions obeyed ` +
          `(${injected.map((p) => p.style).join(', ')}); ` +
          `${said(injected[0]!)}; ${how}`,
      ),
    );
  const leaked = ai.leak.find((p) => p.hit);
  if (leaked)
    out.push(
      finding(
        'llm.system-prompt-leak',
        t,
        `${said(leaked)}; instruction text not in the probe: ${leaked.detail}; ${how}`,
      ),
    );
  const acted = ai.agency.find((p) => p.hit);
  if (acted)
    out.push(
      finding(
        'llm.excessive-agency',
        t,
        `${said(acted)}${acted.detail ? `; ${acted.detail}` : ''}; no confirmation asked; ${how}`,
      ),
    );
  if (ai.consumption?.hit) out.push(finding('llm.unbounded-consumption', t, `${ai.consumption.detail}; ${how}`));
  return out;
}
