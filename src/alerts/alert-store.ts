/**
 * Queries for alerts: their current states, the history of raises and resolutions, and the
 * deliveries owed. A state change is a compare-and-set on the alert's row in one transaction with
 * its event and deliveries, so when two nodes evaluate at once only one records (and sends) it.
 */
import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { AlertDeliveryTable, AlertEventTable, AlertTable } from '../db/schema.js';
import { groupsWithin } from '../org/scope-store.js';

export type AlertRow = Selectable<AlertTable>;
export type AlertEventRow = Selectable<AlertEventTable>;
export type AlertDeliveryRow = Selectable<AlertDeliveryTable>;

export class AlertStore {
  constructor(private readonly db: Db) {}

  async all(): Promise<AlertRow[]> {
    return this.db.selectFrom('alerts').selectAll().execute();
  }

  /**
   * Moves an alert from `from` (undefined: no row yet) to the new state and records its event and
   * deliveries; false when another node changed it first (nothing written).
   */
  async transition(from: string | undefined, row: AlertRow, event: Insertable<AlertEventTable>, deliveries: Insertable<AlertDeliveryTable>[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (from === undefined) {
        const r = await trx.insertInto('alerts').values(row).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
      } else {
        const r = await trx.updateTable('alerts').set(row).where('key', '=', row.key).where('state', '=', from).executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
      }
      await trx.insertInto('alert_events').values(event).execute();
      if (deliveries.length) await trx.insertInto('alert_deliveries').values(deliveries).execute();
      return true;
    });
  }

  /** Keeps the summary current (counts, days left) without raising anything. */
  async touch(key: string, state: string, summary: string, now: number): Promise<void> {
    await this.db.updateTable('alerts').set({ summary, updated_at: now }).where('key', '=', key).where('state', '=', state).execute();
  }

  /** Open alerts (state not ok), or those in groups under `scopePrefix` (global ones are left out then). */
  async open(scopePrefix?: string): Promise<AlertRow[]> {
    let q = this.db.selectFrom('alerts').selectAll().where('state', '!=', 'ok');
    if (scopePrefix) q = q.where('group_id', 'in', groupsWithin(this.db, scopePrefix));
    return q.orderBy('raised_at', 'desc').execute();
  }

  /** Open alerts counted by kind and severity (for a metrics gauge). */
  async openCounts(): Promise<{ kind: string; severity: string; n: number }[]> {
    const rows = await this.db.selectFrom('alerts').select(['kind', 'severity']).select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('state', '!=', 'ok').groupBy(['kind', 'severity']).execute();
    return rows.map((r) => ({ kind: r.kind, severity: r.severity, n: Number(r.n) }));
  }

  async recentEvents(limit: number, scopePrefix?: string): Promise<AlertEventRow[]> {
    let q = this.db.selectFrom('alert_events').selectAll();
    if (scopePrefix) q = q.where('group_id', 'in', groupsWithin(this.db, scopePrefix));
    return q.orderBy('at', 'desc').orderBy('id').limit(limit).execute();
  }

  async event(id: string): Promise<AlertEventRow | undefined> {
    return this.db.selectFrom('alert_events').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async dueDeliveries(now: number, limit: number): Promise<AlertDeliveryRow[]> {
    return this.db.selectFrom('alert_deliveries').selectAll().where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit).execute();
  }

  async delivered(id: string, attempts: number, now: number): Promise<void> {
    await this.db.updateTable('alert_deliveries').set({ attempts, delivered_at: now, next_attempt_at: null, last_error: null }).where('id', '=', id).execute();
  }

  /** A failed attempt: tried again at `retryAt`, or never (null) once out of attempts. */
  async failed(id: string, attempts: number, error: string, retryAt: number | null): Promise<void> {
    await this.db.updateTable('alert_deliveries').set({ attempts, last_error: error.slice(0, 1000), next_attempt_at: retryAt }).where('id', '=', id).execute();
  }

  async deliveriesOf(eventId: string): Promise<AlertDeliveryRow[]> {
    return this.db.selectFrom('alert_deliveries').selectAll().where('event_id', '=', eventId).execute();
  }
}
