// The fleet server's metrics: what operators alert on (connections, traffic, denials, throttles, ingest lag).
import { createMetrics } from './registry.js';

export type FleetMetrics = ReturnType<typeof createFleetMetrics>;

/**
 * `node`: a cluster node's id, put on every series as the `node` label. A single node has none (Prometheus's own
 * `instance` label already names the target), so its series stay as they always were.
 */
export function createFleetMetrics(node?: string) {
  const registry = createMetrics(node === undefined ? {} : { node });
  return {
    registry,
    messagesIn: registry.counter('edgeward_messages_in_total', 'MQTT publishes received from devices, by channel'),
    messagesOut: registry.counter('edgeward_messages_out_total', 'MQTT publishes sent to devices'),
    samplesStored: registry.counter('edgeward_samples_stored_total', 'Telemetry samples committed to the database'),
    rejected: registry.counter(
      'edgeward_ingest_rejected_total',
      'Device messages refused by validation, by error code',
    ),
    sealRefused: registry.counter(
      'edgeward_sealed_refused_total',
      'Device messages refused by end-to-end sealing (unsealed, unknown key, not authentic), by error code',
    ),
    duplicates: registry.counter(
      'edgeward_ingest_duplicates_total',
      'Device messages that stored nothing new (a resend, or a replay caught by sequence number or message id)',
    ),
    denials: registry.counter(
      'edgeward_denials_total',
      'Security denials by kind (auth, acl, tls, connect, proxy, enroll) and reason',
    ),
    throttles: registry.counter('edgeward_throttles_total', 'Publishes delayed by a device rate limit'),
    disconnects: registry.counter('edgeward_forced_disconnects_total', 'Sessions the server closed, by reason'),
    takeovers: registry.counter(
      'edgeward_session_takeovers_total',
      'Connections that replaced a live session of the same device',
    ),
    enrollments: registry.counter('edgeward_enrollments_total', 'Enrolment attempts by outcome'),
    downloadBytes: registry.counter('edgeward_download_bytes_total', 'Firmware bundle bytes sent to devices'),
    downloadsRefused: registry.counter(
      'edgeward_downloads_refused_total',
      'Firmware bundle downloads refused, by reason (no-token, bad-token, expired-token, other-device, …)',
    ),
  };
}
