/** Queries for pushing: where each enrollment is reached (topic, token, PushMagic) and how the last push went. */
import type { Db } from '../../db/database.js';
import type { EnrollmentTable } from '../../db/schema.js';

// Well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

export interface PushTarget {
  enrollmentId: string;
  topic: string | null;
  pushMagic: string | null;
  tokenHex: string | null;
  tokenInvalidAt: number | null;
  status: EnrollmentTable['status'];
}

export interface PushRecord {
  enrollmentId: string;
  /** the token that was pushed: a TokenUpdate since then must not be marked invalid */
  tokenHex: string;
  /** e.g. `sent`, `invalid-token: Unregistered`, `failed: ServiceUnavailable` */
  result: string;
  invalidToken: boolean;
  /** APNs says the token is gone for good (410 Unregistered): a device channel's device is unenrolled */
  unregistered?: boolean;
}

export class PushStore {
  constructor(private readonly db: Db) {}

  /** The enrollments among `ids` that exist (one query per chunk of ids). */
  async targets(ids: string[]): Promise<PushTarget[]> {
    const out: PushTarget[] = [];
    for (const chunk of chunks([...new Set(ids)], CHUNK)) {
      const rows = await this.db
        .selectFrom('enrollments')
        .select(['id', 'topic', 'push_magic', 'token_hex', 'token_invalid_at', 'status'])
        .where('id', 'in', chunk)
        .execute();
      for (const r of rows) {
        out.push({
          enrollmentId: r.id,
          topic: r.topic,
          pushMagic: r.push_magic,
          tokenHex: r.token_hex,
          tokenInvalidAt: r.token_invalid_at,
          status: r.status,
        });
      }
    }
    return out;
  }

  /** Stores each push's result; marks tokens APNs rejected, unless the device has sent a new one since. */
  async recordOutcomes(records: PushRecord[], at: number): Promise<void> {
    // One UPDATE per distinct result (and chunk), since most pushes of a batch end the same way.
    const byResult = new Map<string, string[]>();
    for (const r of records) {
      if (r.invalidToken) continue;
      const ids = byResult.get(r.result) ?? [];
      ids.push(r.enrollmentId);
      byResult.set(r.result, ids);
    }
    for (const [result, ids] of byResult) {
      for (const chunk of chunks(ids, CHUNK)) {
        await this.db
          .updateTable('enrollments')
          .set({ last_push_at: at, last_push_result: result })
          .where('id', 'in', chunk)
          .execute();
      }
    }
    // Rare, and each needs its own token guard.
    for (const r of records.filter((r) => r.invalidToken)) {
      await this.db.transaction().execute(async (tx) => {
        const marked = await tx
          .updateTable('enrollments')
          .set({ last_push_at: at, last_push_result: r.result, token_invalid_at: at })
          .where('id', '=', r.enrollmentId)
          .where('token_hex', '=', r.tokenHex)
          .executeTakeFirst();
        if (!r.unregistered || Number(marked.numUpdatedRows) === 0) return;
        await tx
          .updateTable('devices')
          .set({ lifecycle_state: 'unenrolled', lifecycle_changed_at: at })
          .where('id', 'in', tx.selectFrom('enrollments').select('device_id').where('id', '=', r.enrollmentId).where('parent_id', 'is', null))
          .where('lifecycle_state', 'in', ['enrolling', 'enrolled'])
          .execute();
      });
    }
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
