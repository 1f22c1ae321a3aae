/**
 * Database triggers that refuse a write naming an organization group that does not exist, so a
 * group deleted on one node while another node puts something in it cannot leave a reference to
 * nothing behind (OrgGroupService.delete counts what a group holds, then deletes it; without
 * these the two could interleave). Foreign keys cannot say it: tokens keep their group after it
 * is gone once they are revoked, attachments name a group or something else, and DEP profiles name
 * it inside their settings JSON. So each check is a trigger on inserts and on updates that change
 * the reference; rows written earlier are never checked again.
 *
 * On PostgreSQL the check takes the group row `FOR KEY SHARE`, as a foreign key would: a delete,
 * which takes the row `FOR UPDATE` before counting (OrgGroupStore.deleteUnlessUsed), then waits for the
 * writer to commit and counts what it wrote; a writer that comes second waits for the delete and
 * finds no group. SQLite runs one write at a time, so the check alone suffices there.
 *
 * The failure is a foreign-key violation (PostgreSQL 23503; SQLite's trigger constraint), which
 * the API answers 409. A snapshot load (src/ops/snapshot.ts) drops the triggers while it copies
 * rows, which hold such history, and makes them again before it commits.
 */
import { sql, type Kysely } from 'kysely';
import { isPostgres } from './dialect.js';

interface GroupReference {
  table: string;
  /** the column the group id is in (for dep_profiles: the JSON column it is inside of) */
  column: string;
  /** SQLite: the expression giving the group id from NEW (default NEW.<column>) */
  sqliteGroupOf?: string;
  /** PostgreSQL: the path to the id inside the column's JSON */
  jsonPath?: string;
  /** only rows for which this holds (in both dialects) name a group */
  when?: string;
}

export const GROUP_REFERENCES: readonly GroupReference[] = [
  { table: 'organization_groups', column: 'parent_id' },
  { table: 'devices', column: 'organization_group_id' },
  { table: 'abm_servers', column: 'organization_group_id' },
  { table: 'admin_users', column: 'scope_group_id' },
  { table: 'api_tokens', column: 'scope_group_id' },
  { table: 'users', column: 'default_group_id' },
  { table: 'user_group_mappings', column: 'organization_group_id' },
  { table: 'registration_tokens', column: 'organization_group_id' },
  { table: 'identity_providers', column: 'organization_group_id' },
  { table: 'configuration_profile_attachments', column: 'target_id', when: "NEW.target_kind = 'organization-group'" },
  { table: 'dep_profiles', column: 'settings_json', sqliteGroupOf: "json_extract(NEW.settings_json, '$.pomona.organizationGroupId')", jsonPath: '{pomona,organizationGroupId}' },
];

const FUNCTION = 'pomona_group_must_exist';
const triggerName = (r: GroupReference, on: 'insert' | 'update') => `${r.table}_group_${on}`;

export async function createGroupReferenceChecks(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    // One function for every table: the id is read from the row as JSON (TG_ARGV: column, path).
    await sql.raw(`
      CREATE OR REPLACE FUNCTION ${FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE gid text := to_jsonb(NEW) ->> TG_ARGV[0];
      BEGIN
        IF TG_NARGS > 1 AND gid IS NOT NULL THEN gid := gid::jsonb #>> TG_ARGV[1]::text[]; END IF;
        IF gid IS NOT NULL THEN
          PERFORM 1 FROM organization_groups WHERE id = gid FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'organization group "%" does not exist', gid USING ERRCODE = 'foreign_key_violation';
          END IF;
        END IF;
        RETURN NEW;
      END $$`).execute(db);
    for (const r of GROUP_REFERENCES) {
      const args = [r.column, r.jsonPath].filter(Boolean).map((a) => `'${a}'`).join(', ');
      const when = r.when ? `(${r.when})` : 'true';
      await sql.raw(`CREATE TRIGGER ${triggerName(r, 'insert')} BEFORE INSERT ON ${r.table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${FUNCTION}(${args})`).execute(db);
      await sql.raw(`CREATE TRIGGER ${triggerName(r, 'update')} BEFORE UPDATE OF ${r.column} ON ${r.table} FOR EACH ROW
        WHEN (${when} AND NEW.${r.column} IS DISTINCT FROM OLD.${r.column}) EXECUTE FUNCTION ${FUNCTION}(${args})`).execute(db);
    }
    return;
  }
  for (const r of GROUP_REFERENCES) {
    const group = r.sqliteGroupOf ?? `NEW.${r.column}`;
    const missing = `${r.when ? `${r.when} AND ` : ''}${group} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM organization_groups WHERE id = ${group})`;
    const refuse = `BEGIN SELECT RAISE(ABORT, 'organization group does not exist'); END`;
    await sql.raw(`CREATE TRIGGER ${triggerName(r, 'insert')} BEFORE INSERT ON ${r.table} WHEN ${missing} ${refuse}`).execute(db);
    await sql.raw(`CREATE TRIGGER ${triggerName(r, 'update')} BEFORE UPDATE OF ${r.column} ON ${r.table} WHEN NEW.${r.column} IS NOT OLD.${r.column} AND ${missing} ${refuse}`).execute(db);
  }
}

export async function dropGroupReferenceChecks(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  for (const r of GROUP_REFERENCES) {
    for (const on of ['insert', 'update'] as const) {
      await sql.raw(`DROP TRIGGER IF EXISTS ${triggerName(r, on)}${postgres ? ` ON ${r.table}` : ''}`).execute(db);
    }
  }
  if (postgres) await sql.raw(`DROP FUNCTION IF EXISTS ${FUNCTION}()`).execute(db);
}

/** Whether the database has the checks (a snapshot's schema may predate them). */
export async function hasGroupReferenceChecks(db: Kysely<any>): Promise<boolean> {
  const name = triggerName(GROUP_REFERENCES[0]!, 'insert');
  const { rows } = isPostgres(db)
    ? await sql`SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = ${name} AND c.relnamespace = current_schema()::regnamespace`.execute(db)
    : await sql`SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ${name}`.execute(db);
  return rows.length > 0;
}
