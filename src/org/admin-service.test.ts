import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AdminService, AdminUserError, DEFAULT_SESSION_TTL_MS } from './admin-service.js';
import { AdminStore } from './admin-store.js';

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

    it('derives CSRF tokens from the session id and the configured key', () => {
      const keyed = new AdminService(new AdminStore(db.db), { csrfKey: Buffer.from('other key') });
      expect(admins.csrfTokenFor('abc')).toBe(admins.csrfTokenFor('abc'));
      expect(admins.csrfTokenFor('abc')).not.toBe(admins.csrfTokenFor('abd'));
      expect(keyed.csrfTokenFor('abc')).not.toBe(admins.csrfTokenFor('abc'));
    });
  });
});
