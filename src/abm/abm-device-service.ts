/**
 * The ABM device list as admins see it: Apple's record, Pomona's assignment state and the
 * profile names, one at a time or as a CSV export that streams whatever the filter matches.
 */
import type { AbmDeviceListRow, AbmDeviceStore, DeviceFilter, DeviceSort } from './abm-device-store.js';
import type { DepProfileStore } from './dep-profile-store.js';
import type { AbmServerStore } from './abm-server-store.js';
import { appleRecord } from './apple-device-record.js';
import { csvLine } from '../csv.js';
import type { LifecycleState } from '../mdm/device-lifecycle.js';

/** The part of an ABM record an enrollment decides on. */
export interface AbmEnrollmentRecord {
  abmServerId: string;
  serverGroupId: string | null;
  profileId: string | null;
  removedAt: number | null;
}

export interface AbmDeviceView {
  serialNumber: string;
  abmServerId: string;
  model: string | null;
  description: string | null;
  color: string | null;
  assetTag: string | null;
  os: string | null;
  deviceFamily: string | null;
  profileStatus: string | null;
  appleProfileUuid: string | null;
  profileAssignTime: number | null;
  profilePushTime: number | null;
  deviceAssignedDate: number | null;
  deviceAssignedBy: string | null;
  lastOpType: string | null;
  lastOpDate: number | null;
  firstSeenAt: number;
  lastSeenAt: number;
  removedAt: number | null;
  /** where the device stands (device-lifecycle.ts): registered until it reaches Pomona */
  lifecycleState: LifecycleState;
  /** the Pomona device it enrolled as, once it did */
  deviceId: string | null;
  /** Pomona's profile for the device; null = its server's default */
  profileId: string | null;
  automaticAssignment: boolean;
  assignment: {
    inProgress: boolean;
    lastResult: string | null;
    lastError: string | null;
    attemptedAt: number | null;
    retryAt: number | null;
  };
  /** every field of Apple's latest record */
  apple: Record<string, unknown>;
}

export class AbmDeviceService {
  constructor(private readonly o: { devices: AbmDeviceStore; profiles: DepProfileStore; servers: AbmServerStore; now?: () => number; claimTimeoutMs?: number }) {}

