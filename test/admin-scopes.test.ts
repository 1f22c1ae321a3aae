/**
 * Admins scoped to a branch of the organization, through the admin API on SQLite and PostgreSQL:
 * what they see (their subtree), what they may change (only inside it, and never more than they
 * hold), the audit log they read, and the custom-enrollment role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';

describe.each(testDatabaseKinds)('admin scopes through the API (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    const g = { a: '', a1: '', b: '' };
    /** Anna administers branch A, signed in to the console (cookie + CSRF). */
    let anna: (path: string, init?: { method?: string; body?: unknown }) => Promise<{ status: number; json: any }>;
    let annaId = '';
    let annaCookie = '';

    beforeAll(async () => {
      pomona = await startTestServer(kind);
      g.a = (await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Branch A', groupId: 'BR-A' } })).json.id;
      g.a1 = (await pomona.api('/api/v1/organization-groups', { body: { parentId: g.a, name: 'A site', groupId: 'BR-A1' } })).json.id;
      g.b = (await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Branch B', groupId: 'BR-B' } })).json.id;
      const created = await pomona.api('/api/v1/admins', { body: { username: 'anna', password: PASSWORD, role: 'administrator', scope: 'BR-A' } });
      expect(created.json).toMatchObject({ username: 'anna', role: 'administrator', scopeGroupId: g.a });
      annaId = created.json.id;
      const login = await fetch(`${pomona.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'anna', password: PASSWORD }) });
      const { csrfToken, scopeGroupId } = await login.json();
      expect(scopeGroupId).toBe(g.a);
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      annaCookie = cookie;
      anna = async (path, init = {}) => {
        const method = init.method ?? (init.body ? 'POST' : 'GET');
        const res = await fetch(pomona.url + path, {
          method,
          headers: { cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken }), ...(init.body ? { 'content-type': 'application/json' } : {}) },
          body: init.body ? JSON.stringify(init.body) : undefined,
        });
        const text = await res.text();
        return { status: res.status, json: text ? JSON.parse(text) : null };
      };
    });
    afterAll(() => pomona?.close());

    const device = async (id: string, group: string) => {
      const now = Date.now();
      await pomona.ctx.database.db.insertInto('devices').values({ id, udid: `UDID-${id}`, serial_number: `SER-${id}`, model: null, model_name: null, product_name: null, device_name: null, os_version: null, build_version: null, imei: null, meid: null, info_json: null, created_at: now, updated_at: now, last_seen_at: null, ownership: null, organization_group_id: group }).execute();
    };

    it('sees and edits its own subtree of organization groups only', async () => {
      expect((await anna('/api/v1/organization-groups')).json.items.map((x: { name: string }) => x.name)).toEqual(['Branch A', 'A site']);
      expect((await anna('/api/v1/organization-groups', { body: { parentId: g.a1, name: 'A desk', groupId: 'BR-A1-D' } })).status).toBe(201);
      const outside = await anna('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Mine', groupId: 'MINE' } });
      expect(outside.status).toBe(403);
      expect(outside.json.message).toBe('the organization group "global" is outside your organization group scope, or does not exist');
      expect((await anna(`/api/v1/organization-groups/${g.b}`)).status).toBe(403);
      expect((await anna('/api/v1/organization-groups/global')).status).toBe(403);
      expect((await anna(`/api/v1/organization-groups/${g.b}`, { method: 'PATCH', body: { name: 'Taken' } })).status).toBe(403);
      expect((await anna(`/api/v1/organization-groups/${g.a1}/settings/enrollment.webEnrollmentAllowed`, { method: 'PUT', body: { value: true } })).status).toBe(200);
      expect((await anna(`/api/v1/organization-groups/${g.b}/settings/enrollment.webEnrollmentAllowed`, { method: 'PUT', body: { value: true } })).status).toBe(403);
      // moving a group out of the subtree, or a foreign group in, is refused
      expect((await anna(`/api/v1/organization-groups/${g.a1}/move`, { body: { parentId: g.b } })).status).toBe(403);
      expect((await anna(`/api/v1/organization-groups/${g.b}/move`, { body: { parentId: g.a } })).status).toBe(403);
      // a group an admin is scoped to is not deleted from under them
      const del = await pomona.api(`/api/v1/organization-groups/${g.a}`, { method: 'DELETE' });
      expect(del.status).toBe(409);
      expect(del.json.message).toMatch(/1 admin\(s\) scoped to it/);
    });

    it('moves a device only when both its group and the target are in scope', async () => {
      await device('dev-a1', g.a1);
      await device('dev-b', g.b);
      expect((await anna('/api/v1/devices/dev-a1/organization-group', { body: { groupId: g.a } })).status).toBe(204);
      expect((await anna('/api/v1/devices/dev-a1/organization-group', { body: { groupId: g.b } })).status).toBe(403);
      expect((await anna('/api/v1/devices/dev-b/organization-group', { body: { groupId: g.a } })).status).toBe(403);
      expect((await anna('/api/v1/devices/SER-dev-a1')).status).toBe(200);
      expect((await anna('/api/v1/devices/SER-dev-b')).status).toBe(403);
      const row = await pomona.ctx.database.db.selectFrom('devices').select('organization_group_id').where('id', '=', 'dev-b').executeTakeFirstOrThrow();
      expect(row.organization_group_id).toBe(g.b);
      // The device list and the lifecycle summary keep to the admin's subtree.
      const listed = (await anna('/api/v1/devices?limit=1000')).json;
      expect(listed.devices.map((d: { id: string }) => d.id)).toContain('dev-a1');
      expect(listed.devices.map((d: { id: string }) => d.id)).not.toContain('dev-b');
      const summary = (await anna('/api/v1/lifecycle/summary')).json.groups.map((x: { id: string }) => x.id);
      expect(summary).toContain(g.a);
      expect(summary).not.toContain(g.b);
    });

    it('narrows any request to one group of the subtree with X-Pomona-Group (the console switcher), never widens it', async () => {
      const as = async (group: string, path: string, who: 'admin' | 'anna') => {
        if (who === 'anna') {
          // anna's cookie session, plus the header
          const res = await fetch(pomona.url + path, { headers: { cookie: annaCookie, 'x-pomona-group': group } });
          return { status: res.status, json: await res.json() };
        }
        const res = await fetch(pomona.url + path, { headers: { authorization: `Bearer ${pomona.token}`, 'x-pomona-group': group } });
        return { status: res.status, json: await res.json() };
      };
      await device('dev-narrow-a1', g.a1);
      await device('dev-narrow-b', g.b);
      const global = await as(g.b, '/api/v1/devices?limit=1000', 'admin');
      expect(global.json.devices.map((d: { id: string }) => d.id)).toContain('dev-narrow-b');
      expect(global.json.devices.map((d: { id: string }) => d.id)).not.toContain('dev-narrow-a1');
      const who = (await as(g.a1, '/api/v1/session', 'anna')).json;
      expect(who).toMatchObject({ scopeGroupId: g.a1, role: 'administrator', permissions: ['read', 'operate', 'admin', 'enroll', 'custom-enrollment'] });
      expect((await as(g.a1, '/api/v1/devices/SER-dev-narrow-a1', 'anna')).status).toBe(200);
      // outside anna's scope, a typed Group ID instead of an id, or nothing at all: refused
      for (const group of [g.b, 'global', 'BR-A1', 'no-such-group']) {
        const refused = await as(group, '/api/v1/devices', 'anna');
        expect(refused.status, group).toBe(403);
        expect(refused.json.message).toContain('x-pomona-group');
      }
      // narrowed to A1, anna no longer reaches A itself
      expect((await as(g.a1, `/api/v1/organization-groups/${g.a}`, 'anna')).status).toBe(403);
    });

    it('keeps ABM servers, users, user groups, registration tokens and identity providers to their branch', async () => {
      expect((await anna('/api/v1/abm-servers', { body: { name: 'No group' } })).status).toBe(403); // no group = the whole tree
      const mine = await anna('/api/v1/abm-servers', { body: { name: 'A ABM', organizationGroupId: g.a1 } });
      expect(mine.status).toBe(201);
      await pomona.api('/api/v1/abm-servers', { body: { name: 'B ABM', organizationGroupId: g.b } });
      expect((await anna('/api/v1/abm-servers')).json.items.map((s: { name: string }) => s.name)).toEqual(['A ABM']);
      expect((await anna(`/api/v1/abm-servers/${mine.json.id}`, { method: 'PATCH', body: { organizationGroupId: null } })).status).toBe(403);
      expect((await anna(`/api/v1/abm-servers/${mine.json.id}`, { method: 'PATCH', body: { organizationGroupId: g.a } })).status).toBe(200);
      // A branch may narrow which of the server's enrollment profiles its admins see.
      const p1 = (await pomona.api(`/api/v1/abm-servers/${mine.json.id}/profiles`, { body: { settings: { apple: { profile_name: 'Shown' } } } })).json.id;
      await pomona.api(`/api/v1/abm-servers/${mine.json.id}/profiles`, { body: { settings: { apple: { profile_name: 'Hidden' } } } });
      expect((await pomona.api(`/api/v1/organization-groups/${g.a}/settings/abm.visibleProfiles`, { method: 'PUT', body: { value: [p1] } })).status).toBe(200);
      expect((await anna(`/api/v1/abm-servers/${mine.json.id}/profiles`)).json.items.map((x: { name: string }) => x.name)).toEqual(['Shown']);
      expect((await pomona.api(`/api/v1/abm-servers/${mine.json.id}/profiles`)).json.items).toHaveLength(2);

      expect((await anna('/api/v1/users', { body: { username: 'ann', password: 'ann has a passphrase', defaultGroupId: g.a1 } })).status).toBe(201);
      expect((await anna('/api/v1/users', { body: { username: 'bob', password: 'bob has a passphrase', defaultGroupId: g.b } })).status).toBe(403);

      const free = (await anna('/api/v1/user-groups', { body: { name: 'A staff' } })).json.id;
      const bGroup = (await pomona.api('/api/v1/user-groups', { body: { name: 'B staff' } })).json.id;
      await pomona.api(`/api/v1/user-groups/${bGroup}/mapping`, { method: 'PUT', body: { organizationGroupId: g.b } });
      expect((await anna('/api/v1/user-groups')).json.items.map((x: { name: string }) => x.name)).toEqual(['A staff']);
      expect((await anna(`/api/v1/user-groups/${free}/mapping`, { method: 'PUT', body: { organizationGroupId: g.a1 } })).status).toBe(204);
      expect((await anna(`/api/v1/user-groups/${bGroup}/mapping`, { method: 'PUT', body: { organizationGroupId: g.a } })).status).toBe(403);
      expect((await anna(`/api/v1/user-groups/${bGroup}/mapping`, { method: 'PUT', body: { organizationGroupId: null } })).status).toBe(403);

      expect((await anna('/api/v1/registration-tokens', { body: { groupId: g.a1 } })).status).toBe(201);
      expect((await anna('/api/v1/registration-tokens', { body: { groupId: g.b } })).status).toBe(403);
      await pomona.api('/api/v1/registration-tokens', { body: { groupId: g.b } });
      expect((await anna('/api/v1/registration-tokens')).json.items.map((t: { groupId: string }) => t.groupId)).toEqual([g.a1]);

      const cfg = (name: string) => ({ issuer: 'http://127.0.0.1:9', clientId: name, clientSecret: 'a client secret of some length' });
      await pomona.api('/api/v1/identity-providers', { body: { groupId: 'global', kind: 'oidc', name: 'Global SSO', config: cfg('g') } });
      expect((await anna('/api/v1/identity-providers', { body: { groupId: g.a, kind: 'oidc', name: 'A SSO', config: cfg('a') } })).status).toBe(201);
      expect((await anna('/api/v1/identity-providers', { body: { groupId: g.b, kind: 'oidc', name: 'B SSO', config: cfg('b') } })).status).toBe(403);
      // the global provider applies to A too, but it is not A's to see
      expect((await pomona.api(`/api/v1/organization-groups/${g.a1}/identity-providers`)).json.items.map((p: { name: string }) => p.name)).toEqual(['A SSO', 'Global SSO']);
      expect((await anna(`/api/v1/organization-groups/${g.a1}/identity-providers`)).json.items.map((p: { name: string }) => p.name)).toEqual(['A SSO']);
    });

    it('creates admins and API tokens no wider than itself, and not itself', async () => {
      const sam = await anna('/api/v1/admins', { body: { username: 'sam', password: PASSWORD, role: 'operator', scope: g.a1 } });
      expect(sam.status).toBe(201);
      const wide = await anna('/api/v1/admins', { body: { username: 'wide', password: PASSWORD, role: 'operator', scope: 'global' } });
      expect(wide.status).toBe(403);
      expect((await anna('/api/v1/admins', { body: { username: 'bee', password: PASSWORD, role: 'operator', scope: 'BR-B' } })).status).toBe(403);
      const dflt = await anna('/api/v1/admins', { body: { username: 'dee', password: PASSWORD, role: 'read-only' } });
      expect(dflt.json.scopeGroupId).toBe(g.a); // the creator's scope by default
      expect((await anna('/api/v1/admins')).json.items.map((x: { username: string }) => x.username)).toEqual(['anna', 'dee', 'sam']);
      const bAdmin = await pomona.api('/api/v1/admins', { body: { username: 'bert', password: PASSWORD, role: 'administrator', scope: g.b } });
      expect((await anna(`/api/v1/admins/${bAdmin.json.id}`, { method: 'DELETE' })).status).toBe(403);
      expect((await anna(`/api/v1/admins/${sam.json.id}`, { method: 'PATCH', body: { scope: g.b } })).status).toBe(403);
      expect((await anna(`/api/v1/admins/${sam.json.id}`, { method: 'PATCH', body: { role: 'read-only', scope: g.a } })).json).toMatchObject({ role: 'read-only', scopeGroupId: g.a });
      const self = await anna(`/api/v1/admins/${annaId}`, { method: 'PATCH', body: { scope: g.a1 } });
      expect(self.status).toBe(403);
      expect(self.json.message).toMatch(/your own role, scope or state/);
      expect((await anna(`/api/v1/admins/${annaId}`, { method: 'DELETE' })).status).toBe(403);
      expect((await anna(`/api/v1/admins/${dflt.json.id}`, { method: 'DELETE' })).status).toBe(204);

      const token = await anna('/api/v1/api-tokens', { body: { name: 'site script', role: 'operator', scope: 'br-a1' } });
      expect(token.status).toBe(201);
      expect(token.json).toMatchObject({ role: 'operator', scopeGroupId: g.a1 });
      const wider = await anna('/api/v1/api-tokens', { body: { name: 'wider', role: 'operator', scope: 'global' } });
      expect(wider.status).toBe(403);
      expect((await anna('/api/v1/api-tokens', { body: { name: 'x', role: 'operator', scope: 'NO-SUCH-GROUP' } })).status).toBe(403);
      // the token acts within its own scope
      const asToken = (path: string) => fetch(pomona.url + path, { headers: { authorization: `Bearer ${token.json.secret}` } }).then((r) => r.json());
      expect((await asToken('/api/v1/organization-groups')).items.map((x: { name: string }) => x.name)).toEqual(['A site', 'A desk']);
      const bToken = (await pomona.api('/api/v1/api-tokens', { body: { name: 'b script', role: 'read-only', scope: g.b } })).json;
      expect((await anna(`/api/v1/api-tokens/${bToken.prefix}`, { method: 'DELETE' })).status).toBe(403);
      expect((await anna(`/api/v1/api-tokens/${token.json.prefix}`, { method: 'DELETE' })).status).toBe(204);
    });

    it('reads the audit log of actors scoped inside its branch, as they were scoped when they acted', async () => {
      const { json } = await anna('/api/v1/audit-events?limit=500');
      const actors = new Set(json.events.map((e: { actor: string }) => e.actor));
      // only anna acted inside branch A so far: not a single event of the global admin…
      expect([...actors]).toEqual(['user:anna']);
      // …but anna's own work and refusals
      expect(json.events.filter((e: { outcome: string }) => e.outcome === 'denied').length).toBeGreaterThan(5);
      expect(json.events.some((e: { action: string }) => e.action === 'org.group.create')).toBe(true);
      const all = (await pomona.api('/api/v1/audit-events?limit=500')).json.events;
      expect(all.length).toBeGreaterThan(json.events.length);

      // sam (scoped inside A) acts, then moves to B: A still sees what sam did in A, B does not
      const samId = (await pomona.api('/api/v1/admins')).json.items.find((x: { username: string }) => x.username === 'sam').id;
      await pomona.api(`/api/v1/admins/${samId}`, { method: 'PATCH', body: { role: 'operator', password: 'sam has a new password' } });
      const samLogin = await fetch(`${pomona.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'sam', password: 'sam has a new password' }) });
      expect(samLogin.status).toBe(200);
      await pomona.api(`/api/v1/admins/${samId}`, { method: 'PATCH', body: { scope: g.b } });
      const annaSees = (await anna('/api/v1/audit-events?actor=user:sam')).json.events;
      expect(annaSees.map((e: { action: string }) => e.action)).toEqual(['session.login']);
      const bert = await fetch(`${pomona.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bert', password: PASSWORD }) });
      const bertCookie = bert.headers.getSetCookie()[0]!.split(';')[0]!;
      expect(bert.status).toBe(200);
      const bertSees = await (await fetch(`${pomona.url}/api/v1/audit-events?actor=user:sam`, { headers: { cookie: bertCookie } })).json();
      expect(bertSees.events).toEqual([]);
      const csv = await (await fetch(`${pomona.url}/api/v1/audit-events.csv?actor=user:sam`, { headers: { cookie: bertCookie } })).text();
      expect(csv.trim().split('\r\n')).toHaveLength(1); // the header alone
    });

    it('gives the custom-enrollment role nothing but its endpoint, and keeps enrollment links working', async () => {
      const { secret } = await pomona.ctx.tokens.create({ name: 'custom page', role: 'custom-enrollment' });
      const h = { authorization: `Bearer ${secret}` };
      expect((await fetch(`${pomona.url}/api/v1/enrollment-profile`, { headers: h })).status).toBe(403);
      expect((await fetch(`${pomona.url}/api/v1/devices`, { headers: h })).status).toBe(403);
      const link = await fetch(`${pomona.url}/enroll/profile?token=${secret}`);
      expect(link.status).toBe(200);
      expect(link.headers.get('content-type')).toBe('application/x-apple-aspen-config');
    });
  });
});
