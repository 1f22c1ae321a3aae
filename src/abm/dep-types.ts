/**
 * Request and response bodies of Apple's DEP (Device Assignment) API, from the JSON Schemas in
 * micromdm/apple-device-services (../shared/apple-data/dep-schemas/). Field names are Apple's.
 *
 * Enumerations are open (`| (string & {})`): Apple adds values over time (new platforms, new
 * statuses) and an unknown one must not break a sync. Fields marked "vN" need
 * `X-Server-Protocol-Version` N or later.
 */

/** A value Apple may extend: the known ones autocomplete, others still type-check. */
export type Open<T extends string> = T | (string & {});

export type DeviceOs = Open<'iOS' | 'iPadOS' | 'OSX' | 'tvOS' | 'visionOS'>;
export type DeviceFamily = Open<'iPad' | 'iPhone' | 'iPod' | 'Mac' | 'AppleTV' | 'Vision'>;
export type ProfileStatus = Open<'empty' | 'assigned' | 'pushed' | 'removed'>;
export type DeviceOpType = Open<'added' | 'modified' | 'deleted'>;

/** Device.json. Dates are ISO 8601 strings as Apple sends them. */
export interface Device {
  serial_number: string;
  /** required by the schema; kept optional here because a record without it is still usable */
  model?: string;
  description?: string;
  color?: string;
  asset_tag?: string;
  profile_status?: ProfileStatus;
  profile_uuid?: string;
  profile_assign_time?: string;
  profile_push_time?: string;
  device_assigned_date?: string;
  device_assigned_by?: string;
  /** v2; macOS is `OSX` */
  os?: DeviceOs;
  /** v2 */
  device_family?: DeviceFamily;
  /** v8 */
  mdm_migration_deadline?: string;
  /** sync only */
  op_type?: DeviceOpType;
  /** sync only */
  op_date?: string;
  /** device details only (undocumented), e.g. `SUCCESS` */
  response_status?: string;
  /** v10 */
  bluetooth_mac_address?: string;
  wifi_mac_address?: string;
  ethernet_mac_address?: string;
  eid?: string;
  imei?: string[];
  meid?: string[];
  is_replacement_device?: boolean;
  /** v10, only on sync `deleted` records */
  released_by_replacement?: boolean;
}

/** FetchDeviceRequest.json (`POST /server/devices`): no cursor on the very first call. */
export interface FetchDeviceRequest {
  cursor?: string;
  limit?: number;
}

/** SyncDeviceRequest.json (`POST /devices/sync`). */
export interface SyncDeviceRequest {
  cursor: string;
  limit?: number;
}

/** FetchDeviceResponse.json: one page of fetch or sync. */
export interface FetchDeviceResponse {
  /** opaque; Apple says up to 1000 characters */
  cursor: string;
  /** ISO 8601; can be the zero time on sync */
  fetched_until?: string;
  /** false when Apple leaves it out */
  more_to_follow: boolean;
  /** [] when Apple leaves it out */
  devices: Device[];
}

/** Url.json / Limit.json: one entry of AccountDetail `urls` (v3). */
export interface AccountUrl {
  uri: string;
  http_method?: Open<'GET' | 'POST' | 'PUT' | 'DELETE'>[];
  limit?: { default?: number; maximum?: number };
}

/** AccountDetail.json (`GET /account`). */
export interface AccountDetail {
  server_name?: string;
  /** the `iss` of Managed Apple ID JWTs */
  server_uuid?: string;
  admin_id?: string;
  /** deprecated alias of admin_id */
  facilitator_id?: string;
  org_name?: string;
  org_email?: string;
  org_phone?: string;
  org_address?: string;
  /** v3 */
  org_id?: string;
  org_id_hash?: string;
  org_type?: Open<'edu' | 'org' | 'tvprovider'>;
  org_version?: Open<'v1' | 'v2'>;
  urls?: AccountUrl[];
}

/**
 * Profile.json: the body of `POST /profile`. `profile_name` and `url` are required by the
 * service, `is_mdm_removable` and `org_magic` by the schema. Leave optional strings out rather
 * than sending `""` (Apple answers `*_INVALID`).
 */
export interface Profile {
  profile_name: string;
  url: string;
  is_mdm_removable: boolean;
  org_magic: string;
  configuration_web_url?: string;
  is_supervised?: boolean;
  is_mandatory?: boolean;
  allow_pairing?: boolean;
  await_device_configured?: boolean;
  auto_advance_setup?: boolean;
  is_multi_user?: boolean;
  is_return_to_service?: boolean;
  do_not_use_profile_from_backup?: boolean;
  department?: string;
  support_phone_number?: string;
  support_email_address?: string;
  language?: string;
  region?: string;
  anchor_certs?: string[];
  supervising_host_certs?: string[];
  skip_setup_items?: string[];
  /** serials to assign at once (define and assign in one call) */
  devices?: string[];
}

/** `GET /profile?profile_uuid=`: the profile as Apple keeps it, plus its UUID. */
export type FetchedProfile = Partial<Omit<Profile, 'devices'>> & { profile_uuid?: string };

/** Per-device result of define, remove and disown. */
export type DeviceStatus = Open<'SUCCESS' | 'NOT_ACCESSIBLE' | 'FAILED'>;
/** Per-device result of assign; `THROTTLED` from v9. */
export type AssignStatus = Open<'SUCCESS' | 'NOT_ACCESSIBLE' | 'FAILED' | 'THROTTLED'>;

/** DefineProfileResponse.json. */
export interface DefineProfileResponse {
  profile_uuid: string;
  /** present when the profile was defined with `devices` */
  devices: Record<string, DeviceStatus>;
}

/** AssignProfileResponse.json. Apple answers 200 even when devices fail: read the map. */
export interface AssignProfileResponse {
  profile_uuid?: string;
  devices: Record<string, AssignStatus>;
  /** v10: only when some device is THROTTLED; wait at least this long before retrying those */
  retry_after_seconds?: number;
}

/** ClearProfileResponse.json (`DELETE /profile/devices`) and DeviceStatusResponse.json (disown). */
export interface DeviceStatusResponse {
  devices: Record<string, DeviceStatus>;
}
export type ClearProfileResponse = DeviceStatusResponse;
export type DisownResponse = DeviceStatusResponse;

/** DeviceListResponse.json (`POST /devices`): details keyed by serial. */
export interface DeviceListResponse {
  devices: Record<string, Device>;
}

/** ActivationLockRequest.json, in Pomona's camelCase (the client maps it to Apple's keys). */
export interface ActivationLockRequest {
  /** serial number */
  device: string;
  /** 64 lower-case hex: PBKDF2 of the bypass code (not the dashed code itself) */
  escrowKey?: string;
  lostMessage?: string;
}

export type ActivationLockStatus = Open<
  'SUCCESS' | 'NOT_ACCESSIBLE' | 'ORG_NOT_SUPPORTED' | 'DEVICE_NOT_SUPPORTED' | 'DEVICE_ALREADY_LOCKED' | 'FAILED'
>;

/** ActivationLockStatusResponse.json. */
export interface ActivationLockStatusResponse {
  serial_number: string;
  response_status: ActivationLockStatus;
}

/** `GET /device/replacementDetails?device=` (v10). */
export interface ReplacementDetailsResponse {
  serial_number: string;
  original_device_serial_number: string;
  /** `YYYY-MM-DD`, UTC */
  replacement_date: string;
}

/** `GET /session`. */
export interface SessionResponse {
  auth_session_token: string;
}
