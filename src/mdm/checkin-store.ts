/**
 * Queries behind the check-in protocol: devices, enrollments (one per channel), identity
 * certificate bindings and bootstrap tokens. Kysely only; the rules live in checkin-service.ts.
 */
import { randomUUID } from 'node:crypto';
import type { SelectQueryBuilder } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database, Enrollment, IdentityCertificate } from '../db/schema.js';
import type { StoredLifecycleState } from './device-lifecycle.js';
import { refuse } from './device-refusal.js';
import { prepareQuery } from './prepared-query.js';

export interface DeviceFacts {
  udid?: string | null;
  serial_number?: string | null;
  model?: string | null;
  model_name?: string | null;
  product_name?: string | null;
  device_name?: string | null;
  os_version?: string | null;
  build_version?: string | null;
  imei?: string | null;
  meid?: string | null;
  platform?: string | null;
}

export interface AuthenticateRecord {
  enrollmentId: string;
  type: string;
  topic: string | null;
  facts: DeviceFacts;
  rawPlist: string;
  certSha256: string;
}

export interface TokenUpdateRecord {
  enrollmentId: string;
  parentId: string | null;
  channel: 'device' | 'user';
  type: string;
  userId?: string | null;
  userShortName?: string | null;
  userLongName?: string | null;
  topic: string | null;
  pushMagic: string;
  tokenHex: string;
  unlockTokenEnc: Buffer | null;
  awaitingConfiguration: boolean;
  rawPlist: string;
}

export type ChannelState = Pick<Enrollment, 'id' | 'device_id' | 'status' | 'last_seen_at'>;

/** Only commands not yet answered (or refused with NotNow) are cleared by a re-enrollment. */
const CLEARABLE = ['Pending', 'NotNow'];

