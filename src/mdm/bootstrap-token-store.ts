/**
 * Whether a device escrowed its bootstrap token, for the admin API. The token itself is only
 * ever returned to the device (GetBootstrapToken, src/mdm/checkin-service.ts): this reads the
 * times, never the sealed value.
 */
import type { Db } from '../db/database.js';

export interface BootstrapTokenEscrow {
  escrowed: boolean;
  /** when the device first escrowed the current token, and when it last sent it */
  escrowedAt: number | null;
  updatedAt: number | null;
}

export class BootstrapTokenStore {
  constructor(private readonly db: Db) {}

  async escrowOf(deviceId: string): Promise<BootstrapTokenEscrow> {
    const row = await this.db
      .selectFrom('enrollments as e')
      .innerJoin('bootstrap_tokens as b', 'b.enrollment_id', 'e.id')
      .select(['b.created_at', 'b.updated_at'])
      .where('e.device_id', '=', deviceId)
      .where('e.channel', '=', 'device')
      .orderBy('b.updated_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { escrowed: true, escrowedAt: row.created_at, updatedAt: row.updated_at } : { escrowed: false, escrowedAt: null, updatedAt: null };
  }
}
