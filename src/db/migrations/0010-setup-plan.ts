import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Await configuration: the configuration-profile library and where profiles are attached (DEP
 * profiles, organization groups), the setup plan each ADE enrollment runs while Setup Assistant
 * waits (its steps and their outcomes), and the managed macOS administrator account Pomona
 * creates, with its password sealed (SecretBox).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = isPostgres(db);
  const blob = pg ? 'bytea' : 'blob';
  const ms = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('configuration_profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    // One upload per PayloadIdentifier: a device replaces a profile by its identifier, so two
    // library entries sharing one would silently overwrite each other on devices.
    .addColumn('payload_identifier', 'text', (c) => c.notNull().unique())
    .addColumn('payload_uuid', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text')
    .addColumn('organization', 'text')
    .addColumn('payload_types_json', 'text', (c) => c.notNull())
    .addColumn('signed', 'integer', (c) => c.notNull())
    /** the file as uploaded (a signed profile keeps its signature) */
    .addColumn('payload', blob, (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('configuration_profile_attachments')
    .addColumn('profile_id', 'text', (c) => c.notNull().references('configuration_profiles.id').onDelete('cascade'))
    .addColumn('target_kind', 'text', (c) => c.notNull()) // dep-profile | organization-group
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('configuration_profile_attachments_pk', ['profile_id', 'target_kind', 'target_id'])
    .execute();
  await db.schema.createIndex('configuration_profile_attachments_target').on('configuration_profile_attachments').columns(['target_kind', 'target_id']).execute();

  await db.schema
    .createTable('setup_plans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('enrollment_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    /** when the enrollment last authenticated: one plan per enrollment session */
    .addColumn('session_at', ms, (c) => c.notNull())
    .addColumn('dep_profile_id', 'text')
    .addColumn('platform', 'text')
    .addColumn('organization_group_id', 'text', (c) => c.notNull())
    .addColumn('primary_account_json', 'text')
    .addColumn('time_limit_minutes', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // running | released | cancelled
    .addColumn('reason', 'text') // completed | time-limit | manual | re-enrolled | checked-out
    .addColumn('ended_by', 'text')
    .addColumn('started_at', ms, (c) => c.notNull())
    .addColumn('deadline_at', ms, (c) => c.notNull())
    .addColumn('ended_at', ms)
    .execute();
  // Two TokenUpdates of one session (or two nodes handling them) cannot both start a plan.
  await db.schema.createIndex('setup_plans_session').on('setup_plans').columns(['enrollment_id', 'session_at']).unique().execute();
  await db.schema.createIndex('setup_plans_status_deadline').on('setup_plans').columns(['status', 'deadline_at']).execute();
  await db.schema.createIndex('setup_plans_device').on('setup_plans').columns(['device_id', 'started_at']).execute();

  await db.schema
    .createTable('setup_plan_steps')
    .addColumn('plan_id', 'text', (c) => c.notNull().references('setup_plans.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull()) // install-profile | account-configuration | settings | device-configured
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('configuration_profile_id', 'text')
    .addColumn('request_type', 'text', (c) => c.notNull())
    .addColumn('command_uuid', 'text')
    .addColumn('status', 'text', (c) => c.notNull()) // pending | queued | acknowledged | error | timed-out
    .addColumn('device_status', 'text') // Apple's Status, whenever it came
    .addColumn('error_json', 'text')
    .addColumn('queued_at', ms)
    .addColumn('answered_at', ms)
    .addPrimaryKeyConstraint('setup_plan_steps_pk', ['plan_id', 'position'])
    .execute();
  await db.schema.createIndex('setup_plan_steps_command').on('setup_plan_steps').column('command_uuid').execute();
  // The periodic job looks for pending steps, which exist only while plans are in flight.
  await db.schema.createIndex('setup_plan_steps_status').on('setup_plan_steps').column('status').execute();

  await db.schema
    .createTable('managed_admin_accounts')
    .addColumn('device_id', 'text', (c) => c.primaryKey())
    .addColumn('enrollment_id', 'text', (c) => c.notNull())
    .addColumn('short_name', 'text', (c) => c.notNull())
    .addColumn('full_name', 'text', (c) => c.notNull())
    .addColumn('hidden', 'integer', (c) => c.notNull())
    /** the account's GUID, as the Mac reports it (DeviceInformation AutoSetupAdminAccounts) */
    .addColumn('guid', 'text')
    .addColumn('password_enc', blob)
    .addColumn('password_set_at', ms)
    /** a password sent to the Mac and not yet acknowledged; the current one stays until then */
    .addColumn('pending_password_enc', blob)
    .addColumn('pending_command_uuid', 'text')
    .addColumn('pending_request_type', 'text')
    .addColumn('pending_reason', 'text')
    .addColumn('pending_since', ms)
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', ms)
    .addColumn('password_length', 'integer', (c) => c.notNull())
    .addColumn('rotate_after_view_minutes', 'integer', (c) => c.notNull())
    .addColumn('last_viewed_at', ms)
    .addColumn('rotate_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('managed_admin_accounts_pending').on('managed_admin_accounts').column('pending_command_uuid').execute();
  await db.schema.createIndex('managed_admin_accounts_rotate').on('managed_admin_accounts').column('rotate_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['managed_admin_accounts', 'setup_plan_steps', 'setup_plans', 'configuration_profile_attachments', 'configuration_profiles']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
