/**
 * Table types for Kysely. Timestamps are epoch milliseconds (integer on SQLite,
 * bigint on PostgreSQL — parsed back to number, see database.ts); booleans are
 * stored as 0/1 integers so both dialects read them the same way. Columns named
 * `*_enc` hold secrets sealed by SecretBox (see pki/secret-box.ts).
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface DeviceTable {
  id: string; // Pomona's own id (uuid)
  udid: string | null; // unique when set
  serial_number: string | null;
  model: string | null;
  model_name: string | null;
  product_name: string | null;
  device_name: string | null;
  os_version: string | null;
  build_version: string | null;
  imei: string | null;
  meid: string | null;
  /** latest DeviceInformation QueryResponses, as JSON */
  info_json: string | null;
  created_at: number;
  updated_at: number;
  last_seen_at: number | null;
}

/**
 * One row per MDM channel. `id` is the enrollment ID Apple's protocol implies:
 * UDID (device channel), UDID:UserID (macOS user channel), EnrollmentID or
 * EnrollmentID:EnrollmentUserID (user enrollment).
 */
export interface EnrollmentTable {
  id: string;
  device_id: string;
  parent_id: string | null; // device-channel enrollment id for user channels
  channel: 'device' | 'user';
  type: string; // Device | User | User Enrollment (Device) | User Enrollment | Shared iPad
  is_ade: number;
  user_id: string | null;
  user_short_name: string | null;
  user_long_name: string | null;
  topic: string | null;
  push_magic: string | null;
  token_hex: string | null;
  token_invalid_at: number | null; // APNs said Unregistered / BadDeviceToken
  unlock_token_enc: Buffer | null;
  awaiting_configuration: number;
  /** pending until TokenUpdate, active, inactive (re-enrolling), removed (CheckOut / admin) */
  status: 'pending' | 'active' | 'removed';
  token_update_count: number;
  authenticate_plist: string | null;
  token_update_plist: string | null;
  last_push_at: number | null;
  last_push_result: string | null;
  created_at: number;
  updated_at: number;
  last_seen_at: number | null;
  checked_out_at: number | null;
}

/** Identity certificates, bound to a device-channel enrollment by the SHA-256 of their DER. */
export interface IdentityCertificateTable {
  sha256: string; // lower-case hex
  enrollment_id: string | null; // null until the Authenticate that binds it
  serial: string; // hex
  subject: string;
  issued_by_pomona: number;
  not_before: number;
  not_after: number;
  der: Buffer;
  created_at: number;
  bound_at: number | null;
}

export interface BootstrapTokenTable {
  enrollment_id: string; // device-channel enrollment
  token_enc: Buffer;
  created_at: number;
  updated_at: number;
}

export interface CommandTable {
  uuid: string;
  request_type: string;
  plist: string; // the full command envelope as XML plist
  created_at: number;
  created_by: string | null;
}

/** The queue and, in the same row, the latest result for one enrollment and one command. */
export interface CommandQueueTable {
  enrollment_id: string;
  command_uuid: string;
  /** Pending (never answered), Acknowledged, Error, CommandFormatError, NotNow */
  status: string;
  active: number; // 0 once cleared by a re-enrollment (history is kept)
  priority: number;
  not_now_count: number;
  not_now_at: number | null;
  result_plist: string | null;
  result_json: string | null;
  queued_at: number;
  sent_at: number | null;
  answered_at: number | null;
}

export interface PushCertificateTable {
  topic: string;
  cert_pem: string;
  key_enc: Buffer;
  subject: string;
  not_before: number;
  not_after: number;
  created_at: number;
  updated_at: number;
}

export interface CertificateAuthorityTable {
  id: string; // 'scep'
  cert_pem: string;
  key_enc: Buffer;
  not_after: number;
  created_at: number;
}

export interface ScepChallengeTable {
  hash: string; // sha256 hex of the challenge; the challenge itself is never stored
  purpose: string; // e.g. 'enrollment-profile'
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface AdminUserTable {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  created_at: number;
  disabled_at: number | null;
}

export interface AdminSessionTable {
  id_hash: string;
  user_id: string;
  expires_at: number;
  created_at: number;
}

export interface ApiTokenTable {
  id: string;
  name: string;
  token_hash: string;
  prefix: string;
  role: string; // administrator | operator | read-only | enrollment
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AuditEventTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
  outcome: string;
  details_json: string | null;
}

export interface SettingTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface LeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface Database {
  devices: DeviceTable;
  enrollments: EnrollmentTable;
  identity_certificates: IdentityCertificateTable;
  bootstrap_tokens: BootstrapTokenTable;
  commands: CommandTable;
  command_queue: CommandQueueTable;
  push_certificates: PushCertificateTable;
  certificate_authorities: CertificateAuthorityTable;
  scep_challenges: ScepChallengeTable;
  admin_users: AdminUserTable;
  admin_sessions: AdminSessionTable;
  api_tokens: ApiTokenTable;
  audit_events: AuditEventTable;
  settings: SettingTable;
  leases: LeaseTable;
}

export type Device = Selectable<DeviceTable>;
export type NewDevice = Insertable<DeviceTable>;
export type Enrollment = Selectable<EnrollmentTable>;
export type NewEnrollment = Insertable<EnrollmentTable>;
export type EnrollmentUpdate = Updateable<EnrollmentTable>;
export type CommandQueueRow = Selectable<CommandQueueTable>;
export type IdentityCertificate = Selectable<IdentityCertificateTable>;
export type PushCertificate = Selectable<PushCertificateTable>;
export type ApiToken = Selectable<ApiTokenTable>;
export type AdminUser = Selectable<AdminUserTable>;
export type AuditEvent = Selectable<AuditEventTable>;
