/** The organization tree through the admin API, on SQLite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

describe.each(testDatabaseKinds)('organization groups API (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    beforeAll(async () => {
      pomona = await startTestServer(kind);
    });
    afterAll(() => pomona?.close());

    it('builds the tree, inherits settings, and moves devices with an audit event', async () => {
      const acme = await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Acme', groupId: 'acme' } });
      expect(acme.status).toBe(201);
      const site = await pomona.api('/api/v1/organization-groups', { body: { parentId: acme.json.id, name: 'Lyon', groupId: 'ACME-LYS' } });
      expect(site.json).toMatchObject({ groupId: 'ACME-LYS', breadcrumb: ['Global', 'Acme', 'Lyon'] });

      const set = await pomona.api(`/api/v1/organization-groups/${acme.json.id}/settings/enrollment.webEnrollmentAllowed`, { method: 'PUT', body: { value: true } });
      expect(set.json).toMatchObject({ value: true, source: { kind: 'here' } });
      const bad = await pomona.api(`/api/v1/organization-groups/${acme.json.id}/settings/enrollment.defaultOwnership`, { method: 'PUT', body: { value: 'mine' } });
      expect(bad.status).toBe(400);
      const settings = (await pomona.api(`/api/v1/organization-groups/${site.json.id}/settings`)).json.items;
      expect(settings.find((s: { key: string }) => s.key === 'enrollment.webEnrollmentAllowed')).toMatchObject({ value: true, source: { kind: 'inherited', groupName: 'Acme' } });

      const now = Date.now();
      await pomona.ctx.database.db.insertInto('devices').values({ id: 'dev-1', udid: 'UDID-1', serial_number: 'C02TEST', model: null, model_name: null, product_name: null, device_name: null, os_version: null, build_version: null, imei: null, meid: null, info_json: null, created_at: now, updated_at: now, last_seen_at: null, ownership: null }).execute();
      expect((await pomona.api('/api/v1/devices/dev-1/organization-group', { body: { groupId: site.json.id } })).status).toBe(204);
      expect((await pomona.api('/api/v1/devices/nope/organization-group', { body: { groupId: site.json.id } })).status).toBe(404);
      const row = await pomona.ctx.database.db.selectFrom('devices').select('organization_group_id').where('id', '=', 'dev-1').executeTakeFirstOrThrow();
      expect(row.organization_group_id).toBe(site.json.id);
      const audit = await pomona.ctx.audit.list({ action: 'device.move_group' });
      expect(audit.events[0]).toMatchObject({ target: 'dev-1', outcome: 'success' });

      expect((await pomona.api(`/api/v1/organization-groups/${site.json.id}`, { method: 'DELETE' })).status).toBe(409);

      // The audit log exports as CSV, filtered, with outside text defused.
      await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: '=cmd|calc', groupId: 'EVIL' } });
      const res = await fetch(`${pomona.url}/api/v1/audit-events.csv?action=org.group.create`, { headers: { authorization: `Bearer ${pomona.token}` } });
      expect(res.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = (await res.text()).trim().split('\r\n');
      expect(lines[0]).toBe('id,at,actor,action,target,source,outcome,details');
      expect(lines).toHaveLength(4);
      expect(lines[1]).toContain(`"{""name"":""=cmd|calc""`);
    });

    it('throttles admin sign-in failures in the database (shared by every node)', async () => {
      const attempt = () => fetch(`${pomona.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mallory', password: 'not the password' }) });
      for (let i = 0; i < 5; i++) expect((await attempt()).status).toBe(401);
      const blocked = await attempt();
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      const rows = await pomona.ctx.database.db.selectFrom('sign_in_failures').select('key').where('key', '=', 'user:mallory').execute();
      expect(rows).toHaveLength(5);
    });

    it('manages users, user-group mappings and registration tokens', async () => {
      const user = await pomona.api('/api/v1/users', { body: { username: 'dee', password: 'dee has a passphrase', defaultGroupId: 'global' } });
      expect(user.status).toBe(201);
      expect(user.json).not.toHaveProperty('password_hash');
      expect((await pomona.api('/api/v1/users', { body: { username: 'dee2', password: 'short', defaultGroupId: 'global' } })).status).toBe(400);
      const ug = await pomona.api('/api/v1/user-groups', { body: { name: 'Engineering' } });
      expect((await pomona.api(`/api/v1/user-groups/${ug.json.id}/mapping`, { method: 'PUT', body: { organizationGroupId: 'global', rank: 5 } })).status).toBe(204);
      expect((await pomona.api('/api/v1/user-groups')).json.items).toContainEqual(expect.objectContaining({ name: 'Engineering', organization_group_id: 'global', rank: 5 }));

      const created = await pomona.api('/api/v1/registration-tokens', { body: { groupId: 'global', userId: user.json.id, platform: 'iOS', twoFactor: true } });
      expect(created.status).toBe(201);
      expect(created.json.token).toMatch(/^[A-Z2-9]{10}$/);
      const listed = (await pomona.api('/api/v1/registration-tokens')).json.items;
      expect(JSON.stringify(listed)).not.toContain(created.json.token);
      expect(listed[0]).toMatchObject({ status: 'registration active', twoFactor: true, platform: 'iOS' });
      expect((await pomona.api(`/api/v1/registration-tokens/${created.json.registrationToken.id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await pomona.api('/api/v1/registration-tokens')).json.items[0].status).toBe('revoked');
    });
  });
});
