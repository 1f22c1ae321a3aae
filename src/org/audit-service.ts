/**
 * The audit log: who did what to what, from where, and whether it worked.
 *
 * Callers must never put secrets in `details` (passwords, token secrets, session ids,
 * challenges, keys): the log is readable by every administrator and is kept for a long
 * time. As a safety net only, values under obviously secret key names are replaced by
 * "[redacted]" — do not rely on it.
 *
 * An admin scoped to a branch of the organization sees the events whose actor was scoped inside
 * that branch when they happened (themselves included); events of global admins, the command
 * line and the system are for global admins only. Recording an event's actor scope when it
 * happens keeps an admin moved to another branch from carrying their old events along.
 */
import { csvLine } from '../csv.js';
import type { AuditEvent } from '../db/schema.js';
import type { AuditStore } from './audit-store.js';
import type { Scope } from './scope.js';

export type AuditOutcome = 'success' | 'failure' | 'denied';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];

export interface AuditEventInput {
  /** `user:<username>`, `token:<prefix>`, `system`, `anonymous`, … */
  actor: string;
  /** dotted verb, e.g. `session.login`, `api-token.create` */
  action: string;
  target?: string | null;
  /** where the request came from (client address) */
  source?: string | null;
  outcome: AuditOutcome;
  /** plain JSON-serialisable facts; never secrets (see the file comment) */
  details?: Record<string, unknown> | null;
}

export interface AuditEventRecord {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown> | null;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: AuditOutcome;
  since?: number;
  until?: number;
  limit?: number;
  offset?: number;
  /** cursor from the previous page's `nextCursor` */
  cursor?: number;
}

export const DEFAULT_AUDIT_PAGE = 50;
export const MAX_AUDIT_PAGE = 500;
/** Keeps one careless caller from filling the table with megabyte rows. */
const MAX_DETAILS_CHARS = 8_192;
const SECRET_KEY_RE = /^(password|passphrase|secret|token|session_?id|challenge|private_?key|cookie|authorization|csrf_?token)$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY_RE.test(k) ? '[redacted]' : redact(v, depth + 1)]),
  );
}

function encodeDetails(details: Record<string, unknown> | null | undefined): string | null {
  if (!details) return null;
  const json = JSON.stringify(redact(details));
  return json.length <= MAX_DETAILS_CHARS ? json : JSON.stringify({ truncated: true, preview: json.slice(0, 1024) });
}

function toRecord(row: AuditEvent): AuditEventRecord {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    source: row.source,
    outcome: row.outcome as AuditOutcome,
    details: row.details_json ? (JSON.parse(row.details_json) as Record<string, unknown>) : null,
  };
}

export class AuditService {
  private readonly now: () => number;

  constructor(
    private readonly store: AuditStore,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async record(event: AuditEventInput): Promise<void> {
    await this.store.insert({
      at: this.now(),
      actor: event.actor,
      action: event.action,
      target: event.target ?? null,
      source: event.source ?? null,
      outcome: event.outcome,
      details_json: encodeDetails(event.details),
    });
  }

  /**
   * Newest first. `nextCursor` is set when a further page may exist (pass it as `cursor`).
   * With `within`, only events of actors scoped inside it (see the file comment).
   */
  async list(query: AuditQuery = {}, within?: Scope): Promise<{ events: AuditEventRecord[]; nextCursor: number | null }> {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_AUDIT_PAGE), 1), MAX_AUDIT_PAGE);
    const rows = await this.store.list({
      actor: query.actor,
      action: query.action,
      target: query.target,
      outcome: query.outcome,
      since: query.since,
      until: query.until,
      beforeId: query.cursor,
      limit,
      offset: query.offset,
      actorScopePrefix: within?.prefix,
    });
    const events = rows.map(toRecord);
    const last = events[events.length - 1];
    return { events, nextCursor: events.length === limit && last ? last.id : null };
  }

  /** The events the query matches as CSV lines (header first), read a page at a time. */
  async *exportCsv(query: Omit<AuditQuery, 'limit' | 'offset' | 'cursor'> = {}, within?: Scope): AsyncGenerator<string> {
    yield csvLine(['id', 'at', 'actor', 'action', 'target', 'source', 'outcome', 'details']);
    let cursor: number | undefined;
    for (;;) {
      const page = await this.list({ ...query, limit: MAX_AUDIT_PAGE, cursor }, within);
      for (const e of page.events) {
        yield csvLine([String(e.id), new Date(e.at).toISOString(), e.actor, e.action, e.target ?? '', e.source ?? '', e.outcome, e.details ? JSON.stringify(e.details) : '']);
      }
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }
}