  async list(filter: DeviceFilter, page: { limit: number; offset: number; sort: DeviceSort; descending: boolean }) {
    const { total, rows } = await this.o.devices.list(filter, page);
    return { total, items: rows.map((r) => this.#view(r)) };
  }

  async countsByServer() {
    return this.o.devices.countsByServer();
  }

  async get(serial: string): Promise<AbmDeviceView | undefined> {
    const row = await this.o.devices.getListed(serial);
    return row && this.#view(row);
  }

  /** Where a device in Setup Assistant belongs: its ABM server (and that server's group), profile, and whether Apple removed it. */
  async forEnrollment(serial: string): Promise<AbmEnrollmentRecord | undefined> {
    const r = await this.o.devices.enrollmentFacts(serial);
    return r && { abmServerId: r.abm_server_id, serverGroupId: r.server_group_id, profileId: r.profile_id, removedAt: r.removed_at };
  }

  /** CSV lines (header first) for every device the filter matches, produced as they are read. */
  async *exportCsv(filter: DeviceFilter): AsyncGenerator<string> {
    const servers = new Map((await this.o.servers.list()).map((s) => [s.id, s.name]));
    const profileNames = new Map<string, string>();
    const defaults = new Map<string, string>();
    for (const id of servers.keys()) {
      for (const p of await this.o.profiles.listForServer(id)) {
        profileNames.set(p.id, p.name);
        if (p.is_default) defaults.set(id, p.name);
      }
    }
    yield csvLine(CSV_COLUMNS.map((c) => c[0]));
    for await (const row of this.o.devices.iterate(filter)) {
      const apple = appleRecord(row);
      const ctx = { row, apple, server: servers.get(row.abm_server_id) ?? '', profile: row.profile_id ? (profileNames.get(row.profile_id) ?? '') : (defaults.get(row.abm_server_id) ?? '') };
      yield csvLine(CSV_COLUMNS.map((c) => c[1](ctx)));
    }
  }

  #view(r: AbmDeviceListRow): AbmDeviceView {
    const now = (this.o.now ?? Date.now)();
    return {
      serialNumber: r.serial_number,
      abmServerId: r.abm_server_id,
      model: r.model,
      description: r.description,
      color: r.color,
      assetTag: r.asset_tag,
      os: r.os,
      deviceFamily: r.device_family,
      profileStatus: r.profile_status,
      appleProfileUuid: r.profile_uuid,
      profileAssignTime: r.profile_assign_time,
      profilePushTime: r.profile_push_time,
      deviceAssignedDate: r.device_assigned_date,
      deviceAssignedBy: r.device_assigned_by,
      lastOpType: r.op_type,
      lastOpDate: r.op_date,
      firstSeenAt: r.first_seen_at,
      lastSeenAt: r.last_seen_at,
      removedAt: r.removed_at,
      lifecycleState: r.lifecycle_state,
      deviceId: r.device_id,
      profileId: r.profile_id,
      automaticAssignment: r.assign_mode === 'auto',
      assignment: {
        inProgress: r.assign_started_at !== null && r.assign_started_at > now - (this.o.claimTimeoutMs ?? 10 * 60_000),
        lastResult: r.assign_result,
        lastError: r.assign_error,
        attemptedAt: r.assign_attempted_at,
        retryAt: r.assign_retry_at,
      },
      apple: appleRecord(r),
    };
  }
}

type Ctx = { row: AbmDeviceListRow; apple: Record<string, unknown>; server: string; profile: string };
const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
const field = (k: string) => (c: Ctx) => {
  const v = c.apple[k];
  return Array.isArray(v) ? v.join(' ') : v === undefined || v === null ? '' : String(v);
};

/** Apple's fields under Apple's names, then Pomona's. */
const CSV_COLUMNS: [string, (c: Ctx) => string][] = [
  ['serial_number', (c) => c.row.serial_number],
  ['model', (c) => c.row.model ?? ''],
  ['description', (c) => c.row.description ?? ''],
  ['color', (c) => c.row.color ?? ''],
  ['asset_tag', (c) => c.row.asset_tag ?? ''],
  ['os', (c) => c.row.os ?? ''],
  ['device_family', (c) => c.row.device_family ?? ''],
  ['profile_status', (c) => c.row.profile_status ?? ''],
  ['profile_uuid', (c) => c.row.profile_uuid ?? ''],
  ['profile_assign_time', (c) => iso(c.row.profile_assign_time)],
  ['profile_push_time', (c) => iso(c.row.profile_push_time)],
  ['device_assigned_date', (c) => iso(c.row.device_assigned_date)],
  ['device_assigned_by', (c) => c.row.device_assigned_by ?? ''],
  ['op_type', (c) => c.row.op_type ?? ''],
  ['op_date', (c) => iso(c.row.op_date)],
  ['imei', field('imei')],
  ['meid', field('meid')],
  ['eid', field('eid')],
  ['wifi_mac_address', field('wifi_mac_address')],
  ['bluetooth_mac_address', field('bluetooth_mac_address')],
  ['ethernet_mac_address', field('ethernet_mac_address')],
  ['is_replacement_device', field('is_replacement_device')],
  ['mdm_migration_deadline', field('mdm_migration_deadline')],
  ['abm_server', (c) => c.server],
  ['pomona_profile', (c) => (c.row.assign_mode === 'none' ? '' : c.profile)],
  ['automatic_assignment', (c) => (c.row.assign_mode === 'auto' ? 'yes' : 'no')],
  ['assign_result', (c) => c.row.assign_result ?? ''],
  ['assign_error', (c) => c.row.assign_error ?? ''],
  ['assign_attempted_at', (c) => iso(c.row.assign_attempted_at)],
  ['assign_retry_at', (c) => iso(c.row.assign_retry_at)],
  ['first_seen_at', (c) => iso(c.row.first_seen_at)],
  ['last_seen_at', (c) => iso(c.row.last_seen_at)],
  ['removed_from_abm_at', (c) => iso(c.row.removed_at)],
  ['lifecycle_state', (c) => c.row.lifecycle_state],
];
