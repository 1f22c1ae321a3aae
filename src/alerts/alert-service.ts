/**
 * Alerts: runs the checks over the facts, records each state change once (raised, or resolved
 * when back to ok), writes one log line for it and queues its deliveries to the recipients of the
 * subject's organization group. Sending is AlertDelivery's; this only decides what happened.
 */
import type { AlertMessage } from './alert-message.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Scope } from '../org/scope.js';
import {
  OK, abmSyncCheck, abmTokenChecks, alertKey, assignmentChecks, certificateCheck, stuckDevicesCheck,
  type AbmServerFacts, type AlertObservation, type AssignmentFacts, type CertificateFacts, type StuckFacts,
} from './alert-checks.js';
import type { AlertEventRow, AlertRow, AlertStore } from './alert-store.js';

/** Where the checks' facts come from (existing services and stores; see alert-facts.ts). */
export interface AlertFacts {
  abmServers(): Promise<AbmServerFacts[]>;
  assignments(): Promise<AssignmentFacts[]>;
  /** push certificates, the device CA, Pomona's TLS certificate */
  certificates(): Promise<CertificateFacts[]>;
  stuckDevices(awaitingBefore: number, now: number): Promise<StuckFacts[]>;
}

export interface AlertThresholds {
  /** days before expiry at which tokens and certificates alert, e.g. [30, 14, 7, 1] */
  expiryDays: number[];
  /** sync intervals without success before failing syncs alert */
  syncFailures: number;
  /** devices whose assignment failed before that alerts */
  assignFailures: number;
  /** minutes an ADE device may await configuration before it counts as stuck */
  stuckAfterMinutes: number;
}

export interface AlertServiceOptions {
  store: AlertStore;
  facts: AlertFacts;
  thresholds: AlertThresholds;
  /** e-mail recipients for a group (null: global alerts, the root group's) */
  recipients: (groupId: string | null) => Promise<string[]>;
  channels: { email: boolean; webhook: boolean };
  log: Logger;
  now?: () => number;
}

export interface AlertView {
  key: string;
  kind: string;
  subject: string;
  groupId: string | null;
  state: string;
  severity: string;
  summary: string;
  raisedAt: number | null;
  updatedAt: number;
}

/** An alert event as the API lists it: the message every channel sends, with its time as epoch ms. */
export type AlertEventView = Omit<AlertMessage, 'at'> & { at: number };

export class AlertService {
  readonly #now: () => number;

  constructor(private readonly o: AlertServiceOptions) {
    this.#now = o.now ?? Date.now;
  }

