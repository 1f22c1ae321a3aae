/**
 * Queries for account-driven enrollment access tokens (hashes only). Consuming one is a single
 * conditional UPDATE, so a token replayed in parallel is accepted at most once.
 */
import type { Db } from '../db/database.js';

export class UserEnrollmentTokenStore {
  constructor(private readonly db: Db) {}

  async insert(row: { tokenHash: string; pendingEnrollmentId: string; expiresAt: number; now: number }): Promise<void> {
    await this.db
      .insertInto('user_enrollment_tokens')
      .values({ token_hash: row.tokenHash, pending_enrollment_id: row.pendingEnrollmentId, expires_at: row.expiresAt, used_at: null, created_at: row.now })
      .execute();
  }

  /** Marks the token used and returns its staging record; undefined when unknown, used or expired. */
  async consume(tokenHash: string, now: number): Promise<string | undefined> {
    const row = await this.db
      .updateTable('user_enrollment_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('pending_enrollment_id')
      .executeTakeFirst();
    return row?.pending_enrollment_id;
  }

  /** Deletes tokens expired before `before`, and those whose staging record is gone; returns how many. */
  async purge(before: number): Promise<number> {
    const res = await this.db
      .deleteFrom('user_enrollment_tokens')
      .where((eb) =>
        eb.or([
          eb('expires_at', '<', before),
          eb.not(eb.exists(eb.selectFrom('pending_enrollments').select('id').whereRef('pending_enrollments.id', '=', 'user_enrollment_tokens.pending_enrollment_id'))),
        ]),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
