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
  /** the organization group the device belongs to ('global' until placed) */
  organization_group_id: Generated<string>;
  /** corporate-dedicated | corporate-shared | employee-owned; null until known */
  ownership: string | null;
  /** how it enrolled (a staging record's mode: web, user-profile, …); null when not known */
  enrollment_method: string | null;
  /** the user the enrollment was made for */
  enrolled_user_id: string | null;
  /** the registration token used to enroll, if any (its status shows on the device) */
  registration_token_id: string | null;
  /** 1: enrolled by user enrollment (BYOD), known by its EnrollmentID only, no hardware identifiers */
  user_enrolled: Generated<number>;
  /** the MDM side of the lifecycle: enrolling | enrolled | unenrolled | removed (src/mdm/device-lifecycle.ts) */
  lifecycle_state: Generated<string>;
  lifecycle_changed_at: Generated<number | null>;
  /** iOS | iPadOS | macOS | tvOS | watchOS | visionOS, from the product name; null when not known */
  platform: Generated<string | null>;
  /** 1 once an admin chose the ownership: automatic rules (Shared iPad) leave it alone */
  ownership_by_admin: Generated<number>;
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
  /** the organization group whose subtree the admin acts in ('global' = everything) */
  scope_group_id: Generated<string>;
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
  role: string; // administrator | operator | read-only | custom-enrollment
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** the organization group whose subtree the token acts in ('global' = everything) */
  scope_group_id: Generated<string>;
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
  /** the path of the actor's scope group when the event happened; null = global (or not an admin) */
  actor_scope: Generated<string | null>;
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

/** One run of a periodic job for one due time (src/jobs/job-run-store.ts). */
export interface JobRunTable {
  job: string;
  due_at: number;
  holder: string;
  attempts: number;
  started_at: number;
  finished_at: number | null;
  outcome: 'ok' | 'failed' | null;
}

/** One virtual MDM server in Apple Business/School Manager, with its key pairs and server token. */
export interface AbmServerTable {
  id: string;
  name: string;
  organization_group_id: string | null;
  base_url: string | null; // null = Apple's mdmenrollment.apple.com
  sync_interval_minutes: number;
  /** the key pair whose public key is uploaded to Apple (key sealed) */
  cert_pem: string;
  key_enc: Buffer;
  /** a new pair waiting for the token encrypted to it; the current pair keeps working until then */
  staged_cert_pem: string | null;
  staged_key_enc: Buffer | null;
  consumer_key: string | null;
  /** the OAuth 1.0a token set, sealed JSON */
  tokens_enc: Buffer | null;
  token_expires_at: number | null;
  token_uploaded_at: number | null;
  /** the DEP X-ADM-Auth-Session, shared by every node (sealed) */
  session_enc: Buffer | null;
  account_json: string | null;
  apple_server_uuid: string | null;
  apple_server_name: string | null;
  org_name: string | null;
  admin_id: string | null;
  page_limit: number | null;
  last_success_at: number | null;
  last_error_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  cursor: string | null;
  cursor_at: number | null;
  /** 1 once a full fetch has drained, so the next run syncs */
  fetch_complete: number;
  full_fetch_started_at: number | null;
  /** set while a sync runs (progress below); the lease says which node runs it */
  sync_started_at: number | null;
  sync_kind: string | null;
  sync_pages: number;
  sync_devices: number;
  last_sync_at: number | null;
  last_sync_json: string | null;
  last_sync_error: string | null;
  /** 'sync' | 'full' when an admin asked for a run */
  sync_requested: string | null;
  /** when it was asked for: a run clears only the requests made before it started */
  sync_requested_at: number | null;
  next_sync_at: number | null;
  created_at: number;
  updated_at: number;
}

/** A device Apple assigned to one of our ABM servers: Apple's record plus Pomona's assignment state. */
export interface AbmDeviceTable {
  serial_number: string;
  abm_server_id: string;
  model: string | null;
  description: string | null;
  color: string | null;
  asset_tag: string | null;
  os: string | null;
  device_family: string | null;
  profile_status: string | null; // empty | assigned | pushed | removed
  profile_uuid: string | null;
  profile_assign_time: number | null;
  profile_push_time: number | null;
  device_assigned_date: number | null;
  device_assigned_by: string | null;
  op_type: string | null;
  op_date: number | null;
  /** every field of Apple's latest record, as JSON */
  apple_json: string;
  first_seen_at: number;
  last_seen_at: number;
  removed_at: number | null;
  /** the Pomona profile this device should have; null = its server's default */
  profile_id: string | null;
  /** auto: keep the device on its profile; none: an admin removed the profile, leave it alone */
  assign_mode: 'auto' | 'none';
  assign_started_at: number | null;
  assign_result: string | null; // SUCCESS | NOT_ACCESSIBLE | FAILED | THROTTLED | an error code
  assign_error: string | null;
  assign_attempted_at: number | null;
  /** cool-down: not re-sent before this time */
  assign_retry_at: number | null;
  updated_at: number;
  /** the device row of this serial once Pomona has one (null: known only from ABM) */
  device_id: Generated<string | null>;
}

