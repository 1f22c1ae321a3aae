/** Queries for the audit log (Kysely only, no logic). */
import type { Insertable } from 'kysely';
import type { Db } from '../db/database.js';
import type { AuditEvent, AuditEventTable } from '../db/schema.js';

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: string;
  /** inclusive, epoch ms */
  since?: number;
  /** exclusive, epoch ms */
  until?: number;
  /** cursor: only events with a smaller id (the previous page's last id) */
  beforeId?: number;
  limit: number;
  offset?: number;
}

export class AuditStore {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<AuditEventTable>): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
  }

  /** Newest first; ids grow with insertion, so ordering by id is ordering by arrival. */
  async list(filter: AuditFilter): Promise<AuditEvent[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    if (filter.target !== undefined) q = q.where('target', '=', filter.target);
    if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('at', '<', filter.until);
    if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
    q = q.orderBy('id', 'desc').limit(filter.limit);
    if (filter.offset) q = q.offset(filter.offset);
    return q.execute();
  }
}
