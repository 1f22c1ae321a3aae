/**
 * Rows for device-list and lifecycle tests, written straight to the database: organization
 * groups, ABM servers and their device records, devices and their device channels. Only what a
 * test names is set; the rest takes a plain default.
 */
import type { Db } from '../../src/db/database.js';

const NOW = 1_760_000_000_000;

export async function insertGroup(db: Db, g: { id: string; parentId: string; name?: string; code?: string }): Promise<string> {
  const parent = await db.selectFrom('organization_groups').select(['path', 'depth']).where('id', '=', g.parentId).executeTakeFirstOrThrow();
  await db
    .insertInto('organization_groups')
    .values({ id: g.id, parent_id: g.parentId, name: g.name ?? g.id, group_code: g.code ?? g.id.toUpperCase(), path: `${parent.path}${g.id}/`, depth: parent.depth + 1, created_at: NOW, updated_at: NOW })
    .execute();
  return g.id;
}

export async function insertAbmServer(db: Db, s: { id: string; groupId: string | null }): Promise<void> {
  await db
    .insertInto('abm_servers')
    .values({
      id: s.id, name: s.id, organization_group_id: s.groupId, base_url: null, sync_interval_minutes: 30, cert_pem: '-', key_enc: Buffer.from('-'),
      staged_cert_pem: null, staged_key_enc: null, consumer_key: null, tokens_enc: null, token_expires_at: null, token_uploaded_at: null, session_enc: null,
      account_json: null, apple_server_uuid: null, apple_server_name: null, org_name: null, admin_id: null, page_limit: null, last_success_at: null,
      last_error_at: null, last_error_code: null, last_error_message: null, cursor: null, cursor_at: null, fetch_complete: 1, full_fetch_started_at: null,
      sync_started_at: null, sync_kind: null, sync_pages: 0, sync_devices: 0, last_sync_at: null, last_sync_json: null, last_sync_error: null,
      sync_requested: null, sync_requested_at: null, next_sync_at: null, created_at: NOW, updated_at: NOW,
    })
    .execute();
}

export interface AbmDeviceSpec {
  serial: string;
  serverId: string;
  family?: string;
  model?: string;
  profileStatus?: string;
  removedAt?: number | null;
  deviceId?: string | null;
  firstSeenAt?: number;
}

export async function insertAbmDevice(db: Db, a: AbmDeviceSpec): Promise<void> {
  await db
    .insertInto('abm_devices')
    .values({
      serial_number: a.serial, abm_server_id: a.serverId, model: a.model ?? null, description: null, color: null, asset_tag: null, os: null,
      device_family: a.family ?? null, profile_status: a.profileStatus ?? 'assigned', profile_uuid: null, profile_assign_time: null,
      profile_push_time: a.profileStatus === 'pushed' ? NOW + 5 : null, device_assigned_date: NOW, device_assigned_by: null, op_type: 'added', op_date: NOW,
      apple_json: '{}', first_seen_at: a.firstSeenAt ?? NOW, last_seen_at: NOW, removed_at: a.removedAt ?? null, profile_id: null, assign_mode: 'auto',
      assign_started_at: null, assign_result: null, assign_error: null, assign_attempted_at: null, assign_retry_at: null, updated_at: NOW,
      device_id: a.deviceId ?? null,
    })
    .execute();
}

export interface DeviceSpec {
  id: string;
  serial?: string | null;
  groupId?: string;
  state?: string;
  ownership?: string | null;
  platform?: string | null;
  productName?: string | null;
  name?: string | null;
  /** the device channel's enrollment status; none when undefined */
  channel?: 'pending' | 'active' | 'removed';
}

export async function insertDevice(db: Db, d: DeviceSpec): Promise<void> {
  await db
    .insertInto('devices')
    .values({
      id: d.id, udid: d.serial === null ? null : `UDID-${d.id}`, serial_number: d.serial === undefined ? `SN-${d.id}` : d.serial, model: null, model_name: null,
      product_name: d.productName ?? null, device_name: d.name ?? `${d.id} name`, os_version: null, build_version: null, imei: null, meid: null, info_json: null,
      created_at: NOW, updated_at: NOW, last_seen_at: NOW, ownership: d.ownership ?? null, organization_group_id: d.groupId ?? 'global',
      lifecycle_state: d.state ?? 'enrolled', lifecycle_changed_at: NOW, platform: d.platform ?? null,
    })
    .execute();
  if (!d.channel) return;
  const id = d.serial === null ? `ENROLLMENT-${d.id}` : `UDID-${d.id}`;
  await db
    .insertInto('enrollments')
    .values({
      id, device_id: d.id, parent_id: null, channel: 'device', type: 'Device', is_ade: 0, user_id: null, user_short_name: null, user_long_name: null,
      topic: null, push_magic: null, token_hex: null, token_invalid_at: null, unlock_token_enc: null, awaiting_configuration: 0, status: d.channel,
      token_update_count: 1, authenticate_plist: null, token_update_plist: null, last_push_at: null, last_push_result: null, created_at: NOW, updated_at: NOW,
      last_seen_at: NOW, checked_out_at: null,
    })
    .execute();
}

export const FLEET_NOW = NOW;
