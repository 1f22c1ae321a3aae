/** Queries for the configuration-profile library and where its profiles are attached. */
import type { Insertable, Selectable } from 'kysely';
import { isUniqueViolation, type Db } from '../db/database.js';
import type { ConfigurationProfileAttachmentTable, ConfigurationProfileTable } from '../db/schema.js';

/** A library entry without its (possibly large) file. */
export type ConfigurationProfileRow = Omit<Selectable<ConfigurationProfileTable>, 'payload'>;
export type AttachmentRow = Selectable<ConfigurationProfileAttachmentTable>;
export type AttachmentKind = AttachmentRow['target_kind'];

const COLUMNS = [
  'id', 'name', 'payload_identifier', 'payload_uuid', 'display_name', 'organization', 'payload_types_json',
  'signed', 'size', 'sha256', 'created_by', 'created_at', 'updated_at',
] as const;

export class ConfigurationProfileStore {
  constructor(private readonly db: Db) {}

  /** False when a profile with the same PayloadIdentifier exists (also under a racing upload). */
  async insert(row: Insertable<ConfigurationProfileTable>): Promise<boolean> {
    try {
      await this.db.insertInto('configuration_profiles').values(row).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  list(): Promise<ConfigurationProfileRow[]> {
    return this.db.selectFrom('configuration_profiles').select(COLUMNS).orderBy('name').orderBy('id').execute();
  }

  get(id: string): Promise<ConfigurationProfileRow | undefined> {
    return this.db.selectFrom('configuration_profiles').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  byIdentifier(identifier: string): Promise<ConfigurationProfileRow | undefined> {
    return this.db.selectFrom('configuration_profiles').select(COLUMNS).where('payload_identifier', '=', identifier).executeTakeFirst();
  }

  async payload(id: string): Promise<Buffer | undefined> {
    const row = await this.db.selectFrom('configuration_profiles').select('payload').where('id', '=', id).executeTakeFirst();
    return row ? Buffer.from(row.payload) : undefined;
  }

  /** Deletes the profile and its attachments; false when there was none. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('configuration_profile_attachments').where('profile_id', '=', id).execute();
      const res = await tx.deleteFrom('configuration_profiles').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) === 1;
    });
  }

  /** False when the attachment existed already. */
  async attach(row: Insertable<ConfigurationProfileAttachmentTable>): Promise<boolean> {
    const res = await this.db
      .insertInto('configuration_profile_attachments')
      .values(row)
      .onConflict((oc) => oc.columns(['profile_id', 'target_kind', 'target_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async detach(profileId: string, kind: AttachmentKind, targetId: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('configuration_profile_attachments')
      .where('profile_id', '=', profileId)
      .where('target_kind', '=', kind)
      .where('target_id', '=', targetId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  /** Attachments of the given profiles (all when none are named), oldest first. */
  attachmentsOf(profileIds?: string[]): Promise<AttachmentRow[]> {
    let q = this.db.selectFrom('configuration_profile_attachments').selectAll();
    if (profileIds) {
      if (profileIds.length === 0) return Promise.resolve([]);
      q = q.where('profile_id', 'in', profileIds);
    }
    return q.orderBy('created_at').orderBy('profile_id').execute();
  }

  /** What is attached to one DEP profile and to any of the groups, with the profiles' names, oldest first. */
  async attachedTo(targets: { depProfileId?: string | null; groupIds: string[] }) {
    if (!targets.depProfileId && targets.groupIds.length === 0) return [];
    return this.db
      .selectFrom('configuration_profile_attachments as a')
      .innerJoin('configuration_profiles as p', 'p.id', 'a.profile_id')
      .select(['a.profile_id', 'a.target_kind', 'a.target_id', 'a.created_at', 'p.name', 'p.payload_identifier'])
      .where((eb) => {
        const any = [];
        if (targets.depProfileId) any.push(eb.and([eb('a.target_kind', '=', 'dep-profile'), eb('a.target_id', '=', targets.depProfileId)]));
        if (targets.groupIds.length) any.push(eb.and([eb('a.target_kind', '=', 'organization-group'), eb('a.target_id', 'in', targets.groupIds)]));
        return eb.or(any);
      })
      .orderBy('a.created_at')
      .orderBy('a.profile_id')
      .execute();
  }
}
