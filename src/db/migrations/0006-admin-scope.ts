import { sql, type Kysely } from 'kysely';

/**
 * Admin scopes: every admin user and API token acts within one organization group's subtree
 * ('global' = everything, which is what existing ones keep). The old "enrollment" token role
 * becomes "custom-enrollment" (it may call only the external custom-enrollment profile endpoint).
 * Identity providers say whether admins may sign in to the console through them, and each audit
 * event keeps the scope its actor had when it happened, so a scoped admin's audit log shows the
 * events of actors inside their subtree — even after those actors are moved elsewhere.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('admin_users').addColumn('scope_group_id', 'text', (c) => c.notNull().defaultTo('global')).execute();
  await db.schema.alterTable('api_tokens').addColumn('scope_group_id', 'text', (c) => c.notNull().defaultTo('global')).execute();
  await db.schema.alterTable('identity_providers').addColumn('console_sign_in', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  /** the organization-group path of the actor's scope when the event was recorded; null = global */
  await db.schema.alterTable('audit_events').addColumn('actor_scope', 'text').execute();
  await db.schema.createIndex('audit_events_actor_scope').on('audit_events').columns(['actor_scope', 'id']).execute();
  await sql`UPDATE api_tokens SET role = 'custom-enrollment' WHERE role = 'enrollment'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`UPDATE api_tokens SET role = 'enrollment' WHERE role = 'custom-enrollment'`.execute(db);
  await db.schema.dropIndex('audit_events_actor_scope').ifExists().execute();
  await db.schema.alterTable('audit_events').dropColumn('actor_scope').execute();
  await db.schema.alterTable('identity_providers').dropColumn('console_sign_in').execute();
  await db.schema.alterTable('api_tokens').dropColumn('scope_group_id').execute();
  await db.schema.alterTable('admin_users').dropColumn('scope_group_id').execute();
}
