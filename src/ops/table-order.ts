/**
 * Every table Pomona keeps, parents before the tables whose foreign keys point at them, so a
 * copy inserts them in this order and clears them in reverse. Backup, restore and migrate-db
 * enumerate the tables the database really holds and refuse one missing here: a new table
 * that nobody listed fails loudly instead of being left out of a backup.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { isPostgres } from '../db/dialect.js';

export const TABLE_ORDER = [
  'settings',
  'leases',
  'job_runs',
  'organization_groups',
  'group_settings',
  'certificate_authorities',
  'scep_challenges',
  'push_certificates',
  'admin_users',
  'admin_sessions',
  'api_tokens',
  'audit_events',
  'identity_providers',
  'users',
  'user_groups',
  'user_group_members',
  'user_group_mappings',
  'registration_tokens',
  'sign_in_flows',
  'sign_in_failures',
  'devices',
  'enrollments',
  'identity_certificates',
  'bootstrap_tokens',
  'commands',
  'command_queue',
  'abm_servers',
  'abm_devices',
  'dep_profiles',
  'dep_profile_definitions',
  'pending_enrollments',
  'user_enrollment_tokens',
  'configuration_profiles',
  'configuration_profile_attachments',
  'setup_plans',
  'setup_plan_steps',
  'enrollment_events',
  'managed_admin_accounts',
  'alerts',
  'alert_events',
  'alert_deliveries',
] as const;

export type TableName = (typeof TABLE_ORDER)[number];

// A table added to src/db/schema.ts but not above stops the build here. (Names listed before their
// table exists are fine: only the tables a database holds are copied.)
type Unlisted = Exclude<keyof Database, TableName>;
const everyTableListed: [Unlisted] extends [never] ? true : { unlisted: Unlisted } = true;
void everyTableListed;

/** Bookkeeping tables that are not Pomona's data (the migrator's, SQLite's own). */
const INTERNAL = new Set(['kysely_migration', 'kysely_migration_lock', 'sqlite_sequence']);

/** The data tables a database holds (after migrations), in copy order; throws naming any table not in TABLE_ORDER. */
export async function tablesIn(db: Kysely<any>): Promise<TableName[]> {
  const names = isPostgres(db)
    ? (await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(db)).rows
    : (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db)).rows;
  const present = new Set(names.map((r) => r.name).filter((n) => !INTERNAL.has(n)));
  return orderTables([...present]);
}

/** Puts table names in copy order; a name with no known place is an error, never skipped. */
export function orderTables(names: string[]): TableName[] {
  const unknown = names.filter((n) => !(TABLE_ORDER as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`table${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not in src/ops/table-order.ts: add ${unknown.length > 1 ? 'them' : 'it'} to TABLE_ORDER (after the tables it references)`);
  return TABLE_ORDER.filter((t) => names.includes(t));
}
