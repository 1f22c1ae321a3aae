import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AdminService, AdminUserError, DEFAULT_SESSION_TTL_MS } from './admin-service.js';
import { AdminStore } from './admin-store.js';
import { OrgGroupService } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import { Scope, ScopeError } from './scope.js';

const cheap = { N: 1024, r: 8, p: 1 };
const PASSWORD = 'a long enough password';

describe.each(testDatabaseKinds)('AdminService (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let t = 1_700_000_000_000;
    let admins: AdminService;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      admins = new AdminService(new AdminStore(db.db), { now: () => t, scryptParams: cheap });
    });
    afterAll(async () => db?.dispose());

    it('creates users with lower-cased names and a hashed password', async () => {
      const user = await admins.createUser({ username: 'Alice', password: PASSWORD, role: 'administrator' });
      expect(user).toMatchObject({ username: 'alice', role: 'administrator', createdAt: t, disabledAt: null });
      const row = await db.db.selectFrom('admin_users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
    });

    it('refuses duplicates (case-insensitively), bad names, bad roles and short passwords with clear errors', async () => {
      const attempt = (username: string, password: string, role: string) =>
        admins.createUser({ username, password, role }).then(
          () => null,
          (err: unknown) => err,
        );
      const dup = await attempt('ALICE', PASSWORD, 'operator');
      expect(dup).toBeInstanceOf(AdminUserError);
      expect(dup).toMatchObject({ code: 'duplicate-username', message: 'an admin user named "alice" already exists' });
      expect(await attempt('a', PASSWORD, 'operator')).toMatchObject({ code: 'invalid-username' });
      expect(await attempt('bad name', PASSWORD, 'operator')).toMatchObject({ code: 'invalid-username' });
      expect(await attempt('-dash', PASSWORD, 'operator')).toMatchObject({ code: 'invalid-username' });
      expect(await attempt('bob', PASSWORD, 'root')).toMatchObject({ code: 'invalid-role' });
      expect(await attempt('bob', 'short', 'operator')).toMatchObject({ code: 'weak-password', message: expect.stringMatching(/12 characters/) });
      expect((await admins.listUsers()).map((u) => u.username)).toEqual(['alice']);
    });

    it('verifies credentials; wrong password, unknown and disabled users get null', async () => {
      expect(await admins.verifyCredentials('alice', PASSWORD)).toMatchObject({ username: 'alice' });
      expect(await admins.verifyCredentials(' ALICE ', PASSWORD)).toMatchObject({ username: 'alice' });
      expect(await admins.verifyCredentials('alice', PASSWORD + 'x')).toBeNull();
      expect(await admins.verifyCredentials('nobody', PASSWORD)).toBeNull();
      const dis = await admins.createUser({ username: 'dis', password: PASSWORD, role: 'operator' });
      await db.db.updateTable('admin_users').set({ disabled_at: t }).where('id', '=', dis.id).execute();
      expect(await admins.verifyCredentials('dis', PASSWORD)).toBeNull();
    });

    it('stores only the SHA-256 of a session id; sessions expire after 12 h by default', async () => {
      const user = (await admins.verifyCredentials('alice', PASSWORD))!;
      const s = await admins.createSession(user.id);
      expect(s.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(s.expiresAt).toBe(t + DEFAULT_SESSION_TTL_MS);
      expect(s.csrfToken).toBe(admins.csrfTokenFor(s.sessionId));
      const rows = await db.db.selectFrom('admin_sessions').selectAll().execute();
      expect(rows.map((r) => r.id_hash)).toContain(createHash('sha256').update(s.sessionId).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(s.sessionId);

      expect(await admins.lookupSession(s.sessionId)).toMatchObject({ user: { username: 'alice' }, expiresAt: s.expiresAt });
      expect(await admins.lookupSession('x'.repeat(43))).toBeNull();
      expect(await admins.lookupSession('not even the right shape')).toBeNull();
      t += DEFAULT_SESSION_TTL_MS - 1;
      expect(await admins.lookupSession(s.sessionId)).not.toBeNull();
      t += 1;
      expect(await admins.lookupSession(s.sessionId)).toBeNull();
      expect(await admins.purgeExpiredSessions()).toBeGreaterThanOrEqual(1);
    });

    it('honours a configured session lifetime, deletes sessions, and refuses sessions of disabled users', async () => {
      const short = new AdminService(new AdminStore(db.db), { now: () => t, scryptParams: cheap, sessionTtlMs: 60_000 });
      const user = (await short.verifyCredentials('alice', PASSWORD))!;
      const s = await short.createSession(user.id);
      expect(s.expiresAt).toBe(t + 60_000);
      await short.deleteSession(s.sessionId);
      expect(await short.lookupSession(s.sessionId)).toBeNull();

      const dis = (await admins.listUsers()).find((u) => u.username === 'dis')!;
      const s2 = await admins.createSession(dis.id);
      expect(await admins.lookupSession(s2.sessionId)).toBeNull();
    });

    it('ends the session a browser presented when it signs in again (no session fixation)', async () => {
      const user = (await admins.verifyCredentials('alice', PASSWORD))!;
      const planted = await admins.createSession(user.id);
      const fresh = await admins.createSession(user.id, { replacing: planted.sessionId });
      expect(fresh.sessionId).not.toBe(planted.sessionId);
      expect(await admins.lookupSession(planted.sessionId)).toBeNull();
      expect(await admins.lookupSession(fresh.sessionId)).not.toBeNull();
      // an id that names no session is harmless
      expect((await admins.createSession(user.id, { replacing: 'x'.repeat(43) })).sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('scopes admins, never grants more than the grantor holds, and lists by scope', async () => {
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      const a = await groups.scopeOf((await groups.create({ parentId: 'global', name: 'A', groupId: 'ADM-A' })).id);
      const a1 = await groups.scopeOf((await groups.create({ parentId: a.groupId, name: 'A1', groupId: 'ADM-A1' })).id);
      const b = await groups.scopeOf((await groups.create({ parentId: 'global', name: 'B', groupId: 'ADM-B' })).id);
      const anna = await admins.createUser({ username: 'anna', password: PASSWORD, role: 'administrator', scope: a });
      expect(anna.scopeGroupId).toBe(a.groupId);
      const grantor = { id: anna.id, role: 'administrator', scope: a };
      const sam = await admins.createUser({ username: 'sam', password: PASSWORD, role: 'operator', scope: a1, grantedBy: grantor });
      await expect(admins.createUser({ username: 'glob', password: PASSWORD, role: 'operator', grantedBy: grantor })).rejects.toBeInstanceOf(ScopeError);
      await expect(admins.createUser({ username: 'bob', password: PASSWORD, role: 'operator', scope: b, grantedBy: grantor })).rejects.toBeInstanceOf(ScopeError);
      await expect(admins.createUser({ username: 'up', password: PASSWORD, role: 'administrator', scope: a1, grantedBy: { role: 'operator', scope: a } })).rejects.toThrow(/wider than yours/);

      expect((await admins.listUsers(a)).map((u) => u.username)).toEqual(['anna', 'sam']);
      expect(await admins.listUsers(b)).toEqual([]);
      expect((await admins.listUsers()).length).toBeGreaterThan(2);

      const s = await admins.createSession(sam.id);
      expect((await admins.lookupSession(s.sessionId))!.user.scope).toEqual(a1);
      await expect(admins.updateUser(sam.id, { scope: b }, grantor)).rejects.toBeInstanceOf(ScopeError);
      await expect(admins.updateUser(sam.id, { scope: Scope.GLOBAL }, grantor)).rejects.toBeInstanceOf(ScopeError);
      expect(await admins.updateUser(sam.id, { role: 'read-only', scope: a }, grantor)).toMatchObject({ role: 'read-only', scopeGroupId: a.groupId });
      expect((await admins.lookupSession(s.sessionId))!.user).toMatchObject({ role: 'read-only', scope: a });
      // a new password ends the sessions
      await admins.updateUser(sam.id, { password: 'another long password' }, grantor);
      expect(await admins.lookupSession(s.sessionId)).toBeNull();
      expect(await admins.verifyCredentials('sam', 'another long password')).not.toBeNull();
      await admins.updateUser(sam.id, { disabled: true }, grantor);
      expect(await admins.verifyCredentials('sam', 'another long password')).toBeNull();

      // one's own role, scope, state and account are for another administrator to change
      await expect(admins.updateUser(anna.id, { role: 'operator' }, grantor)).rejects.toMatchObject({ code: 'self' });
      await expect(admins.deleteUser(anna.id, grantor)).rejects.toMatchObject({ code: 'self' });
      expect(await admins.updateUser(anna.id, { password: 'anna changes her own' }, grantor)).toMatchObject({ username: 'anna' });
      await expect(admins.updateUser('nobody', { role: 'operator' })).rejects.toMatchObject({ code: 'not-found' });

      await admins.deleteUser(sam.id, grantor);
      expect((await admins.listUsers(a)).map((u) => u.username)).toEqual(['anna']);
    });

    it('finds the enabled admin an identity provider names, by user name then e-mail, never creating one', async () => {
      expect(await admins.findForSignIn(['Alice'])).toMatchObject({ username: 'alice', scope: Scope.GLOBAL });
      expect(await admins.findForSignIn([undefined, 'nobody', 'alice'])).toMatchObject({ username: 'alice' });
      await admins.createUser({ username: 'eve@example.com', password: PASSWORD, role: 'read-only' });
      expect(await admins.findForSignIn(['eve', 'EVE@example.com'])).toMatchObject({ username: 'eve@example.com' });
      expect(await admins.findForSignIn(['dis'])).toBeNull(); // disabled
      expect(await admins.findForSignIn(['stranger', 'stranger@example.com'])).toBeNull();
      expect((await admins.listUsers()).map((u) => u.username)).not.toContain('stranger');
    });

    it('derives CSRF tokens from the session id and the configured key', () => {
      const keyed = new AdminService(new AdminStore(db.db), { csrfKey: Buffer.from('other key') });
      expect(admins.csrfTokenFor('abc')).toBe(admins.csrfTokenFor('abc'));
      expect(admins.csrfTokenFor('abc')).not.toBe(admins.csrfTokenFor('abd'));
      expect(keyed.csrfTokenFor('abc')).not.toBe(admins.csrfTokenFor('abc'));
    });
  });
});