  /** One round of checks; returns the events it recorded (none when nothing changed). */
  async check(): Promise<AlertEventView[]> {
    const now = this.#now();
    const t = this.o.thresholds;
    const observations: AlertObservation[] = [];
    const checked = new Set<string>();
    // A source that cannot be read leaves its alerts as they are (neither raised nor resolved).
    const gather = async (kinds: string[], read: () => Promise<AlertObservation[]>) => {
      try {
        observations.push(...(await read()));
        for (const k of kinds) checked.add(k);
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err), kinds }, 'alerts: reading facts failed; those alerts are left as they are');
      }
    };
    await gather(['abm-token-expiring', 'abm-terms-not-accepted', 'abm-token-rejected', 'abm-sync-failing'], async () =>
      (await this.o.facts.abmServers()).flatMap((s) => [...abmTokenChecks(s, now, t.expiryDays), ...[abmSyncCheck(s, now, t.syncFailures)].filter((x) => x !== undefined)]));
    await gather(['abm-assign-failing', 'abm-assign-throttled'], async () => (await this.o.facts.assignments()).flatMap((a) => assignmentChecks(a, t.assignFailures)));
    await gather(['push-cert-expiring', 'ca-expiring', 'tls-expiring'], async () => (await this.o.facts.certificates()).map((c) => certificateCheck(c, now, t.expiryDays)));
    await gather(['devices-stuck'], async () => (await this.o.facts.stuckDevices(now - t.stuckAfterMinutes * 60_000, now)).map(stuckDevicesCheck));
    return this.record(observations, checked);
  }

  /**
   * Compares observations with the stored states and records each change. An open alert of a
   * checked kind that was not observed (its ABM server deleted, no stuck device left) resolves.
   */
  async record(observations: AlertObservation[], checkedKinds: Set<string>): Promise<AlertEventView[]> {
    const stored = new Map((await this.o.store.all()).map((r) => [r.key, r]));
    const seen = new Set<string>();
    const events: AlertEventView[] = [];
    for (const obs of observations) {
      const key = alertKey(obs);
      seen.add(key);
      const e = await this.#apply(stored.get(key), obs);
      if (e) events.push(e);
    }
    for (const row of stored.values()) {
      if (seen.has(row.key) || row.state === OK || !checkedKinds.has(row.kind)) continue;
      const e = await this.#apply(row, { kind: row.kind, subject: row.subject, groupId: row.group_id, state: OK, severity: row.severity as AlertObservation['severity'], summary: `no longer applies: ${row.summary}` });
      if (e) events.push(e);
    }
    return events;
  }

  async #apply(row: AlertRow | undefined, obs: AlertObservation): Promise<AlertEventView | undefined> {
    const now = this.#now();
    const from = row?.state ?? OK;
    if (from === obs.state) {
      if (row && obs.state !== OK && row.summary !== obs.summary) await this.o.store.touch(row.key, row.state, obs.summary, now);
      return undefined;
    }
    const key = alertKey(obs);
    const resolved = obs.state === OK;
    const event: AlertEventRow = {
      id: randomUUID(), alert_key: key, kind: obs.kind, subject: obs.subject, group_id: obs.groupId, event: resolved ? 'resolved' : 'raised',
      state: obs.state, previous_state: from, severity: obs.severity, summary: obs.summary, at: now,
    };
    const recipients = this.o.channels.email ? await this.o.recipients(obs.groupId) : [];
    const deliveries = [
      ...(recipients.length ? [{ channel: 'email' as const, recipients }] : []),
      ...(this.o.channels.webhook ? [{ channel: 'webhook' as const, recipients: [] }] : []),
    ].map((d) => ({ id: randomUUID(), event_id: event.id, channel: d.channel, recipients_json: JSON.stringify(d.recipients), attempts: 0, next_attempt_at: now, delivered_at: null, last_error: null, created_at: now }));
    const next: AlertRow = {
      key, kind: obs.kind, subject: obs.subject, group_id: obs.groupId, state: obs.state, severity: obs.severity, summary: obs.summary,
      raised_at: resolved ? null : now, updated_at: now,
    };
    if (!(await this.o.store.transition(row?.state, next, event, deliveries))) return undefined; // another node recorded it
    const line = { alert: { key, kind: obs.kind, subject: obs.subject, groupId: obs.groupId, state: obs.state, previousState: from, severity: obs.severity }, summary: obs.summary };
    if (resolved) this.o.log.info(line, 'alert resolved');
    else this.o.log.warn(line, 'alert raised');
    return eventView(event);
  }

  /** Open alerts by kind and severity, for metrics (`pomona_alerts_open`, read on scrape). */
  async openCounts(): Promise<{ kind: string; severity: string; open: number }[]> {
    return (await this.o.store.openCounts()).map((r) => ({ kind: r.kind, severity: r.severity, open: r.n }));
  }

  /** Open alerts and recent history; within a scope, only its groups' alerts (global ones need global scope). */
  async list(scope?: Scope, historyLimit = 100): Promise<{ open: AlertView[]; history: AlertEventView[] }> {
    const prefix = scope?.prefix;
    const [open, history] = await Promise.all([this.o.store.open(prefix), this.o.store.recentEvents(historyLimit, prefix)]);
    return {
      open: open.map((r) => ({ key: r.key, kind: r.kind, subject: r.subject, groupId: r.group_id, state: r.state, severity: r.severity, summary: r.summary, raisedAt: r.raised_at, updatedAt: r.updated_at })),
      history: history.map(eventView),
    };
  }
}

function eventView(e: AlertEventRow): AlertEventView {
  return {
    id: e.id, event: e.event, key: e.alert_key, kind: e.kind, subject: e.subject, groupId: e.group_id, state: e.state,
    previousState: e.previous_state, severity: e.severity, summary: e.summary, at: e.at,
  };
}
