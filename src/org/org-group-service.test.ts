import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { OrgGroupError, OrgGroupService, ROOT_GROUP_ID } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import { insertAbmServer, insertDevice } from '../../test/support/fleet.js';
import { isForeignKeyViolation } from '../db/database.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OrgGroupError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected an OrgGroupError');
}

describe.each(testDatabaseKinds)('organization groups (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let groups: OrgGroupService;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
    });
    afterEach(() => db.dispose());

    it('names scopes by id or Group ID and lists a scope\'s subtree (which follows a moved group)', async () => {
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'acme' });
      const paris = await groups.create({ parentId: acme.id, name: 'Paris', groupId: 'ACME-PAR' });
      const other = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Other', groupId: 'OTHER' });
      expect(await groups.scopeOf('acme-par')).toMatchObject({ groupId: paris.id, path: `/global/${acme.id}/${paris.id}/` });
      expect((await groups.scopeOf(ROOT_GROUP_ID)).global).toBe(true);
      expect(await codeOf(groups.scopeOf('nope'))).toBe('not_found: no organization group with the id or Group ID "nope"');
      const acmeScope = await groups.scopeOf(acme.id);
      expect((await groups.tree(acmeScope)).map((g) => g.name)).toEqual(['Acme', 'Paris']);
      expect((await groups.tree(acmeScope))[1].breadcrumb).toEqual(['Global', 'Acme', 'Paris']);
      await groups.move(paris.id, other.id);
      expect((await groups.tree(acmeScope)).map((g) => g.name)).toEqual(['Acme']);
      expect((await groups.tree(await groups.scopeOf(other.id))).map((g) => g.name)).toEqual(['Other', 'Paris']);
    });

    it('starts with the global root and builds a tree with typed Group IDs', async () => {
      const tree = await groups.tree();
      expect(tree).toEqual([{ id: ROOT_GROUP_ID, parentId: null, name: 'Global', groupId: 'GLOBAL', depth: 0, breadcrumb: ['Global'] }]);
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'acme' });
      const paris = await groups.create({ parentId: acme.id, name: 'Paris', groupId: 'ACME-PAR' });
      expect(paris).toMatchObject({ groupId: 'ACME-PAR', depth: 2, breadcrumb: ['Global', 'Acme', 'Paris'] });
      expect((await groups.byGroupId(' acme-par '))?.id).toBe(paris.id);
      expect(await codeOf(groups.create({ parentId: acme.id, name: 'Again', groupId: 'Acme' }))).toMatch(/^conflict: the Group ID "ACME" is taken/);
      expect(await codeOf(groups.create({ parentId: acme.id, name: 'Bad', groupId: 'a b' }))).toMatch(/^invalid/);
      expect(await codeOf(groups.create({ parentId: 'nope', name: 'X', groupId: 'XX' }))).toMatch(/^not_found/);
    });

    it('refuses to delete a group that users, mappings, tokens, providers or profiles still send devices to, and names each', async () => {
      const now = Date.now();
      const g = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Lyon', groupId: 'LYON' });
      const d = db.db;
      await d.insertInto('users').values({ id: 'u1', source: 'local', username: 'ana', external_id: null, email: null, display_name: null, password_hash: null, pin_hash: null, default_group_id: g.id, failed_sign_ins: 0, locked_until: null, disabled_at: null, last_sign_in_at: null, created_at: now, updated_at: now }).execute();
      await d.insertInto('user_group_mappings').values({ user_group_id: 'ug1', organization_group_id: g.id, rank: 1, created_at: now }).execute();
      const token = (id: string, o: { revoked?: boolean; expired?: boolean; spent?: boolean } = {}) => ({
        id, token_hash: `h-${id}`, prefix: id, organization_group_id: g.id, user_id: null, platform: null, max_uses: o.spent ? 1 : null, uses: o.spent ? 1 : 0, two_factor: 0,
        expires_at: o.expired ? now - 1000 : now + 86_400_000, created_by: 'test', created_at: now, revoked_at: o.revoked ? now : null, last_used_at: null,
      });
      // Kept for the record, acting nowhere: revoked, expired, used up. Only t1 counts.
      await d.insertInto('registration_tokens').values([token('t1'), token('t2', { revoked: true }), token('t3', { expired: true }), token('t4', { spent: true })]).execute();
      await d.insertInto('identity_providers').values({ id: 'idp1', organization_group_id: g.id, kind: 'ldap', name: 'Lyon LDAP', config_json: '{}', secrets_enc: null, enabled: 0, created_at: now, updated_at: now }).execute();
      await d.insertInto('configuration_profiles').values({ id: 'cp1', name: 'Wi-Fi', payload_identifier: 'x', payload_uuid: 'y', display_name: null, organization: null, payload_types_json: '[]', signed: 0, payload: Buffer.from('-'), size: 1, sha256: '-', created_by: null, created_at: now, updated_at: now }).execute();
      await d.insertInto('configuration_profile_attachments').values({ profile_id: 'cp1', target_kind: 'organization-group', target_id: g.id, created_by: null, created_at: now }).execute();
      await insertAbmServer(d, { id: 'abm1', groupId: null });
      const depProfile = (id: string, groupId: string) => ({ id, abm_server_id: 'abm1', name: id, is_default: 0, settings_json: JSON.stringify({ apple: {}, pomona: { organizationGroupId: groupId } }), version: 1, apple_profile_uuid: null, apple_version: null, apple_defined_at: null, define_error: null, define_failed_at: null, created_at: now, updated_at: now });
      // dp2 names a group whose id merely contains Lyon's: not counted.
      await d.insertInto('organization_groups').values({ id: `${g.id}x`, parent_id: ROOT_GROUP_ID, name: 'Lyon X', group_code: 'LYONX', path: `/${ROOT_GROUP_ID}/${g.id}x/`, depth: 1, created_at: now, updated_at: now }).execute();
      await d.insertInto('dep_profiles').values([depProfile('dp1', g.id), depProfile('dp2', `${g.id}x`)]).execute();

      expect(await codeOf(groups.delete(g.id))).toBe(
        'conflict: "Lyon" still holds 1 user(s) whose default group it is, 1 directory group mapping(s) to it, 1 active registration token(s) for it, '
          + '1 identity provider(s), 1 configuration profile(s) attached to it, 1 DEP profile(s) whose devices join it; move them first',
      );
      expect(await groups.get(g.id)).toMatchObject({ name: 'Lyon' });

      await d.updateTable('users').set({ default_group_id: ROOT_GROUP_ID }).execute();
      await d.deleteFrom('user_group_mappings').execute();
      await d.updateTable('registration_tokens').set({ revoked_at: now }).where('id', '=', 't1').execute();
      await d.deleteFrom('identity_providers').execute();
      await d.deleteFrom('configuration_profile_attachments').execute();
      await d.deleteFrom('dep_profiles').where('id', '=', 'dp1').execute();
      await groups.delete(g.id);
      expect(await codeOf(groups.get(g.id))).toMatch(/^not_found/);
    });

    it('refuses, in the database, a write naming a group that is gone; history naming one stays writable', async () => {
      const now = Date.now();
      const d = db.db;
      const user = (id: string, groupId: string) => ({ id, source: 'local', username: id, external_id: null, email: null, display_name: null, password_hash: null, pin_hash: null, default_group_id: groupId, failed_sign_ins: 0, locked_until: null, disabled_at: null, last_sign_in_at: null, created_at: now, updated_at: now });
      const refused = async (p: Promise<unknown>) => expect(isForeignKeyViolation(await p.then(() => undefined, (err: unknown) => err))).toBe(true);
      await refused(d.insertInto('users').values(user('u1', 'gone')).execute());
      await d.insertInto('users').values(user('u1', ROOT_GROUP_ID)).execute();
      await refused(d.updateTable('users').set({ default_group_id: 'gone' }).where('id', '=', 'u1').execute());
      await insertAbmServer(d, { id: 'abm1', groupId: null });
      const dep = { id: 'dp1', abm_server_id: 'abm1', name: 'p', is_default: 0, settings_json: JSON.stringify({ pomona: { organizationGroupId: 'gone' } }), version: 1, apple_profile_uuid: null, apple_version: null, apple_defined_at: null, define_error: null, define_failed_at: null, created_at: now, updated_at: now };
      await refused(d.insertInto('dep_profiles').values(dep).execute());
      await d.insertInto('dep_profiles').values({ ...dep, settings_json: '{"pomona":{}}' }).execute();
      await d.insertInto('configuration_profiles').values({ id: 'cp1', name: 'Wi-Fi', payload_identifier: 'x', payload_uuid: 'y', display_name: null, organization: null, payload_types_json: '[]', signed: 0, payload: Buffer.from('-'), size: 1, sha256: '-', created_by: null, created_at: now, updated_at: now }).execute();
      await d.insertInto('configuration_profile_attachments').values({ profile_id: 'cp1', target_kind: 'dep-profile', target_id: 'gone', created_by: null, created_at: now }).execute();
      await refused(d.insertInto('configuration_profile_attachments').values({ profile_id: 'cp1', target_kind: 'organization-group', target_id: 'gone', created_by: null, created_at: now }).execute());
      expect(await d.selectFrom('users').select('default_group_id').execute()).toEqual([{ default_group_id: ROOT_GROUP_ID }]);

      // A revoked token keeps its group once the group is gone, and stays writable.
      const g = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Lyon', groupId: 'LYON' });
      await d.insertInto('registration_tokens').values({ id: 't1', token_hash: 'h', prefix: 't1', organization_group_id: g.id, user_id: null, platform: null, max_uses: null, uses: 0, two_factor: 0, expires_at: now + 1000, created_by: 'test', created_at: now, revoked_at: now, last_used_at: null }).execute();
      await groups.delete(g.id);
      await d.updateTable('registration_tokens').set({ last_used_at: now }).where('id', '=', 't1').execute();
      await refused(d.updateTable('registration_tokens').set({ organization_group_id: `${g.id}-other` }).where('id', '=', 't1').execute());
    });

    it.skipIf(kind !== 'postgres')('serializes a delete with a write putting something in the group, whichever comes first', async () => {
      const now = Date.now();
      const user = (id: string, groupId: string) => ({ id, source: 'local', username: id, external_id: null, email: null, display_name: null, password_hash: null, pin_hash: null, default_group_id: groupId, failed_sign_ins: 0, locked_until: null, disabled_at: null, last_sign_in_at: null, created_at: now, updated_at: now });
      const pending = async (p: Promise<unknown>) => {
        const settled = await Promise.race([p.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), 300))]);
        expect(settled).toBe(false);
      };

      // The write first (not yet committed): the delete waits for it, then counts it.
      const a2 = await groups.create({ parentId: ROOT_GROUP_ID, name: 'A2', groupId: 'AA2' });
      let deleting!: Promise<void>;
      await db.db.transaction().execute(async (tx) => {
        await tx.insertInto('users').values(user('u-a2', a2.id)).execute();
        deleting = groups.delete(a2.id);
        await pending(deleting);
      });
      expect(await codeOf(deleting)).toBe('conflict: "A2" still holds 1 user(s) whose default group it is; move them first');

      // The delete first (not yet committed): the write waits for it, then finds no group.
      const b = await groups.create({ parentId: ROOT_GROUP_ID, name: 'B', groupId: 'BB' });
      let writing!: Promise<unknown>;
      await db.db.transaction().execute(async (tx) => {
        await tx.selectFrom('organization_groups').select('id').where('id', '=', b.id).forUpdate().execute();
        await tx.deleteFrom('organization_groups').where('id', '=', b.id).execute();
        writing = db.db.insertInto('users').values(user('u-b', b.id)).execute();
        await pending(writing);
      });
      expect(isForeignKeyViolation(await writing.then(() => undefined, (err: unknown) => err))).toBe(true);
      expect(await db.db.selectFrom('users').select('id').where('id', '=', 'u-b').execute()).toEqual([]);
    });

    it('inherits settings down the subtree and says where each value comes from', async () => {
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      const paris = await groups.create({ parentId: acme.id, name: 'Paris', groupId: 'PAR' });
      const shop = await groups.create({ parentId: paris.id, name: 'Shop', groupId: 'SHOP' });
      await groups.setSetting(acme.id, 'enrollment.userEnrollmentAllowed', true, 'user:admin');
      await groups.setSetting(paris.id, 'enrollment.userEnrollmentAllowed', false, 'user:admin');
      const at = async (id: string) => (await groups.settings(id)).find((s) => s.key === 'enrollment.userEnrollmentAllowed')!;
      expect(await at(ROOT_GROUP_ID)).toMatchObject({ value: false, source: { kind: 'default' } });
      expect(await at(acme.id)).toMatchObject({ value: true, source: { kind: 'here' } });
      expect(await at(paris.id)).toMatchObject({ value: false, source: { kind: 'here' } });
      expect(await at(shop.id)).toMatchObject({ value: false, source: { kind: 'inherited', groupId: paris.id, groupName: 'Paris' } });
      await groups.clearSetting(paris.id, 'enrollment.userEnrollmentAllowed');
      expect(await at(shop.id)).toMatchObject({ value: true, source: { kind: 'inherited', groupName: 'Acme' } });
      expect(await groups.setting(shop.id, 'enrollment.defaultOwnership')).toBe('corporate-dedicated');
    });

    it('reads a few settings in one go as settings() resolves them: nearest ancestor wins, siblings never count, a move changes the ancestors', async () => {
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      const paris = await groups.create({ parentId: acme.id, name: 'Paris', groupId: 'PAR' });
      const lyon = await groups.create({ parentId: acme.id, name: 'Lyon', groupId: 'LYON' });
      const other = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Other', groupId: 'OTHER' });
      await groups.setSetting(ROOT_GROUP_ID, 'enrollment.authenticationMethods', ['local', 'ldap'], 'x');
      await groups.setSetting(acme.id, 'enrollment.authenticationMethods', ['registration-token'], 'x');
      await groups.setSetting(lyon.id, 'enrollment.termsOfUse', { version: 3, text: 'Lyon only.' }, 'x');
      await groups.setSetting(other.id, 'enrollment.defaultOwnership', 'employee-owned', 'x');
      const keys = ['enrollment.authenticationMethods', 'enrollment.termsOfUse', 'enrollment.defaultOwnership', 'enrollment.registrationTokenRequired'] as const;
      const resolved = async (id: string) => Object.fromEntries((await groups.settings(id)).filter((s) => (keys as readonly string[]).includes(s.key)).map((s) => [s.key, s.value]));
      for (const g of [ROOT_GROUP_ID, acme.id, paris.id, lyon.id, other.id]) expect(await groups.values(g, keys)).toEqual(await resolved(g));
      expect(await groups.values(paris.id, keys)).toEqual({
        'enrollment.authenticationMethods': ['registration-token'], 'enrollment.termsOfUse': null, 'enrollment.defaultOwnership': 'corporate-dedicated', 'enrollment.registrationTokenRequired': false,
      });
      await groups.move(paris.id, other.id);
      expect(await groups.values(paris.id, keys)).toMatchObject({ 'enrollment.authenticationMethods': ['local', 'ldap'], 'enrollment.defaultOwnership': 'employee-owned' });
      expect(await groups.setting(paris.id, 'enrollment.defaultOwnership')).toBe('employee-owned');
      expect(await codeOf(groups.values('nope', keys))).toBe('not_found: no such organization group');
      expect(await codeOf(groups.setting('nope', 'enrollment.termsOfUse'))).toBe('not_found: no such organization group');
    });

    it('keeps groups and settings as read for a moment: its own changes show at once, another node\'s within recentReadsMs', async () => {
      const other = new OrgGroupService(new OrgGroupStore(db.db), { recentReadsMs: 200 });
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      expect(await other.values(acme.id, ['enrollment.defaultOwnership'])).toEqual({ 'enrollment.defaultOwnership': 'corporate-dedicated' });
      expect((await other.get(acme.id)).name).toBe('Acme');
      // This node's change: read anew at once.
      await groups.values(acme.id, ['enrollment.defaultOwnership']);
      await groups.setSetting(acme.id, 'enrollment.defaultOwnership', 'employee-owned', 'admin');
      expect(await groups.values(acme.id, ['enrollment.defaultOwnership'])).toEqual({ 'enrollment.defaultOwnership': 'employee-owned' });
      await groups.update(acme.id, { name: 'Acme Corp' });
      expect((await groups.get(acme.id)).name).toBe('Acme Corp');
      // The other node still has what it read, until its moment is over.
      expect(await other.values(acme.id, ['enrollment.defaultOwnership'])).toEqual({ 'enrollment.defaultOwnership': 'corporate-dedicated' });
      expect((await other.get(acme.id)).name).toBe('Acme');
      await new Promise((r) => setTimeout(r, 250));
      expect(await other.values(acme.id, ['enrollment.defaultOwnership'])).toEqual({ 'enrollment.defaultOwnership': 'employee-owned' });
      expect((await other.get(acme.id)).name).toBe('Acme Corp');
    });

    it("a group another node deleted a moment ago: what it still has read is not enough to put something in it", async () => {
      const other = new OrgGroupService(new OrgGroupStore(db.db), { recentReadsMs: 60_000 });
      const gone = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Gone', groupId: 'GONE' });
      const kept = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Kept', groupId: 'KEPT' });
      await insertDevice(db.db, { id: 'd1' });
      expect((await other.get(gone.id)).name).toBe('Gone');
      await groups.delete(gone.id);
      // The other node still shows it (its recent reads) ...
      expect((await other.get(gone.id)).name).toBe('Gone');
      // ... but a device, a child group or a moved group is not put in it, and nothing is written.
      expect(await codeOf(other.moveDevice('d1', gone.id))).toBe('not_found: no such organization group');
      expect(await codeOf(other.create({ parentId: gone.id, name: 'Child', groupId: 'CHILD' }))).toBe('not_found: no such organization group');
      expect(await codeOf(other.move(kept.id, gone.id))).toBe('not_found: no such organization group');
      expect(await codeOf(other.mustExist(gone.id))).toBe('not_found: no such organization group');
      expect(await db.db.selectFrom('devices').select('organization_group_id').where('id', '=', 'd1').executeTakeFirst()).toEqual({ organization_group_id: ROOT_GROUP_ID });
      expect(await codeOf(groups.scopeOf('CHILD'))).toMatch(/^not_found/);
      expect((await groups.get(kept.id)).depth).toBe(1);
      await other.mustExist(kept.id);
      expect(await other.moveDevice('d1', kept.id)).toEqual({ from: ROOT_GROUP_ID });
    });

    it('refuses unknown settings and invalid values with the reason', async () => {
      expect(await codeOf(groups.setSetting(ROOT_GROUP_ID, 'enrollment.nope', 1, 'x'))).toMatch(/^invalid: unknown setting "enrollment.nope"/);
      expect(await codeOf(groups.setSetting(ROOT_GROUP_ID, 'alerts.recipients', ['not-an-address'], 'x'))).toMatch(/alerts.recipients\/0/);
      expect(await codeOf(groups.setSetting(ROOT_GROUP_ID, 'enrollment.termsOfUse', { version: 0, text: '' }, 'x'))).toMatch(/^invalid/);
      expect((await groups.setSetting(ROOT_GROUP_ID, 'enrollment.termsOfUse', { version: 2, text: 'Be nice.' }, 'x')).value).toEqual({ version: 2, text: 'Be nice.' });
    });

    it('moves a subtree, but never into itself; deletes only empty groups', async () => {
      const a = await groups.create({ parentId: ROOT_GROUP_ID, name: 'A', groupId: 'A1' });
      const b = await groups.create({ parentId: a.id, name: 'B', groupId: 'B1' });
      const c = await groups.create({ parentId: b.id, name: 'C', groupId: 'C1' });
      const other = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Other', groupId: 'O1' });
      expect(await codeOf(groups.move(a.id, c.id))).toMatch(/own subtree/);
      expect(await codeOf(groups.move(ROOT_GROUP_ID, a.id))).toMatch(/root group cannot be moved/);
      await groups.move(b.id, other.id);
      expect(await groups.get(c.id)).toMatchObject({ depth: 3, breadcrumb: ['Global', 'Other', 'B', 'C'] });
      expect(await groups.isWithin(c.id, other.id)).toBe(true);
      expect(await groups.isWithin(c.id, a.id)).toBe(false);
      expect(await groups.lineage(c.id)).toEqual([ROOT_GROUP_ID, other.id, b.id, c.id]);
      expect(await groups.lineage('nope')).toBeUndefined();
      expect(await codeOf(groups.delete(b.id))).toMatch(/^conflict: "B" still holds 1 child group/);
      await groups.delete(c.id);
      await groups.delete(b.id);
      expect((await groups.tree()).map((g) => g.name).sort()).toEqual(['A', 'Global', 'Other']);
      expect(await codeOf(groups.delete(ROOT_GROUP_ID))).toMatch(/root group cannot be deleted/);
    });
  });
});
