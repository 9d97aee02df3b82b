// The attack playbook: every action a rogue device (or an attacker holding the backend's queue) tries, how it
// is tried, and what counts as denied. Each action alternates between a few variants, round by round.
import type { MqttClient } from 'mqtt';
import { deviceTopic } from '../../../shared/src/index.js';
import { flood, publishOnce, rogueConnect, subscribeOnce, telemetryBody, type RogueIdentity } from './rogue-client.js';

export const MQTT_ACTIONS = ['foreign-publish', 'foreign-subscribe', 'wildcard', 'sys', 'flood'] as const;
export const BACKEND_ACTIONS = ['forged-command', 'replayed-command'] as const;
export const FIRMWARE_ACTIONS = ['forged-firmware', 'downgraded-firmware'] as const;
export type MqttAction = (typeof MQTT_ACTIONS)[number];
export type AttackAction = MqttAction | (typeof BACKEND_ACTIONS)[number] | (typeof FIRMWARE_ACTIONS)[number];
export const ALL_ACTIONS: readonly AttackAction[] = [...MQTT_ACTIONS, ...BACKEND_ACTIONS, ...FIRMWARE_ACTIONS];

/** The audit event (and reason) the server must have written for each MQTT action. */
export const AUDIT_EXPECTED: Readonly<Record<MqttAction, string>> = {
  'foreign-publish': 'acl.denied:foreign-topic',
  'foreign-subscribe': 'acl.denied:foreign-topic',
  wildcard: 'acl.denied:wildcard',
  sys: 'acl.denied:sys-topic',
  flood: 'rate.disconnected',
};

export type Verdict = 'denied' | 'accepted' | 'no-answer' | 'not-tried';

/** Runs one MQTT action of round `round` as `rogue` against `victim`; 'not-tried' when it could not connect. */
export async function runMqttAction(
  action: MqttAction,
  url: string,
  rogue: RogueIdentity,
  victim: string,
  round: number,
): Promise<Verdict> {
  const c: MqttClient | undefined = await rogueConnect(url, rogue);
  if (!c) return 'not-tried';
  switch (action) {
    case 'foreign-publish': {
      // Someone else's telemetry, commands (inject a command), retained status, and update offers (push firmware).
      const variants: [string, boolean][] = [
        [deviceTopic(victim, 'telemetry'), false],
        [deviceTopic(victim, 'cmd'), false],
        [deviceTopic(victim, 'status'), true],
        [deviceTopic(victim, 'update'), false],
      ];
      const [topic, retain] = variants[round % variants.length]!;
      return publishOnce(c, topic, telemetryBody(round + 1, `rogue${round}`), retain);
    }
    case 'foreign-subscribe': {
      const variants = [deviceTopic(victim, 'cmd'), deviceTopic(victim, 'telemetry'), deviceTopic(victim, 'update')];
      return subscribeOnce(c, variants[round % variants.length]!);
    }
    case 'wildcard': {
      const variants = ['#', 'fleet/v1/+/telemetry', 'fleet/v1/#', `fleet/v1/${rogue.id}/#`];
      return subscribeOnce(c, variants[round % variants.length]!);
    }
    case 'sys': {
      if (round % 2 === 0) return subscribeOnce(c, '$SYS/#');
      return publishOnce(c, '$SYS/broker/clients/connected', Buffer.from('0'));
    }
    case 'flood':
      return (await flood(c, rogue.id)).verdict;
  }
}
