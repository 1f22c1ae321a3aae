/**
 * Named leases in the `leases` table, so that of many Pomona nodes exactly one runs a job at a
 * time. A lease is taken when free or expired, renewed by its holder, and simply expires when
 * its node dies — another node takes it within one lease period. Leases say who runs a job now;
 * `runs` records which due times already ran.
 */
import type { Db } from '../db/database.js';
import { JobRunStore } from './job-run-store.js';

export class LeaseStore {
  /** the runs made under these leases, one per job and due time */
  readonly runs: JobRunStore;

  constructor(private readonly db: Db) {
    this.runs = new JobRunStore(db);
  }

  /** Takes or renews the lease; true when `holder` holds it until now + ttlMs. */
  async acquire(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const row = await this.db
      .insertInto('leases')
      .values({ name, holder, expires_at: now + ttlMs })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder, expires_at: now + ttlMs })
          .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', now)])),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async holderOf(name: string, now: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('leases').select('holder').where('name', '=', name).where('expires_at', '>', now).executeTakeFirst();
    return row?.holder;
  }
}
