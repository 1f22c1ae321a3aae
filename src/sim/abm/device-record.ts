/**
 * A device as the Device Assignment service reports it, and its JSON per protocol version.
 *
 * A `DeviceRevision` is an immutable snapshot: the device's current state is its latest
 * revision and every change-log entry points at the revision it announced, so a sync shows a
 * serial's state at each operation without copying fleets. JSON is rendered once per
 * revision and protocol bucket and cached, which is what makes 1000-device pages cheap.
 */
import { isoSeconds } from './wire.js';

export type DeviceOs = 'iOS' | 'iPadOS' | 'OSX' | 'tvOS' | 'visionOS';
export type DeviceFamily = 'iPad' | 'iPhone' | 'iPod' | 'Mac' | 'AppleTV' | 'Vision';
export type ProfileStatus = 'empty' | 'assigned' | 'pushed' | 'removed';

/** Apple's field names; times are epoch ms here and ISO 8601 on the wire. */
export interface DeviceFields {
  serial_number: string;
  model: string;
  description?: string;
  color?: string;
  asset_tag?: string;
  /** iPads are stored as iPadOS and reported as iOS below protocol 7 */
  os?: DeviceOs;
  device_family?: DeviceFamily;
  profile_status: ProfileStatus;
  profile_uuid?: string;
  profile_assign_time?: number;
  profile_push_time?: number;
  device_assigned_date?: number;
  device_assigned_by?: string;
  /** v8+ */
  mdm_migration_deadline?: number;
  /** v10+ */
  bluetooth_mac_address?: string;
  wifi_mac_address?: string;
  ethernet_mac_address?: string;
  eid?: string;
  imei?: string[];
  meid?: string[];
  is_replacement_device?: boolean;
}

/** The fields a script may change (everything but the serial and the profile bookkeeping). */
export type DeviceChanges = Partial<Omit<DeviceFields, 'serial_number' | 'profile_status' | 'profile_uuid' | 'profile_assign_time' | 'profile_push_time'>>;

/** Protocol versions bucketed by what they change in a device record: <2, 2–6, 7, 8–9, ≥10. */
export function deviceVariant(protocol: number): number {
  if (protocol < 2) return 0;
  if (protocol < 7) return 1;
  if (protocol < 8) return 2;
  if (protocol < 10) return 3;
  return 4;
}

export class DeviceRevision {
  // One slot: a client speaks one protocol version, and a slot per bucket would cost 100k arrays.
  private cachedVariant = -1;
  private cachedJson = '';

  constructor(readonly f: Readonly<DeviceFields>) {}

  with(changes: Partial<DeviceFields>): DeviceRevision {
    const next: DeviceFields = { ...this.f, ...changes };
    for (const k of Object.keys(changes) as (keyof DeviceFields)[]) if (changes[k] === undefined) delete next[k];
    return new DeviceRevision(next);
  }

  /** The device's JSON object text for a protocol bucket (see deviceVariant). */
  json(variant: number): string {
    if (this.cachedVariant !== variant) {
      this.cachedJson = renderDevice(this.f, variant);
      this.cachedVariant = variant;
    }
    return this.cachedJson;
  }

  /** The JSON of a sync record: the device plus op_type / op_date (and released_by_replacement on deletes). */
  opJson(variant: number, op: string, at: number, releasedByReplacement?: boolean): string {
    const base = this.json(variant);
    const extra = variant >= 4 && op === 'deleted' && releasedByReplacement !== undefined ? `,"released_by_replacement":${releasedByReplacement}` : '';
    return `${base.slice(0, -1)},"op_type":"${op}","op_date":"${isoSeconds(at)}"${extra}}`;
  }
}

export function renderDevice(f: Readonly<DeviceFields>, variant: number): string {
  // Key order follows Apple's samples.
  const o: Record<string, unknown> = { serial_number: f.serial_number };
  if (f.description !== undefined) o.description = f.description;
  o.model = f.model;
  if (variant >= 1) {
    if (f.os !== undefined) o.os = f.os === 'iPadOS' && variant < 2 ? 'iOS' : f.os;
    if (f.device_family !== undefined) o.device_family = f.device_family;
  }
  if (f.color !== undefined) o.color = f.color;
  if (f.asset_tag !== undefined) o.asset_tag = f.asset_tag;
  if (f.profile_uuid !== undefined) o.profile_uuid = f.profile_uuid;
  if (f.profile_assign_time !== undefined) o.profile_assign_time = isoSeconds(f.profile_assign_time);
  if (f.profile_push_time !== undefined) o.profile_push_time = isoSeconds(f.profile_push_time);
  o.profile_status = f.profile_status;
  if (f.device_assigned_by !== undefined) o.device_assigned_by = f.device_assigned_by;
  if (f.device_assigned_date !== undefined) o.device_assigned_date = isoSeconds(f.device_assigned_date);
  if (variant >= 3 && f.mdm_migration_deadline !== undefined) o.mdm_migration_deadline = isoSeconds(f.mdm_migration_deadline);
  if (variant >= 4) {
    if (f.bluetooth_mac_address !== undefined) o.bluetooth_mac_address = f.bluetooth_mac_address;
    if (f.wifi_mac_address !== undefined) o.wifi_mac_address = f.wifi_mac_address;
    if (f.ethernet_mac_address !== undefined) o.ethernet_mac_address = f.ethernet_mac_address;
    if (f.eid !== undefined) o.eid = f.eid;
    if (f.imei !== undefined) o.imei = f.imei;
    if (f.meid !== undefined) o.meid = f.meid;
    o.is_replacement_device = f.is_replacement_device ?? false;
  }
  return JSON.stringify(o);
}
