/**
 * Pushes enrollments: looks up where each is reached, skips those APNs cannot reach, sends one
 * batch per topic with that topic's certificate, and records what APNs said. The command API
 * calls this after enqueuing, so the devices come and fetch their commands.
 */
import type { ApnsCredentials, ApnsPush, ApnsResult } from './apns-client.js';
import type { PushRecord, PushStore, PushTarget } from './push-store.js';

export type PushOutcomeStatus = 'sent' | 'invalid-token' | 'failed' | 'no-token' | 'no-certificate';

export interface PushOutcome {
  enrollmentId: string;
  status: PushOutcomeStatus;
  reason?: string;
  apnsId?: string;
}

export interface PushCredentialsSource {
  getCredentials(topic: string): Promise<ApnsCredentials | undefined>;
}

export interface PushSender {
  send(credentials: ApnsCredentials, pushes: ApnsPush[]): Promise<ApnsResult[]>;
}

export interface PushLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

type Sendable = PushTarget & { topic: string; tokenHex: string; pushMagic: string };

export class PushService {
  readonly #store: PushStore;
  readonly #pushcerts: PushCredentialsSource;
  readonly #client: PushSender;
  readonly #log: PushLog;
  readonly #now: () => number;
  readonly #onOutcomes?: (outcomes: PushOutcome[]) => void;

  /** `onOutcomes`: every push's outcomes, for metrics */
  constructor(deps: { store: PushStore; pushcerts: PushCredentialsSource; client: PushSender; log: PushLog; now?: () => number; onOutcomes?: (outcomes: PushOutcome[]) => void }) {
    this.#store = deps.store;
    this.#pushcerts = deps.pushcerts;
    this.#client = deps.client;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#onOutcomes = deps.onOutcomes;
  }

  /** One outcome per distinct id, in the order given. */
  async push(enrollmentIds: string[]): Promise<PushOutcome[]> {
    const ids = [...new Set(enrollmentIds)];
    if (ids.length === 0) return [];
    const targets = new Map((await this.#store.targets(ids)).map((t) => [t.enrollmentId, t]));
    const outcomes = new Map<string, PushOutcome>();
    const byTopic = new Map<string, Sendable[]>();
    for (const id of ids) {
      const t = targets.get(id);
      const skip = t ? unreachable(t) : { enrollmentId: id, status: 'no-token' as const, reason: 'no such enrollment' };
      if (skip) {
        outcomes.set(id, skip);
        continue;
      }
      const sendable = t as Sendable;
      const group = byTopic.get(sendable.topic) ?? [];
      group.push(sendable);
      byTopic.set(sendable.topic, group);
    }
    const records: PushRecord[] = [];
    await Promise.all(
      [...byTopic].map(async ([topic, group]) => {
        const sent = await this.#sendTopic(topic, group);
        group.forEach((t, i) => {
          const o = sent[i];
          outcomes.set(t.enrollmentId, o);
          if (o.status === 'no-certificate') return; // nothing was attempted
          const result = o.reason ? `${o.status}: ${o.reason}` : o.status;
          // APNs 410 Unregistered: the token is no longer valid for the topic, i.e. the MDM profile was removed.
          records.push({ enrollmentId: t.enrollmentId, tokenHex: t.tokenHex, result, invalidToken: o.status === 'invalid-token', unregistered: o.reason === 'Unregistered' });
        });
      }),
    );
    if (records.length > 0) await this.#store.recordOutcomes(records, this.#now());
    const all = ids.map((id) => outcomes.get(id)!);
    this.#onOutcomes?.(all);
    this.#log.info({ enrollments: ids.length, ...countBy(all) }, 'APNs push');
    return all;
  }

  async #sendTopic(topic: string, group: Sendable[]): Promise<PushOutcome[]> {
    const credentials = await this.#pushcerts.getCredentials(topic);
    if (!credentials) {
      this.#log.warn({ topic, enrollments: group.length }, 'no push certificate for this topic');
      return group.map((t) => ({ enrollmentId: t.enrollmentId, status: 'no-certificate', reason: `no push certificate for topic ${topic}` }));
    }
    let results: ApnsResult[];
    try {
      results = await this.#client.send(credentials, group.map((t) => ({ token: t.tokenHex, pushMagic: t.pushMagic })));
    } catch (err) {
      // The client reports per push and should not throw; if it does, nothing was delivered.
      this.#log.warn({ topic, err }, 'APNs client failed');
      results = group.map((t) => ({ token: t.tokenHex, status: 'failed', reason: err instanceof Error ? err.message : String(err) }));
    }
    const outcomes = group.map((t, i): PushOutcome => {
      const r = results[i];
      return { enrollmentId: t.enrollmentId, status: r.status, ...(r.reason ? { reason: r.reason } : {}), ...(r.apnsId ? { apnsId: r.apnsId } : {}) };
    });
    const failed = outcomes.filter((o) => o.status !== 'sent');
    if (failed.length > 0) {
      this.#log.warn({ topic, failed: failed.map((o) => ({ enrollmentId: o.enrollmentId, status: o.status, reason: o.reason })) }, 'APNs refused some pushes');
    }
    return outcomes;
  }
}

/** Why an enrollment cannot be pushed, or undefined when it can. */
function unreachable(t: PushTarget): PushOutcome | undefined {
  const id = t.enrollmentId;
  if (t.status === 'removed') return { enrollmentId: id, status: 'no-token', reason: 'enrollment removed' };
  if (!t.tokenHex || !t.pushMagic) return { enrollmentId: id, status: 'no-token', reason: 'no TokenUpdate yet' };
  if (t.tokenInvalidAt !== null) {
    return { enrollmentId: id, status: 'invalid-token', reason: 'APNs rejected this token earlier; waiting for a new TokenUpdate' };
  }
  if (!t.topic) return { enrollmentId: id, status: 'no-certificate', reason: 'the enrollment has no push topic' };
  return undefined;
}

function countBy(outcomes: PushOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1;
  return counts;
}