export class CheckinStore {
  // Read on every command report; prepared once (see prepared-query.ts).
  readonly #channelStates;

  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {
    // On the device channel both ids are the same, and IN (x, x) finds the one row.
    this.#channelStates = prepareQuery(db, 2, (enrollmentId: string, deviceChannelId: string) =>
      db.selectFrom('enrollments').select(['id', 'device_id', 'status', 'last_seen_at']).where('id', 'in', [enrollmentId, deviceChannelId]),
    );
  }

  findCertificate(sha256: string): Promise<IdentityCertificate | undefined> {
    return this.db.selectFrom('identity_certificates').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  }

  /** A certificate from a trusted external CA, seen for the first time. */
  async insertExternalCertificate(row: Omit<IdentityCertificate, 'created_at' | 'bound_at' | 'enrollment_id' | 'issued_by_pomona'>): Promise<void> {
    await this.db
      .insertInto('identity_certificates')
      .values({ ...row, enrollment_id: null, issued_by_pomona: 0, created_at: this.now(), bound_at: null })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute();
  }

  getEnrollment(id: string): Promise<Enrollment | undefined> {
    return this.db.selectFrom('enrollments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * What a command report needs to know about its channel and, for a user channel, its device
   * channel: one indexed read of at most two rows, without the stored plists.
   */
  async channelStates(enrollmentId: string, deviceChannelId: string): Promise<Map<string, ChannelState>> {
    const { rows } = await this.#channelStates(enrollmentId, deviceChannelId);
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * Authenticate: the device row is found by UDID (or by its existing enrollment for user
   * enrollments, which carry no UDID) so a re-enrollment never duplicates the device. The
   * enrollment goes back to pending until TokenUpdate, its unanswered commands and those of
   * its user channels are deactivated (history kept), and the certificate is bound to it.
   */
  async authenticate(rec: AuthenticateRecord): Promise<{ deviceId: string; reEnrollment: boolean }> {
    const now = this.now();
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('enrollments').select(['id', 'device_id']).where('id', '=', rec.enrollmentId).executeTakeFirst();
      let deviceId = existing?.device_id;
      if (!deviceId && rec.facts.udid) {
        deviceId = (await tx.selectFrom('devices').select('id').where('udid', '=', rec.facts.udid).executeTakeFirst())?.id;
      }
      const facts = definedOnly(rec.facts);
      // The lifecycle rides on the write Authenticate makes anyway (device-lifecycle.ts).
      if (deviceId) {
        await tx
          .updateTable('devices')
          .set((eb) => ({
            ...facts, updated_at: now, last_seen_at: now, lifecycle_state: 'enrolling',
            lifecycle_changed_at: eb.case().when('lifecycle_state', '=', 'enrolling').then(eb.ref('lifecycle_changed_at')).else(now).end(),
          }))
          .where('id', '=', deviceId)
          .execute();
      } else {
        deviceId = randomUUID();
        await tx
          .insertInto('devices')
          .values({ id: deviceId, ...facts, info_json: null, created_at: now, updated_at: now, last_seen_at: now, lifecycle_state: 'enrolling', lifecycle_changed_at: now })
          .execute();
      }
      if (facts.serial_number) {
        // Its ABM record, if any, now belongs to this device (no write when it already did).
        await tx
          .updateTable('abm_devices')
          .set({ device_id: deviceId })
          .where('serial_number', '=', facts.serial_number)
          .where((eb) => eb.or([eb('device_id', 'is', null), eb('device_id', '!=', deviceId!)]))
          .execute();
      }
      if (existing) {
        await tx
          .updateTable('enrollments')
          .set({ status: 'pending', topic: rec.topic, authenticate_plist: rec.rawPlist, checked_out_at: null, updated_at: now, last_seen_at: now })
          .where('id', '=', rec.enrollmentId)
          .execute();
        await tx.updateTable('enrollments').set({ status: 'pending', updated_at: now }).where('parent_id', '=', rec.enrollmentId).execute();
        await clearQueue(tx, rec.enrollmentId);
      } else {
        await tx
          .insertInto('enrollments')
          .values({
            id: rec.enrollmentId, device_id: deviceId, parent_id: null, channel: 'device', type: rec.type, is_ade: 0,
            user_id: null, user_short_name: null, user_long_name: null, topic: rec.topic, push_magic: null, token_hex: null,
            token_invalid_at: null, unlock_token_enc: null, awaiting_configuration: 0, status: 'pending', token_update_count: 0,
            authenticate_plist: rec.rawPlist, token_update_plist: null, last_push_at: null, last_push_result: null,
            created_at: now, updated_at: now, last_seen_at: now, checked_out_at: null,
          })
          .execute();
      }
      // A binding is written once: IdentityAuth remembers it on every node. Checked here too, in
      // the transaction, so two concurrent Authenticates cannot both bind one certificate.
      const bound = await tx
        .updateTable('identity_certificates')
        .set({ enrollment_id: rec.enrollmentId, bound_at: now })
        .where('sha256', '=', rec.certSha256)
        .where((eb) => eb.or([eb('enrollment_id', 'is', null), eb('enrollment_id', '=', rec.enrollmentId)]))
        .executeTakeFirst();
      if (Number(bound.numUpdatedRows) !== 1) refuse('bad-request', 'identity certificate is bound to another enrollment; re-use refused');
      return { deviceId, reEnrollment: Boolean(existing) };
    });
  }

  /** TokenUpdate: activates the channel (creating a user channel on its first TokenUpdate). Returns the new tally. */
  async tokenUpdate(rec: TokenUpdateRecord, deviceId: string): Promise<number> {
    const now = this.now();
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('enrollments').select(['token_update_count', 'status', 'token_invalid_at']).where('id', '=', rec.enrollmentId).executeTakeFirst();
      const push = {
        topic: rec.topic, push_magic: rec.pushMagic, token_hex: rec.tokenHex, token_invalid_at: null,
        awaiting_configuration: rec.awaitingConfiguration ? 1 : 0, status: 'active' as const,
        token_update_plist: rec.rawPlist, updated_at: now, last_seen_at: now,
        ...(rec.unlockTokenEnc ? { unlock_token_enc: rec.unlockTokenEnc } : {}),
      };
      if (existing) {
        const tally = existing.token_update_count + 1;
        await tx
          .updateTable('enrollments')
          .set({ ...push, token_update_count: tally, user_short_name: rec.userShortName ?? undefined, user_long_name: rec.userLongName ?? undefined })
          .where('id', '=', rec.enrollmentId)
          .execute();
        // Only the TokenUpdate that completes an enrollment (or revives a token APNs had
        // called Unregistered) changes the device; routine token refreshes write nothing more.
        if (rec.channel === 'device' && (existing.status !== 'active' || existing.token_invalid_at !== null)) {
          await setLifecycle(tx, deviceId, 'enrolled', now);
        }
        return tally;
      }
      await tx
        .insertInto('enrollments')
        .values({
          id: rec.enrollmentId, device_id: deviceId, parent_id: rec.parentId, channel: rec.channel, type: rec.type, is_ade: 0,
          user_id: rec.userId ?? null, user_short_name: rec.userShortName ?? null, user_long_name: rec.userLongName ?? null,
          unlock_token_enc: null, token_update_count: 1, authenticate_plist: null, last_push_at: null, last_push_result: null,
          created_at: now, checked_out_at: null, ...push,
        })
        .execute();
      return 1;
    });
  }

  /**
   * CheckOut (or an admin removal): the channel and its user channels stop being managed. When
   * it is a device channel, the device becomes `lifecycle` (unenrolled, or removed by an admin).
   */
  async remove(enrollmentId: string, lifecycle: 'unenrolled' | 'removed' = 'unenrolled'): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('enrollments')
        .set({ status: 'removed', checked_out_at: now, updated_at: now })
        .where((eb) => eb.or([eb('id', '=', enrollmentId), eb('parent_id', '=', enrollmentId)]))
        .execute();
      await clearQueue(tx, enrollmentId);
      const device = tx.selectFrom('enrollments').select('device_id').where('id', '=', enrollmentId).where('parent_id', 'is', null);
      await setLifecycle(tx, device, lifecycle, now);
    });
  }

  async touch(enrollmentId: string, deviceId: string): Promise<void> {
    const now = this.now();
    await this.db.updateTable('enrollments').set({ last_seen_at: now }).where('id', '=', enrollmentId).execute();
    await this.db.updateTable('devices').set({ last_seen_at: now }).where('id', '=', deviceId).execute();
  }

  async setBootstrapToken(enrollmentId: string, tokenEnc: Buffer | null): Promise<void> {
    if (!tokenEnc) {
      await this.db.deleteFrom('bootstrap_tokens').where('enrollment_id', '=', enrollmentId).execute();
      return;
    }
    const now = this.now();
    await this.db
      .insertInto('bootstrap_tokens')
      .values({ enrollment_id: enrollmentId, token_enc: tokenEnc, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('enrollment_id').doUpdateSet({ token_enc: tokenEnc, updated_at: now }))
      .execute();
  }

  async getBootstrapToken(enrollmentId: string): Promise<Buffer | undefined> {
    const row = await this.db.selectFrom('bootstrap_tokens').select('token_enc').where('enrollment_id', '=', enrollmentId).executeTakeFirst();
    return row ? Buffer.from(row.token_enc) : undefined;
  }

  async updateDeviceFacts(deviceId: string, facts: DeviceFacts, infoJson?: string): Promise<void> {
    const set = definedOnly(facts);
    await this.db
      .updateTable('devices')
      .set({ ...set, ...(infoJson ? { info_json: infoJson } : {}), updated_at: this.now() })
      .where('id', '=', deviceId)
      .execute();
  }
}

/** Moves a device to `state`; the time of the change is kept only when the state really changes. */
async function setLifecycle(tx: Db, device: string | SelectQueryBuilder<Database, 'enrollments', { device_id: string }>, state: StoredLifecycleState, now: number): Promise<void> {
  await tx
    .updateTable('devices')
    .set({ lifecycle_state: state, lifecycle_changed_at: now })
    .where('id', typeof device === 'string' ? '=' : 'in', device)
    .where('lifecycle_state', '!=', state)
    .execute();
}

/** Deactivates the unanswered commands of a channel and its user channels (history is kept). */
async function clearQueue(tx: Db, enrollmentId: string): Promise<void> {
  await tx
    .updateTable('command_queue')
    .set({ active: 0 })
    .where('active', '=', 1)
    .where('status', 'in', CLEARABLE)
    .where((eb) =>
      eb.or([
        eb('enrollment_id', '=', enrollmentId),
        eb('enrollment_id', 'in', eb.selectFrom('enrollments').select('id').where('parent_id', '=', enrollmentId)),
      ]),
    )
    .execute();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}
