/**
 * What a setup plan is built from, written straight to the database: an ABM server, a DEP profile
 * with Pomona-side settings, and the ABM device record of a serial number. (The ABM tests cover
 * how these come to be; the await-configuration tests only need them to exist.)
 */
import { randomUUID } from 'node:crypto';
import type { DepProfileSettings } from '../../src/abm/dep-profile.js';
import { DepProfileStore } from '../../src/abm/dep-profile-store.js';
import type { Db } from '../../src/db/database.js';

export async function abmServer(db: Db, opts: { organizationGroupId?: string } = {}): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await db
    .insertInto('abm_servers')
    .values({
      id, name: `ABM ${id.slice(0, 8)}`, organization_group_id: opts.organizationGroupId ?? null, base_url: null, sync_interval_minutes: 30,
      cert_pem: 'not used', key_enc: Buffer.from('not used'), fetch_complete: 0, sync_pages: 0, sync_devices: 0, created_at: now, updated_at: now,
    })
    .execute();
  return id;
}

export async function depProfile(db: Db, serverId: string, settings: DepProfileSettings): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await new DepProfileStore(db).insert({ id, abm_server_id: serverId, name: settings.apple.profile_name, is_default: 0, settings_json: JSON.stringify(settings), version: 1, created_at: now, updated_at: now });
  return id;
}

/** The device Apple assigned to the server, on a profile (or the server's default when null). */
export async function abmDevice(db: Db, o: { serial: string; serverId: string; profileId: string | null; family: 'Mac' | 'iPhone' | 'iPad' }): Promise<void> {
  const now = Date.now();
  await db
    .insertInto('abm_devices')
    .values({
      serial_number: o.serial, abm_server_id: o.serverId, model: null, description: null, color: null, asset_tag: null, os: o.family === 'Mac' ? 'OSX' : o.family === 'iPad' ? 'iPadOS' : 'iOS',
      device_family: o.family, profile_status: 'pushed', profile_uuid: null, profile_assign_time: null, profile_push_time: null, device_assigned_date: null,
      device_assigned_by: null, op_type: 'added', op_date: now, apple_json: '{}', first_seen_at: now, last_seen_at: now, removed_at: null,
      profile_id: o.profileId, assign_mode: 'auto', assign_started_at: null, assign_result: null, assign_error: null, assign_attempted_at: null, assign_retry_at: null, updated_at: now,
    })
    .execute();
}
