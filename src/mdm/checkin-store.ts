/**
 * Queries behind the check-in protocol: devices, enrollments (one per channel), identity
 * certificate bindings and bootstrap tokens. Kysely only; the rules live in checkin-service.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import type { Enrollment, IdentityCertificate } from '../db/schema.js';
import type { StoredLifecycleState } from './device-lifecycle.js';
import { refuse } from './device-refusal.js';

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
/** What a message is checked against: the channel a message names, without its stored plists. */
export type ChannelOfMessage = Pick<Enrollment, 'id' | 'device_id' | 'status' | 'topic'>;
/** What authorization needs of an identity certificate (not its DER). */
export type CertificateBinding = Pick<IdentityCertificate, 'enrollment_id' | 'not_before' | 'not_after'>;

/** Only commands not yet answered (or refused with NotNow) are cleared by a re-enrollment. */
const CLEARABLE = ['Pending', 'NotNow'];

export class CheckinStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  async findCertificate(sha256: string): Promise<CertificateBinding | undefined> {
    return (await q.certificate(this.db, sha256)).rows[0];
  }

  /** A certificate from a trusted external CA, seen for the first time. */
  async insertExternalCertificate(row: Omit<IdentityCertificate, 'created_at' | 'bound_at' | 'enrollment_id' | 'issued_by_pomona'>): Promise<void> {
    await this.db
      .insertInto('identity_certificates')
      .values({ ...row, enrollment_id: null, issued_by_pomona: 0, created_at: this.now(), bound_at: null })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute();
  }

  async getEnrollment(id: string): Promise<ChannelOfMessage | undefined> {
    return (await q.channelOfMessage(this.db, id)).rows[0];
  }

  /**
   * What a command report needs to know about its channel and, for a user channel, its device
   * channel: one indexed read of at most two rows, without the stored plists.
   */
  async channelStates(enrollmentId: string, deviceChannelId: string): Promise<Map<string, ChannelState>> {
    const { rows } = await q.channelStates(this.db, enrollmentId, deviceChannelId);
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
      const existing = (await q.enrollmentDevice(tx, rec.enrollmentId)).rows[0];
      let deviceId = existing?.device_id;
      if (!deviceId && rec.facts.udid) deviceId = (await q.deviceByUdid(tx, rec.facts.udid)).rows[0]?.id;
      const facts = factArgs(rec.facts);
      // The lifecycle rides on the write Authenticate makes anyway (device-lifecycle.ts).
      if (deviceId) {
        await q.reauthenticateDevice(tx, deviceId, now, ...facts);
      } else {
        deviceId = randomUUID();
        await q.insertDevice(tx, deviceId, now, ...facts);
      }
      if (rec.facts.serial_number) {
        // Its ABM record, if any, now belongs to this device (no write when it already did).
        await q.claimAbmDevice(tx, rec.facts.serial_number, deviceId);
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
        await q.insertDeviceChannel(tx, rec.enrollmentId, deviceId, rec.type, rec.topic, rec.rawPlist, now);
      }
      // A binding is written once: IdentityAuth remembers it on every node. Checked here too, in
      // the transaction, so two concurrent Authenticates cannot both bind one certificate.
      const bound = await q.bindCertificate(tx, rec.certSha256, rec.enrollmentId, now);
      if (Number(bound.numAffectedRows) !== 1) refuse('bad-request', 'identity certificate is bound to another enrollment; re-use refused');
      return { deviceId, reEnrollment: Boolean(existing) };
    });
  }

  /** TokenUpdate: activates the channel (creating a user channel on its first TokenUpdate). Returns the new tally. */
  async tokenUpdate(rec: TokenUpdateRecord, deviceId: string): Promise<number> {
    const now = this.now();
    return this.db.transaction().execute(async (tx) => {
      const existing = (await q.tokenState(tx, rec.enrollmentId)).rows[0];
      const awaiting = rec.awaitingConfiguration ? 1 : 0;
      if (existing) {
        const tally = existing.token_update_count + 1;
        await q.tokenUpdate(
          tx, rec.enrollmentId, rec.topic, rec.pushMagic, rec.tokenHex, awaiting, rec.rawPlist, now, tally,
          rec.unlockTokenEnc, rec.userShortName ?? null, rec.userLongName ?? null,
        );
        // Only the TokenUpdate that completes an enrollment (or revives a token APNs had
        // called Unregistered) changes the device; routine token refreshes write nothing more.
        if (rec.channel === 'device' && (existing.status !== 'active' || existing.token_invalid_at !== null)) {
          await q.setLifecycle(tx, deviceId, 'enrolled', now);
        }
        return tally;
      }
      // A user channel's first TokenUpdate (rare next to the above; built by Kysely each time).
      await tx
        .insertInto('enrollments')
        .values({
          id: rec.enrollmentId, device_id: deviceId, parent_id: rec.parentId, channel: rec.channel, type: rec.type, is_ade: 0,
          user_id: rec.userId ?? null, user_short_name: rec.userShortName ?? null, user_long_name: rec.userLongName ?? null,
          topic: rec.topic, push_magic: rec.pushMagic, token_hex: rec.tokenHex, token_invalid_at: null, unlock_token_enc: rec.unlockTokenEnc,
          awaiting_configuration: awaiting, status: 'active', token_update_count: 1, authenticate_plist: null, token_update_plist: rec.rawPlist,
          last_push_at: null, last_push_result: null, created_at: now, updated_at: now, last_seen_at: now, checked_out_at: null,
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
      await q.setChannelLifecycle(tx, enrollmentId, lifecycle, now);
    });
  }

  async touch(enrollmentId: string, deviceId: string): Promise<void> {
    const now = this.now();
    await q.touchEnrollment(this.db, enrollmentId, now);
    await q.touchDevice(this.db, deviceId, now);
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
const lifecycleUpdate = (db: Db, state: StoredLifecycleState, now: number) =>
  db.updateTable('devices').set({ lifecycle_state: state, lifecycle_changed_at: now }).where('lifecycle_state', '!=', state);

type Fact = string | null;
/** The DeviceFacts columns, in the order of the fact arguments of q.insertDevice and q.reauthenticateDevice. */
const FACT_COLUMNS = ['udid', 'serial_number', 'model', 'model_name', 'product_name', 'device_name', 'os_version', 'build_version', 'imei', 'meid', 'platform'] as const;
type FactArgs = [Fact, Fact, Fact, Fact, Fact, Fact, Fact, Fact, Fact, Fact, Fact];
const factArgs = (facts: DeviceFacts) => FACT_COLUMNS.map((c) => facts[c] ?? null) as FactArgs;

/**
 * The statements of check-in messages and command reports, each built and compiled once (see
 * src/db/prepared.ts). Where Kysely would leave out a column whose value is unknown, these
 * write `coalesce(?, column)`: with null the column keeps its value, as when it is left out.
 */
const q = {
  certificate: prepared((db, sha256: string) =>
    db.selectFrom('identity_certificates').select(['enrollment_id', 'not_before', 'not_after']).where('sha256', '=', sha256),
  ),
  channelOfMessage: prepared((db, id: string) => db.selectFrom('enrollments').select(['id', 'device_id', 'status', 'topic']).where('id', '=', id)),
  // On the device channel both ids are the same, and IN (x, x) finds the one row.
  channelStates: prepared((db, enrollmentId: string, deviceChannelId: string) =>
    db.selectFrom('enrollments').select(['id', 'device_id', 'status', 'last_seen_at']).where('id', 'in', [enrollmentId, deviceChannelId]),
  ),
  enrollmentDevice: prepared((db, id: string) => db.selectFrom('enrollments').select(['id', 'device_id']).where('id', '=', id)),
  deviceByUdid: prepared((db, udid: string) => db.selectFrom('devices').select('id').where('udid', '=', udid)),
  insertDevice: prepared(
    (db, id: string, now: number, udid: Fact, serial_number: Fact, model: Fact, model_name: Fact, product_name: Fact, device_name: Fact, os_version: Fact, build_version: Fact, imei: Fact, meid: Fact, platform: Fact) =>
      db.insertInto('devices').values({
        id, udid, serial_number, model, model_name, product_name, device_name, os_version, build_version, imei, meid, platform,
        info_json: null, created_at: now, updated_at: now, last_seen_at: now, lifecycle_state: 'enrolling', lifecycle_changed_at: now,
      }),
  ),
  /** A device enrolling again: the facts it sent replace the stored ones, the others stay. */
  reauthenticateDevice: prepared(
    (db, id: string, now: number, udid: Fact, serial_number: Fact, model: Fact, model_name: Fact, product_name: Fact, device_name: Fact, os_version: Fact, build_version: Fact, imei: Fact, meid: Fact, platform: Fact) =>
      db
        .updateTable('devices')
        .set((eb) => ({
          udid: eb.fn.coalesce(eb.val(udid), 'udid'),
          serial_number: eb.fn.coalesce(eb.val(serial_number), 'serial_number'),
          model: eb.fn.coalesce(eb.val(model), 'model'),
          model_name: eb.fn.coalesce(eb.val(model_name), 'model_name'),
          product_name: eb.fn.coalesce(eb.val(product_name), 'product_name'),
          device_name: eb.fn.coalesce(eb.val(device_name), 'device_name'),
          os_version: eb.fn.coalesce(eb.val(os_version), 'os_version'),
          build_version: eb.fn.coalesce(eb.val(build_version), 'build_version'),
          imei: eb.fn.coalesce(eb.val(imei), 'imei'),
          meid: eb.fn.coalesce(eb.val(meid), 'meid'),
          platform: eb.fn.coalesce(eb.val(platform), 'platform'),
          updated_at: now, last_seen_at: now, lifecycle_state: 'enrolling',
          lifecycle_changed_at: eb.case().when('lifecycle_state', '=', 'enrolling').then(eb.ref('lifecycle_changed_at')).else(now).end(),
        }))
        .where('id', '=', id),
  ),
  claimAbmDevice: prepared((db, serial: string, deviceId: string) =>
    db
      .updateTable('abm_devices')
      .set({ device_id: deviceId })
      .where('serial_number', '=', serial)
      .where((eb) => eb.or([eb('device_id', 'is', null), eb('device_id', '!=', deviceId)])),
  ),
  insertDeviceChannel: prepared((db, id: string, deviceId: string, type: string, topic: string | null, rawPlist: string, now: number) =>
    db.insertInto('enrollments').values({
      id, device_id: deviceId, parent_id: null, channel: 'device', type, is_ade: 0,
      user_id: null, user_short_name: null, user_long_name: null, topic, push_magic: null, token_hex: null,
      token_invalid_at: null, unlock_token_enc: null, awaiting_configuration: 0, status: 'pending', token_update_count: 0,
      authenticate_plist: rawPlist, token_update_plist: null, last_push_at: null, last_push_result: null,
      created_at: now, updated_at: now, last_seen_at: now, checked_out_at: null,
    }),
  ),
  bindCertificate: prepared((db, sha256: string, enrollmentId: string, now: number) =>
    db
      .updateTable('identity_certificates')
      .set({ enrollment_id: enrollmentId, bound_at: now })
      .where('sha256', '=', sha256)
      .where((eb) => eb.or([eb('enrollment_id', 'is', null), eb('enrollment_id', '=', enrollmentId)])),
  ),
  tokenState: prepared((db, id: string) => db.selectFrom('enrollments').select(['token_update_count', 'status', 'token_invalid_at']).where('id', '=', id)),
  /** A TokenUpdate without an unlock token or user names keeps the stored ones. */
  tokenUpdate: prepared(
    (db, id: string, topic: string | null, pushMagic: string, tokenHex: string, awaiting: number, rawPlist: string, now: number, tally: number, unlockTokenEnc: Buffer | null, userShortName: string | null, userLongName: string | null) =>
      db
        .updateTable('enrollments')
        .set((eb) => ({
          topic, push_magic: pushMagic, token_hex: tokenHex, token_invalid_at: null, awaiting_configuration: awaiting, status: 'active',
          token_update_plist: rawPlist, updated_at: now, last_seen_at: now, token_update_count: tally,
          unlock_token_enc: eb.fn.coalesce(eb.val(unlockTokenEnc), 'unlock_token_enc'),
          user_short_name: eb.fn.coalesce(eb.val(userShortName), 'user_short_name'),
          user_long_name: eb.fn.coalesce(eb.val(userLongName), 'user_long_name'),
        }))
        .where('id', '=', id),
  ),
  setLifecycle: prepared((db, deviceId: string, state: StoredLifecycleState, now: number) => lifecycleUpdate(db, state, now).where('id', '=', deviceId)),
  /** The device of a device channel (a user channel's device is left alone). */
  setChannelLifecycle: prepared((db, enrollmentId: string, state: StoredLifecycleState, now: number) =>
    lifecycleUpdate(db, state, now).where('id', 'in', db.selectFrom('enrollments').select('device_id').where('id', '=', enrollmentId).where('parent_id', 'is', null)),
  ),
  touchEnrollment: prepared((db, id: string, now: number) => db.updateTable('enrollments').set({ last_seen_at: now }).where('id', '=', id)),
  touchDevice: prepared((db, id: string, now: number) => db.updateTable('devices').set({ last_seen_at: now }).where('id', '=', id)),
};

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
