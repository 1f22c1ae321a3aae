import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Devices in the organization: each device row carries its lifecycle state on the MDM side
 * (enrolling, enrolled, unenrolled, removed) and when it last changed, its platform (so the
 * list filters on a column), and whether an admin chose its ownership (automatic rules then
 * leave it alone). Devices known only from ABM are not copied here: the device list and the
 * lifecycle summary read them from abm_devices (see src/mdm/inventory-store.ts).
 *
 * The SQL below is frozen with the migration on purpose (not imported from src/): it must
 * backfill the same way whatever the code becomes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = isPostgres(db);
  const ms = pg ? 'bigint' : 'integer';

  await db.schema.alterTable('devices').addColumn('lifecycle_state', 'text', (c) => c.notNull().defaultTo('enrolling')).execute();
  await db.schema.alterTable('devices').addColumn('lifecycle_changed_at', ms).execute();
  await db.schema.alterTable('devices').addColumn('platform', 'text').execute();
  await db.schema.alterTable('devices').addColumn('ownership_by_admin', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  // The state follows the device channel's enrollment; a token APNs called Unregistered means
  // the MDM profile is gone (the rule the push path applies from now on).
  const channel = `FROM enrollments e WHERE e.device_id = devices.id AND e.parent_id IS NULL ORDER BY e.updated_at DESC LIMIT 1`;
  await sql`UPDATE devices SET
      lifecycle_state = COALESCE((SELECT CASE
          WHEN e.status = 'pending' THEN 'enrolling'
          WHEN e.status = 'active' AND e.token_invalid_at IS NOT NULL AND e.last_push_result = 'invalid-token: Unregistered' THEN 'unenrolled'
          WHEN e.status = 'active' THEN 'enrolled'
          ELSE 'unenrolled' END ${sql.raw(channel)}), lifecycle_state),
      lifecycle_changed_at = COALESCE((SELECT COALESCE(e.checked_out_at, e.updated_at) ${sql.raw(channel)}), updated_at)`.execute(db);

  await sql`UPDATE devices SET platform = CASE
      WHEN product_name LIKE 'iPhone%' OR product_name LIKE 'iPod%' THEN 'iOS'
      WHEN product_name LIKE 'iPad%' THEN 'iPadOS'
      WHEN product_name LIKE 'AppleTV%' THEN 'tvOS'
      WHEN product_name LIKE 'Watch%' THEN 'watchOS'
      WHEN product_name LIKE 'RealityDevice%' THEN 'visionOS'
      WHEN product_name LIKE '%Mac%' THEN 'macOS'
      ELSE NULL END`.execute(db);

  // One ownership vocabulary (src/org/group-settings.ts OWNERSHIP). Nothing in Pomona wrote
  // another spelling, but rows imported by hand might carry one: map the usual ones, drop the rest.
  await sql`UPDATE devices SET ownership = CASE lower(replace(replace(trim(ownership), '_', '-'), ' ', '-'))
      WHEN 'corporate-dedicated' THEN 'corporate-dedicated' WHEN 'corporate' THEN 'corporate-dedicated' WHEN 'company' THEN 'corporate-dedicated'
      WHEN 'corporate-shared' THEN 'corporate-shared' WHEN 'shared' THEN 'corporate-shared'
      WHEN 'employee-owned' THEN 'employee-owned' WHEN 'employee' THEN 'employee-owned' WHEN 'personal' THEN 'employee-owned' WHEN 'byod' THEN 'employee-owned'
      ELSE NULL END
    WHERE ownership IS NOT NULL`.execute(db);

  // The device row an ABM record belongs to (the latest device with its serial), set by
  // Authenticate and by the sync, so "known only from ABM" is `device_id IS NULL` instead of
  // a search of the devices for each of 100,000 records. It joins the server's index, which
  // a sync still appends to in order (new records arrive without a device).
  await db.schema.alterTable('abm_devices').addColumn('device_id', 'text').execute();
  await sql`UPDATE abm_devices SET device_id = (SELECT d.id FROM devices d WHERE d.serial_number = abm_devices.serial_number ORDER BY d.created_at DESC LIMIT 1)`.execute(db);
  await db.schema.dropIndex('abm_devices_server').execute();
  await db.schema.createIndex('abm_devices_server_device').on('abm_devices').columns(['abm_server_id', 'device_id']).execute();

  // The device list pages in (serial number, id) order (src/mdm/inventory-store.ts); this index
  // streams it and still finds a serial, so it replaces the serial-only one.
  await db.schema.dropIndex('devices_serial').execute();
  await db.schema.createIndex('devices_serial_id').on('devices').columns(['serial_number', 'id']).execute();
  // Counting per group and state (the lifecycle summary) reads this index only.
  await db.schema.createIndex('devices_group_state').on('devices').columns(['organization_group_id', 'lifecycle_state']).execute();
  await db.schema.createIndex('devices_state').on('devices').columns(['lifecycle_state', 'ownership']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('devices_state').ifExists().execute();
  await db.schema.dropIndex('devices_group_state').ifExists().execute();
  await db.schema.dropIndex('devices_serial_id').ifExists().execute();
  await db.schema.createIndex('devices_serial').on('devices').column('serial_number').execute();
  await db.schema.dropIndex('abm_devices_server_device').ifExists().execute();
  await db.schema.createIndex('abm_devices_server').on('abm_devices').column('abm_server_id').execute();
  await db.schema.alterTable('abm_devices').dropColumn('device_id').execute();
  for (const c of ['ownership_by_admin', 'platform', 'lifecycle_changed_at', 'lifecycle_state']) await db.schema.alterTable('devices').dropColumn(c).execute();
}
