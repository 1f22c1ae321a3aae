/**
 * The admin API the console's organization and settings pages needed: the user list (search,
 * paging, scope), disabling a user, and the device CA's facts — on SQLite and PostgreSQL.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

describe.each(testDatabaseKinds)('console admin API (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    beforeAll(async () => {
      pomona = await startTestServer(kind);
    });
    afterAll(() => pomona?.close());

    it('lists users a page at a time by name, display name or e-mail, within the caller\'s scope', async () => {
      const branch = (await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Branch', groupId: 'branch' } })).json;
      for (let i = 1; i <= 5; i++) {
        const res = await pomona.api('/api/v1/users', { body: { username: `user${i}`, password: 'a long enough passphrase', displayName: i === 3 ? 'Zoë Lambert' : undefined, email: i === 4 ? 'zl@example.com' : undefined, defaultGroupId: i <= 2 ? branch.id : 'global' } });
        expect(res.status).toBe(201);
      }
      const page = await pomona.api('/api/v1/users?limit=2&offset=2');
      expect(page.json.total).toBe(5);
      expect(page.json.items.map((u: { username: string }) => u.username)).toEqual(['user3', 'user4']);
      // The staging user ADE may enroll to is built in, not a person: never listed.
      expect((await pomona.api('/api/v1/users?search=staging')).json.total).toBe(0);
      const byName = (await pomona.api('/api/v1/users?search=LAMBERT')).json.items.map((u: { username: string }) => u.username);
      expect(byName).toEqual(['user3']);
      const byMail = (await pomona.api('/api/v1/users?search=zl@')).json.items.map((u: { username: string }) => u.username);
      expect(byMail).toEqual(['user4']);
      // LIKE wildcards typed by the admin match themselves, not everything.
      expect((await pomona.api('/api/v1/users?search=%25')).json.total).toBe(0);

      const scoped = (await pomona.api('/api/v1/api-tokens', { body: { name: 'branch reader', role: 'read-only', scope: branch.id } })).json.secret;
      const res = await fetch(`${pomona.url}/api/v1/users`, { headers: { authorization: `Bearer ${scoped}` } });
      const body = (await res.json()) as { items: { username: string }[]; total: number };
      expect(body.items.map((u) => u.username)).toEqual(['user1', 'user2']);
      expect(body.total).toBe(2);
    });

    it('disables a user: local sign-in is refused until enabled again, and both are audited', async () => {
      const user = (await pomona.api('/api/v1/users', { body: { username: 'dora', password: 'a long enough passphrase', defaultGroupId: 'global' } })).json;
      const off = await pomona.api(`/api/v1/users/${user.id}`, { method: 'PATCH', body: { disabled: true } });
      expect(off.json).toMatchObject({ username: 'dora', disabled: true });
      await expect(pomona.ctx.users.signInLocal('dora', 'a long enough passphrase')).rejects.toThrow(/wrong user name or password/);
      const on = await pomona.api(`/api/v1/users/${user.id}`, { method: 'PATCH', body: { disabled: false } });
      expect(on.json.disabled).toBe(false);
      expect((await pomona.ctx.users.signInLocal('dora', 'a long enough passphrase')).username).toBe('dora');
      const actions = (await pomona.ctx.audit.list({ target: user.id })).events.map((e) => e.action);
      expect(actions).toEqual(['user.enable', 'user.disable', 'user.create']);
      expect((await pomona.api('/api/v1/users/staging-user', { method: 'PATCH', body: { disabled: true } })).status).toBe(404);
    });

    it('refuses a disabled directory user at their next provider sign-in', async () => {
      const identity = { provider: 'ldap-x', subject: 'uid=eve', username: 'eve', groups: [] };
      const eve = await pomona.ctx.users.fromIdentity(identity, 'global');
      await pomona.api(`/api/v1/users/${eve.id}`, { method: 'PATCH', body: { disabled: true } });
      await expect(pomona.ctx.users.fromIdentity(identity, 'global')).rejects.toThrow(/wrong user name or password/);
    });

    it('shows the device CA: subject, validity and SHA-256 fingerprint of the certificate SCEP issues from', async () => {
      const res = await pomona.api('/api/v1/ca');
      expect(res.status).toBe(200);
      const cert = new X509Certificate(pomona.ctx.ca.certificatePem);
      expect(res.json).toEqual({
        subject: cert.subject.split('\n').join(', '),
        issuer: cert.issuer.split('\n').join(', '),
        serialNumber: cert.serialNumber,
        notBefore: Date.parse(cert.validFrom),
        notAfter: Date.parse(cert.validTo),
        expiresInDays: expect.any(Number),
        fingerprintSha256: cert.fingerprint256,
      });
      expect(res.json.subject).toMatch(/CN=/);
      expect(res.json.expiresInDays).toBeGreaterThan(300);
    });
  });
});
