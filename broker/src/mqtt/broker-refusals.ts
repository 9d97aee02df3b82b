// Packets aedes itself refuses before any policy hook runs: it closes the connection and reports only an error
// message ('clientError'). These are the refusals that are ACL denials, so they are audited like the others.
import type { DenyReason } from './acl.js';

export interface BrokerRefusal {
  readonly action: 'publish' | 'subscribe';
  readonly reason: DenyReason;
}

// aedes 1.2 lib/handlers/publish.js and lib/utils.js validateTopic. The topic itself is not reported; a message
// not listed here is some other client error and stays a debug log line. ('topic has too many levels' is left
// out: it does not say whether a PUBLISH or a SUBSCRIBE carried it.)
const REFUSALS: ReadonlyMap<string, BrokerRefusal> = new Map([
  // [MQTT-3.3.2-2] a PUBLISH topic must not contain wildcards
  ['+ is not allowed in PUBLISH', { action: 'publish', reason: 'wildcard' }],
  ['# is not allowed in PUBLISH', { action: 'publish', reason: 'wildcard' }],
  // [MQTT-4.7.3-1] topics are at least one character long
  ['empty topic not allowed in PUBLISH', { action: 'publish', reason: 'invalid-topic' }],
  ['impossible to SUBSCRIBE to an empty topic', { action: 'subscribe', reason: 'invalid-topic' }],
  // [MQTT-4.7.1-2], [MQTT-4.7.1-3] where wildcards may stand in a filter
  ['# is only allowed in SUBSCRIBE in the last position', { action: 'subscribe', reason: 'invalid-topic' }],
  ['+ is only allowed in SUBSCRIBE between /', { action: 'subscribe', reason: 'invalid-topic' }],
]);

/** The ACL denial an aedes client error stands for, if it is one. */
export function brokerRefusal(err: Error): BrokerRefusal | undefined {
  return REFUSALS.get(err.message);
}
