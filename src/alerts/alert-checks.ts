/**
 * The alert checks: pure functions from facts (read elsewhere) to observations. Each observation
 * names an alert (kind + subject) and the state it is in now — `ok`, or a level such as
 * `expiring-14`. The service raises an alert when that state changes, so a state must only name
 * the level (never a count or a date that moves every tick).
 */
import { tokenState } from '../abm/token-state.js';

export type AlertSeverity = 'warning' | 'critical';

export interface AlertObservation {
  kind: string;
  subject: string;
  /** the organization group whose recipients hear of it; null: global (root) */
  groupId: string | null;
  state: string;
  severity: AlertSeverity;
  summary: string;
}

export const OK = 'ok';
const DAY = 86_400_000;

export const alertKey = (o: Pick<AlertObservation, 'kind' | 'subject'>) => `${o.kind}:${o.subject}`;

/**
 * The expiry level of something valid until `notAfter`: `expired`, `expiring-N` for the smallest
 * threshold N (days) it is within, or ok. Thresholds 30, 14, 7, 1 give one alert at each step.
 */
export function expiryState(notAfter: number, now: number, thresholdDays: readonly number[]): string {
  if (notAfter <= now) return 'expired';
  const within = thresholdDays.filter((d) => notAfter - now <= d * DAY);
  return within.length ? `expiring-${Math.min(...within)}` : OK;
}

function expiry(kind: string, subject: string, groupId: string | null, what: string, notAfter: number, now: number, thresholds: readonly number[]): AlertObservation {
  const state = expiryState(notAfter, now, thresholds);
  const days = Math.max(0, Math.floor((notAfter - now) / DAY));
  const when = new Date(notAfter).toISOString();
  return {
    kind, subject, groupId, state,
    severity: state === 'expired' || state === `expiring-${Math.min(...thresholds)}` ? 'critical' : 'warning',
    summary: state === 'expired' ? `${what} expired on ${when}` : state === OK ? `${what} is valid until ${when}` : `${what} expires in ${days} day(s), on ${when}`,
  };
}

export interface AbmServerFacts {
  id: string;
  name: string;
  groupId: string | null;
  hasToken: boolean;
  tokenExpiresAt: number | null;
  lastSuccessAt: number | null;
  lastError: { at: number; code: string | null; message: string | null } | null;
  syncIntervalMinutes: number;
  /** the last sync's error (null when it succeeded) */
  lastSyncError: string | null;
  lastSyncAt: number | null;
  /** since when the server could have synced (its token upload, or creation) */
  since: number;
}

/** ABM token expiry, terms and conditions not accepted, token rejected — one alert each per server. */
export function abmTokenChecks(s: AbmServerFacts, now: number, thresholdDays: readonly number[]): AlertObservation[] {
  if (!s.hasToken) return [];
  const out: AlertObservation[] = [];
  out.push(s.tokenExpiresAt === null
    ? { kind: 'abm-token-expiring', subject: s.id, groupId: s.groupId, state: OK, severity: 'warning', summary: `ABM server "${s.name}": token has no expiry date` }
    : expiry('abm-token-expiring', s.id, s.groupId, `ABM server "${s.name}": the server token`, s.tokenExpiresAt, now, thresholdDays));
  // Read the DEP outcome apart from the expiry, so an expiring token does not hide Apple's refusal.
  const dep = tokenState({ hasToken: true, tokenExpiresAt: null, lastSuccessAt: s.lastSuccessAt, lastErrorAt: s.lastError?.at ?? null, lastErrorCode: s.lastError?.code ?? null }, now);
  const detail = s.lastError?.message ? `: ${s.lastError.message}` : '';
  out.push({
    kind: 'abm-terms-not-accepted', subject: s.id, groupId: s.groupId, state: dep === 'terms-not-accepted' ? 'open' : OK, severity: 'critical',
    summary: dep === 'terms-not-accepted' ? `ABM server "${s.name}": Apple's new terms and conditions must be accepted in Apple Business Manager${detail}` : `ABM server "${s.name}": terms accepted`,
  });
  out.push({
    kind: 'abm-token-rejected', subject: s.id, groupId: s.groupId, state: dep === 'rejected' ? 'open' : OK, severity: 'critical',
    summary: dep === 'rejected' ? `ABM server "${s.name}": Apple rejects the server token; download a new one${detail}` : `ABM server "${s.name}": token accepted`,
  });
  return out;
}

/**
 * Repeated sync failures: the last sync failed and nothing has succeeded against Apple for
 * `failures` sync intervals — one failed run is retried by the next one and is no alert.
 */
export function abmSyncCheck(s: AbmServerFacts, now: number, failures: number): AlertObservation | undefined {
  if (!s.hasToken) return undefined;
  const lastGood = Math.max(s.lastSuccessAt ?? 0, s.since);
  const failing = s.lastSyncError !== null && now - lastGood >= failures * s.syncIntervalMinutes * 60_000;
  return {
    kind: 'abm-sync-failing', subject: s.id, groupId: s.groupId, state: failing ? 'failing' : OK, severity: 'warning',
    summary: failing
      ? `ABM server "${s.name}": syncs have failed since ${new Date(lastGood).toISOString()}: ${s.lastSyncError}`
      : `ABM server "${s.name}": syncing`,
  };
}

export interface AssignmentFacts {
  serverId: string;
  name: string;
  groupId: string | null;
  /** devices whose last assignment Apple refused or that failed (FAILED, NOT_ACCESSIBLE, errors) */
  failed: number;
  throttled: number;
}

/** Profile assignments failing or throttled on a server. */
export function assignmentChecks(a: AssignmentFacts, minFailed: number): AlertObservation[] {
  return [
    {
      kind: 'abm-assign-failing', subject: a.serverId, groupId: a.groupId, state: a.failed >= minFailed ? 'failing' : OK, severity: 'warning',
      summary: a.failed >= minFailed ? `ABM server "${a.name}": ${a.failed} device(s) could not be assigned their enrollment profile` : `ABM server "${a.name}": assignments succeed`,
    },
    {
      kind: 'abm-assign-throttled', subject: a.serverId, groupId: a.groupId, state: a.throttled > 0 ? 'throttled' : OK, severity: 'warning',
      summary: a.throttled > 0 ? `ABM server "${a.name}": Apple throttles profile assignment (${a.throttled} device(s) waiting)` : `ABM server "${a.name}": assignments not throttled`,
    },
  ];
}

export interface CertificateFacts {
  /** 'push-cert-expiring' | 'ca-expiring' | 'tls-expiring' */
  kind: string;
  subject: string;
  label: string;
  notAfter: number;
}

/** Push certificates, the device CA and Pomona's TLS certificate: global alerts. */
export function certificateCheck(c: CertificateFacts, now: number, thresholdDays: readonly number[]): AlertObservation {
  return expiry(c.kind, c.subject, null, c.label, c.notAfter, now, thresholdDays);
}

export interface StuckFacts {
  groupId: string;
  /** enrolled ADE devices awaiting configuration for longer than allowed */
  awaiting: number;
  /** setup plans still running past their deadline */
  overdue: number;
}

/** Devices stuck in Setup Assistant, counted per organization group. */
export function stuckDevicesCheck(f: StuckFacts): AlertObservation {
  const stuck = f.awaiting + f.overdue > 0;
  return {
    kind: 'devices-stuck', subject: f.groupId, groupId: f.groupId, state: stuck ? 'stuck' : OK, severity: 'warning',
    summary: stuck
      ? `${f.awaiting} device(s) stuck awaiting configuration, ${f.overdue} setup plan(s) past their deadline`
      : 'no device stuck awaiting configuration',
  };
}
