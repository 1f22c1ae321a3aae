import type { Kysely } from 'kysely';
import { createGroupReferenceChecks, dropGroupReferenceChecks } from '../group-references.js';

/** Writes naming an organization group that does not exist are refused (src/db/group-references.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await createGroupReferenceChecks(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await dropGroupReferenceChecks(db);
}
