// The operator API's response shapes the dashboard reads (broker/src/api/schemas.ts is authoritative). Those the
// server's own modules declare are imported from them, type-only, so nothing of the server is bundled.
import type { AuditRow as SecurityEvent } from '../../src/db/audit.js';
import type { ReportSummary } from '../../src/db/exposure.js';
import type { DeviceSummary as Device } from '../../src/db/registry.js';

export type Grade = 'A' | 'B' | 'C' | 'D' | 'F';
export const GRADES: readonly Grade[] = ['A', 'B', 'C', 'D', 'F'];
export type GradeCounts = Record<Grade, number>;

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Session {
  operator: string;
  role: 'viewer' | 'operator' | 'release-manager' | 'admin';
  scopes: string[];
  expiresAt: string;
  csrf: string;
}

export interface Overview {
  at: string;
  devices: { total: number; active: number; revoked: number; online: number; offline: number };
  certificates: {
    withinDays: number;
    expiring: number;
    soonest: { deviceId: string; serial: string; notAfter: string }[];
  };
  connections: number;
}

export interface HourlyTelemetry {
  hours: { hour: string; samples: number }[];
}
export interface HourlyEvents {
  hours: { hour: string; events: number }[];
}

export interface Posture {
  devices: number;
  unreported: number;
  averageScore: number | null;
  grades: GradeCounts;
  worst: { deviceId: string; score: number; grade: string; findings: number; at: string }[];
  commonFindings: { check: string; severity: string; devices: number }[];
}

export interface PosturePeriod {
  start: string;
  devices: number;
  reporting: number;
  averageScore: number | null;
  grades: GradeCounts;
  scores: number[];
  /** Left out when asked with checks=false (the overview does). */
  checks?: Record<string, number>;
  partial?: true;
}
export interface PostureHistory {
  resolution: 'day' | 'hour';
  periods: PosturePeriod[];
}

export interface TelemetrySample {
  ts: string;
  receivedAt: string;
  stream: string;
  seq: number;
  metrics: Record<string, number>;
}

export interface Finding {
  check: string;
  severity: string;
  category: string;
  port: number;
  transport: 'tcp' | 'udp';
  title: string;
  evidence: string;
  remediation: string;
  references: string[];
}

export interface ExposureReport {
  id: string;
  ts: number;
  deviceId: string;
  scoringVersion: number;
  score: number;
  grade: string;
  categories: Record<string, number | null>;
  scan: { target: string; durationMs: number; timedOut: boolean; credentialChecks: boolean; truncated: boolean };
  services: {
    port: number;
    transport: string;
    bind: string;
    loopbackOnly: boolean;
    process?: { pid: number; name: string };
    protocol: string;
    tls: boolean;
    product?: string;
    connections?: number;
  }[];
  findings: Finding[];
}

export interface DeviceReport {
  deviceId: string;
  latest: ExposureReport | null;
  receivedAt: string | null;
  history: ReportSummary[];
}

export interface Command {
  id: string;
  deviceId: string;
  command: string;
  params: Record<string, unknown>;
  /** The id of the operator key that signed it. */
  operator: string;
  /** The operator who holds that key; null for a key no operator holds. */
  signedBy: string | null;
  status: 'pending' | 'sent' | 'accepted' | 'done' | 'rejected' | 'failed' | 'expired';
  reason: string | null;
  detail: string | null;
  attempts: number;
  createdAt: string;
  expiresAt: string;
}

export interface Operator {
  name: string;
  role: string;
  kid: string;
  status: 'active' | 'revoked';
}

export interface AuditRecord {
  id: number;
  at: string;
  operator: string;
  role: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  address: string | null;
  via: 'api' | 'cli';
  outcome: 'ok' | 'denied' | 'failed';
  status: number | null;
  detail: Record<string, unknown> | null;
}

/** What GET /api/v1/stream sends, by event name. */
export interface StreamEvents {
  report: { deviceId: string; score: number; grade: string; findings: number; at: string };
  connections: { count: number };
  /** The same record as GET /events lists. */
  security: SecurityEvent;
}

export type { Device, ReportSummary, SecurityEvent };
