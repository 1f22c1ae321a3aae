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
  /** only events whose actor's scope lay under this group path prefix */
  actorScopePrefix?: string;
}

export class AuditStore {
  constructor(private readonly db: Db) {}

  /**
   * Records the event with the scope its actor has now (an admin `user:<name>` or an API token
   * `token:pom_<prefix>`; anyone else — the command line, devices, the system — counts as global).
   */
  async insert(row: Insertable<AuditEventTable>): Promise<void> {
    const user = /^user:(.+)$/.exec(row.actor)?.[1];
    const token = /^token:pom_(.+)$/.exec(row.actor)?.[1];
    await this.db
      .insertInto('audit_events')
      .values({
        ...row,
        actor_scope: (eb) =>
          user !== undefined
            ? eb.selectFrom('admin_users as u').innerJoin('organization_groups as g', 'g.id', 'u.scope_group_id').select('g.path').where('u.username', '=', user).limit(1)
            : token !== undefined
              ? eb.selectFrom('api_tokens as t').innerJoin('organization_groups as g', 'g.id', 't.scope_group_id').select('g.path').where('t.prefix', '=', token).orderBy('t.created_at', 'desc').limit(1)
              : eb.val(null),
      })
      .execute();
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
    if (filter.actorScopePrefix !== undefined) q = q.where('actor_scope', 'like', `${filter.actorScopePrefix}%`);
    q = q.orderBy('id', 'desc').limit(filter.limit);
    if (filter.offset) q = q.offset(filter.offset);
    return q.execute();
  }
}
