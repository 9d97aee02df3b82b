// Runs every check on one observed service: pure functions of what the probes saw, plus the scan time.
import type { Finding, ServiceObservation } from '../types.js';
import { exposureCheck, plaintextCheck } from './exposure.js';
import { httpAccessChecks } from './http-access.js';
import { httpContentChecks } from './http-content.js';
import { httpHeaderChecks } from './http-headers.js';
import { llmChecks } from './llm.js';
import { serviceChecks } from './services.js';
import { tlsChecks } from './tls.js';

export { isSensitive, SENSITIVE_PROTOCOLS } from './exposure.js';

export function runChecks(obs: ServiceObservation, now: number): Finding[] {
  const own = [
    ...serviceChecks(obs),
    ...tlsChecks(obs, now),
    ...httpAccessChecks(obs),
    ...httpContentChecks(obs),
    ...httpHeaderChecks(obs),
    ...llmChecks(obs),
    ...plaintextCheck(obs),
  ];
  return [...own, ...exposureCheck(obs, own)];
}