/** Pomona's enrollment profile; each saved change Apple sees defines a new Apple profile. */
export interface DepProfileTable {
  id: string;
  abm_server_id: string;
  name: string;
  is_default: number;
  settings_json: string;
  version: number;
  revision: Generated<number>;
  apple_profile_uuid: string | null;
  /** the version apple_profile_uuid was defined from; behind `version` until the next define */
  apple_version: number | null;
  apple_defined_at: number | null;
  define_error: string | null;
  /** the last failed definition; the assigner waits before trying again */
  define_failed_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Every Apple profile Pomona defined (history; also maps an Apple UUID back to its profile). */
export interface DepProfileDefinitionTable {
  apple_profile_uuid: string;
  profile_id: string;
  abm_server_id: string;
  version: number;
  body_json: string;
  defined_at: number;
}

/** A node of the organization tree; `path` is '/root/…/id/' so a subtree is one prefix match. */
export interface OrganizationGroupTable {
  id: string;
  parent_id: string | null;
  name: string;
  /** the short Group ID users type (upper-case) */
  group_code: string;
  path: string;
  depth: number;
  created_at: number;
  updated_at: number;
}

/** A setting set at a group; its subtree inherits it unless a lower group sets it too. */
export interface GroupSettingTable {
  group_id: string;
  key: string;
  value_json: string;
  updated_at: number;
  updated_by: string | null;
}

export interface IdentityProviderTable {
  id: string;
  organization_group_id: string;
  kind: 'local' | 'ldap' | 'saml' | 'oidc';
  name: string;
  /** the provider's settings without secrets */
  config_json: string;
  /** bind passwords, client secrets, SP keys: sealed JSON */
  secrets_enc: Buffer | null;
  enabled: number;
  /** 1: admins may sign in to the console through this provider */
  console_sign_in: Generated<number>;
  created_at: number;
  updated_at: number;
}

/** A person who enrolls devices: local (password, optional PIN) or met through a provider. */
export interface UserTable {
  id: string;
  /** 'local' or the identity provider's id */
  source: string;
  username: string;
  external_id: string | null;
  email: string | null;
  display_name: string | null;
  password_hash: string | null;
  pin_hash: string | null;
  default_group_id: string;
  /** the Managed Apple Account user enrollment assigns (AssignedManagedAppleID); null: derived or none */
  managed_apple_id: Generated<string | null>;
  failed_sign_ins: number;
  locked_until: number | null;
  disabled_at: number | null;
  last_sign_in_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface UserGroupTable {
  id: string;
  source: string;
  name: string;
  created_at: number;
}

export interface UserGroupMemberTable {
  user_group_id: string;
  user_id: string;
}

export interface UserGroupMappingTable {
  user_group_id: string;
  organization_group_id: string;
  rank: number;
  created_at: number;
}

export interface RegistrationTokenTable {
  id: string;
  token_hash: string;
  prefix: string;
  organization_group_id: string;
  user_id: string | null;
  platform: string | null;
  max_uses: number | null;
  uses: number;
  two_factor: number;
  expires_at: number;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** An SSO sign-in between the redirect to the IdP and its answer; consumed once. */
export interface SignInFlowTable {
  id: string;
  provider_id: string;
  data_json: string;
  expires_at: number;
  consumed_at: number | null;
}

export interface SignInFailureTable {
  key: string;
  at: number;
}

/** An enrollment attempt, from the first page to the device's first check-in (see 0007). */
export interface PendingEnrollmentTable {
  id: string;
  mode: string;
  state: string;
  organization_group_id: string | null;
  user_id: string | null;
  registration_token_id: string | null;
  ownership: string | null;
  platform: string | null;
  required_platform: string | null;
  terms_version_required: number | null;
  terms_version: number | null;
  terms_accepted_at: number | null;
  managed_apple_id: string | null;
  context_json: string | null;
  browser_key_hash: string;
  checkin_key_hash: string | null;
  enrollment_id: string | null;
  device_id: string | null;
  source_address: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  profile_issued_at: number | null;
  completed_at: number | null;
  /** the device an ADE attempt is for (0011) */
  serial_number: string | null;
  authenticated_at: number | null;
  /** how the user signed in: password, ldap, token, saml, oidc (0011) */
  sign_in_method: string | null;
}

/** An ADE request Pomona refused or answered with "update first", for the device's timeline (0011). */
export interface EnrollmentEventTable {
  id: string;
  serial_number: string;
  at: number;
  step: string;
  outcome: string;
  detail: string;
}

/** An account-driven user enrollment's access token (only its hash), single-use, for one staging record. */
export interface UserEnrollmentTokenTable {
  token_hash: string;
  pending_enrollment_id: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** A .mobileconfig in the configuration-profile library, kept as uploaded (see 0010). */
export interface ConfigurationProfileTable {
  id: string;
  name: string;
  payload_identifier: string;
  payload_uuid: string;
  display_name: string | null;
  organization: string | null;
  payload_types_json: string;
  signed: number;
  payload: Buffer;
  size: number;
  sha256: string;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

/** A library profile attached to a DEP profile or an organization group (inherited by its subtree). */
export interface ConfigurationProfileAttachmentTable {
  profile_id: string;
  target_kind: 'dep-profile' | 'organization-group';
  target_id: string;
  created_by: string | null;
  created_at: number;
}

/** What Pomona does while an ADE device awaits configuration, once per enrollment session. */
export interface SetupPlanTable {
  id: string;
  enrollment_id: string;
  device_id: string;
  session_at: number;
  dep_profile_id: string | null;
  platform: string | null;
  organization_group_id: string;
  primary_account_json: string | null;
  time_limit_minutes: number;
  status: 'running' | 'released' | 'cancelled';
  reason: string | null;
  ended_by: string | null;
  started_at: number;
  deadline_at: number;
  ended_at: number | null;
}

export interface SetupPlanStepTable {
  plan_id: string;
  position: number;
  kind: 'install-profile' | 'account-configuration' | 'settings' | 'device-configured';
  label: string;
  configuration_profile_id: string | null;
  request_type: string;
  command_uuid: string | null;
  status: 'pending' | 'queued' | 'acknowledged' | 'error' | 'timed-out';
  device_status: string | null;
  error_json: string | null;
  queued_at: number | null;
  answered_at: number | null;
}

/** The managed macOS administrator AccountConfiguration created; its password sealed. */
export interface ManagedAdminAccountTable {
  device_id: string;
  enrollment_id: string;
  short_name: string;
  full_name: string;
  hidden: number;
  guid: string | null;
  password_enc: Buffer | null;
  password_set_at: number | null;
  pending_password_enc: Buffer | null;
  pending_command_uuid: string | null;
  pending_request_type: string | null;
  pending_reason: string | null;
  pending_since: number | null;
  last_error: string | null;
  last_error_at: number | null;
  password_length: number;
  rotate_after_view_minutes: number;
  last_viewed_at: number | null;
  rotate_at: number | null;
  created_at: number;
  updated_at: number;
}

/** The current state of one alert (kind + subject); `ok` once resolved. */
export interface AlertTable {
  key: string;
  kind: string;
  subject: string;
  /** the organization group whose recipients hear of it; null: global */
  group_id: string | null;
  state: string;
  severity: string;
  summary: string;
  /** when the current open state began (null while ok) */
  raised_at: number | null;
  updated_at: number;
}

/** History: each alert raised (per state change) or resolved. */
export interface AlertEventTable {
  id: string;
  alert_key: string;
  kind: string;
  subject: string;
  group_id: string | null;
  event: 'raised' | 'resolved';
  state: string;
  previous_state: string;
  severity: string;
  summary: string;
  at: number;
}

/** One delivery owed for an alert event (e-mail, webhook), retried until done or given up. */
export interface AlertDeliveryTable {
  id: string;
  event_id: string;
  channel: 'email' | 'webhook';
  recipients_json: string;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
  created_at: number;
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
  job_runs: JobRunTable;
  abm_servers: AbmServerTable;
  abm_devices: AbmDeviceTable;
  dep_profiles: DepProfileTable;
  dep_profile_definitions: DepProfileDefinitionTable;
  organization_groups: OrganizationGroupTable;
  group_settings: GroupSettingTable;
  identity_providers: IdentityProviderTable;
  users: UserTable;
  user_groups: UserGroupTable;
  user_group_members: UserGroupMemberTable;
  user_group_mappings: UserGroupMappingTable;
  registration_tokens: RegistrationTokenTable;
  sign_in_flows: SignInFlowTable;
  sign_in_failures: SignInFailureTable;
  pending_enrollments: PendingEnrollmentTable;
  user_enrollment_tokens: UserEnrollmentTokenTable;
  configuration_profiles: ConfigurationProfileTable;
  configuration_profile_attachments: ConfigurationProfileAttachmentTable;
  setup_plans: SetupPlanTable;
  enrollment_events: EnrollmentEventTable;
  setup_plan_steps: SetupPlanStepTable;
  managed_admin_accounts: ManagedAdminAccountTable;
  alerts: AlertTable;
  alert_events: AlertEventTable;
  alert_deliveries: AlertDeliveryTable;
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
