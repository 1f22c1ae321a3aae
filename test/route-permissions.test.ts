/**
 * Every admin route declares a permission, and the auth layer enforces it: no credentials → 401,
 * a role below the permission → 403, the custom-enrollment role → 403 everywhere but its own
 * endpoint. Every route is also tried by an administrator scoped to a sibling branch, naming the
 * other branch's objects of every kind: 403, or an answer that shows nothing of that branch.
 * Routes are enumerated from the real app as it registers them.
 */
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

/** Routes that are open by design: device protocol, health, sign-in, API docs, enrollment downloads. */
const PUBLIC = [/^\/\.well-known\//, /^\/mdm/, /^\/scep/, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/api\/docs/, /^\/api\/v1\/session$/, /^\/api\/v1\/session\/sso\//, /^\/enroll\//, /^\/sso\//, /^\/$/, /^\/assets\// /* the console page and its files */];

const RANK: Record<string, number> = { read: 1, operate: 2, admin: 3, 'custom-enrollment': 3 };
const BELOW: Record<string, string> = { read: 'custom-enrollment', operate: 'read-only', admin: 'operator', 'custom-enrollment': 'operator' };

interface Route {
  method: string;
  url: string;
  permission?: string;
}

describe.each(testDatabaseKinds)('route permissions and scopes (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    const routes: Route[] = [];
    const tokens: Record<string, string> = {};
    /** the other branch's objects, by kind */
    const b: Record<string, string> = {};
    let branchA = '';
    let sibling = '';
    let siblingLabel = '';

    beforeAll(async () => {
      pomona = await startTestServer(kind);
      const { ctx } = pomona;
      // A second app on the same context, built only to see every route as it is registered.
      const probe = await buildApp(ctx, {
        logger: false,
        onRoute: (r: RouteOptions) => {
          for (const method of [r.method].flat()) {
            if (method === 'HEAD') continue;
            routes.push({ method, url: r.url, permission: (r.config as { permission?: string } | undefined)?.permission });
          }
        },
      });
      await probe.ready();
      await probe.close();
      for (const role of ['read-only', 'operator', 'custom-enrollment'] as const) {
        tokens[role] = (await ctx.tokens.create({ name: `probe-${role}`, role })).secret;
      }

      // Two branches; everything below lives in branch B, the prober is an administrator of branch A.
      branchA = (await ctx.groups.create({ parentId: 'global', name: 'Branch A', groupId: 'BRANCH-A' })).id;
      b.group = (await ctx.groups.create({ parentId: 'global', name: 'Branch B', groupId: 'BRANCH-B' })).id;
      b.child = (await ctx.groups.create({ parentId: b.group, name: 'B site', groupId: 'B-SITE' })).id;
      const db = ctx.database.db;
      const now = Date.now();
      b.device = 'dev-b';
      await db.insertInto('devices').values({ id: b.device, udid: 'UDID-B', serial_number: 'SERIAL-B', model: null, model_name: null, product_name: null, device_name: 'Branch B iPad', os_version: null, build_version: null, imei: null, meid: null, info_json: null, created_at: now, updated_at: now, last_seen_at: null, ownership: null, organization_group_id: b.child }).execute();
      await db.insertInto('enrollments').values({ id: 'UDID-B', device_id: b.device, parent_id: null, channel: 'device', type: 'Device', is_ade: 0, user_id: null, user_short_name: null, user_long_name: null, topic: null, push_magic: null, token_hex: null, token_invalid_at: null, unlock_token_enc: null, awaiting_configuration: 0, status: 'active', token_update_count: 1, authenticate_plist: null, token_update_plist: null, last_push_at: null, last_push_result: null, created_at: now, updated_at: now, last_seen_at: null, checked_out_at: null }).execute();
      b.command = 'cmd-b';
      await db.insertInto('commands').values({ uuid: b.command, request_type: 'DeviceInformation', plist: '<plist/>', created_at: now, created_by: 'test' }).execute();
      await db.insertInto('command_queue').values({ enrollment_id: 'UDID-B', command_uuid: b.command, status: 'Pending', active: 1, priority: 0, not_now_count: 0, not_now_at: null, result_plist: null, result_json: null, queued_at: now, sent_at: null, answered_at: null }).execute();
      b.server = (await ctx.abmServers.create({ name: 'Branch B ABM', organizationGroupId: b.group })).id;
      b.profile = 'profile-b';
      await db.insertInto('dep_profiles').values({ id: b.profile, abm_server_id: b.server, name: 'Branch B profile', is_default: 1, settings_json: '{"apple":{"profile_name":"B"}}', version: 1, apple_profile_uuid: null, apple_version: null, apple_defined_at: null, define_error: null, define_failed_at: null, created_at: now, updated_at: now }).execute();
      b.serial = 'ABMSERIAL-B';
      await db.insertInto('abm_devices').values({ serial_number: b.serial, abm_server_id: b.server, model: null, description: null, color: null, asset_tag: null, os: null, device_family: null, profile_status: 'empty', profile_uuid: null, profile_assign_time: null, profile_push_time: null, device_assigned_date: null, device_assigned_by: null, op_type: 'added', op_date: now, apple_json: '{}', first_seen_at: now, last_seen_at: now, removed_at: null, profile_id: null, assign_mode: 'auto', assign_started_at: null, assign_result: null, assign_error: null, assign_attempted_at: null, assign_retry_at: null, updated_at: now }).execute();
      b.idp = (await ctx.idps.create({ groupId: b.group, kind: 'oidc', name: 'Branch B SSO', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona-b', clientSecret: 'the branch B client secret' } })).id;
      b.user = (await ctx.users.createLocal({ username: 'bertha', password: 'bertha has a passphrase', defaultGroupId: b.child })).id;
      b.userGroup = (await ctx.users.createGroup('Branch B staff')).id;
      await ctx.users.mapGroup(b.userGroup, b.group);
      b.registrationToken = (await ctx.registrationTokens.create({ groupId: b.group, createdBy: 'test' })).view.id;
      const bScope = await ctx.groups.scopeOf(b.group);
      b.admin = (await ctx.admins.createUser({ username: 'branch-b-admin', password: 'a long enough password', role: 'administrator', scope: bScope })).id;
      b.apiToken = (await ctx.tokens.create({ name: 'branch-b-token', role: 'operator', scope: bScope })).token.id;

      const a = await ctx.tokens.create({ name: 'branch-a-admin', role: 'administrator', scope: await ctx.groups.scopeOf(branchA) });
      sibling = a.secret;
      siblingLabel = `token:${a.token.prefix}`;
    });
    afterAll(() => pomona?.close());

    const call = (method: string, url: string, token?: string, payload: unknown = {}) =>
      fetch(pomona.url + url, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
        body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(payload),
      });
    const placeholder = (url: string) => url.replace(/:[A-Za-z]+/g, 'x');

    /** The route's path with the other branch's object in each parameter. */
    function aimedAtB(url: string): string {
      const byPrefix: [RegExp, string][] = [
        [/\/organization-groups\/:id/, b.group], [/\/devices\/:id/, b.device], [/\/abm-servers\/:id/, b.server], [/\/dep-profiles\/:id/, b.profile],
        [/\/identity-providers\/:id/, b.idp], [/\/users\/:id/, b.user], [/\/user-groups\/:id/, b.userGroup], [/\/registration-tokens\/:id/, b.registrationToken],
        [/\/admins\/:id/, b.admin], [/\/api-tokens\/:id/, b.apiToken],
      ];
      let out = url;
      for (const [re, id] of byPrefix) if (re.test(out)) out = out.replace(':id', id);
      return out.replace(':serial', b.serial).replace(':uuid', b.command).replace(':key', 'enrollment.webEnrollmentAllowed').replace(/:[A-Za-z]+/g, 'x');
    }

    it('finds the admin API', () => {
      expect(routes.filter((r) => r.url.startsWith('/api/v1/')).length).toBeGreaterThan(40);
    });

    it('has a permission on every route that is not public by design', () => {
      const missing = routes.filter((r) => !r.permission && !PUBLIC.some((p) => p.test(r.url)));
      expect(missing).toEqual([]);
    });

    it('answers 401 without credentials and 403 to a role below the permission, on every admin route', async () => {
      const wrong: string[] = [];
      for (const r of routes.filter((x) => x.permission)) {
        const anonymous = (await call(r.method, placeholder(r.url))).status;
        if (anonymous !== 401) wrong.push(`${r.method} ${r.url} without credentials → ${anonymous}`);
        const below = BELOW[r.permission!];
        if (below && RANK[r.permission!]) {
          const status = (await call(r.method, placeholder(r.url), tokens[below])).status;
          if (status !== 403) wrong.push(`${r.method} ${r.url} as ${below} → ${status}`);
        }
      }
      expect(wrong).toEqual([]);
    }, 60_000);

    it('gives the custom-enrollment role 403 on every route but its own endpoint', async () => {
      const wrong: string[] = [];
      for (const r of routes.filter((x) => x.permission)) {
        const status = (await call(r.method, placeholder(r.url), tokens['custom-enrollment'])).status;
        const own = r.permission === 'custom-enrollment';
        if (own ? status === 401 || status === 403 : status !== 403) wrong.push(`${r.method} ${r.url} (${r.permission}) → ${status}`);
      }
      expect(wrong).toEqual([]);
    }, 60_000);

    it('refuses an administrator of a sibling branch every object of the other branch, or shows it nothing of it', async () => {
      const body = {
        groupId: b.group, parentId: b.group, organizationGroupId: b.group, defaultGroupId: b.child, scope: b.group, serverId: b.server, profileId: b.profile,
        devices: [b.device], serials: [b.serial], userId: b.user, name: 'probe', username: 'probe-admin', password: 'a long enough password', role: 'read-only',
      };
      // what must never show: the other branch's ids and names
      const secrets = [...Object.values(b), 'Branch B', 'bertha', 'branch-b-', 'SERIAL-B', 'UDID-B'];
      const wrong: string[] = [];
      const kinds = new Set<string>();
      for (const r of routes.filter((x) => x.permission && x.permission !== 'custom-enrollment')) {
        const url = aimedAtB(r.url);
        const res = await call(r.method, url, sibling, body);
        const text = await res.text();
        if (res.status === 403) {
          kinds.add(r.url);
          continue;
        }
        if (res.status >= 300) {
          wrong.push(`${r.method} ${url} → ${res.status} ${text.slice(0, 200)}`);
          continue;
        }
        // the audit log shows this prober its own refusals (which name what it asked for); nothing else may
        const visible = r.url.startsWith('/api/v1/audit-events')
          ? (r.url.endsWith('.csv') ? text.split('\r\n').slice(1).filter((l) => !l.includes(siblingLabel)) : (JSON.parse(text).events as { actor: string }[]).filter((e) => e.actor !== siblingLabel)).map((x) => JSON.stringify(x)).join('\n')
          : text;
        const leaked = secrets.filter((s) => visible.includes(s));
        if (leaked.length) wrong.push(`${r.method} ${url} → ${res.status} shows ${leaked.join(', ')}`);
      }
      expect(wrong).toEqual([]);
      // a representative of every kind of object was refused
      for (const url of [
        '/api/v1/organization-groups/:id', '/api/v1/organization-groups/:id/settings/:key', '/api/v1/devices/:id', '/api/v1/devices/:id/organization-group', '/api/v1/commands',
        '/api/v1/commands/:uuid', '/api/v1/abm-servers/:id', '/api/v1/dep-profiles/:id', '/api/v1/abm-devices/:serial', '/api/v1/abm-devices/assign',
        '/api/v1/identity-providers/:id', '/api/v1/identity-providers', '/api/v1/users/:id', '/api/v1/users', '/api/v1/user-groups/:id/mapping', '/api/v1/registration-tokens',
        '/api/v1/registration-tokens/:id', '/api/v1/admins/:id', '/api/v1/admins', '/api/v1/api-tokens/:id', '/api/v1/api-tokens',
      ]) {
        expect(kinds, url).toContain(url);
      }
    }, 120_000);

    it('lets the sibling administrator work in its own branch', async () => {
      const groups = await (await call('GET', '/api/v1/organization-groups', sibling)).json();
      expect(groups.items.map((g: { id: string }) => g.id)).toEqual([branchA]);
      const created = await call('POST', '/api/v1/organization-groups', sibling, { parentId: branchA, name: 'A site', groupId: 'A-SITE' });
      expect(created.status).toBe(201);
      const token = await call('POST', '/api/v1/api-tokens', sibling, { name: 'a-site-script', role: 'operator', scope: 'A-SITE' });
      expect(token.status).toBe(201);
      expect((await call('GET', '/api/v1/api-tokens', sibling).then((r) => r.json())).tokens.map((t: { name: string }) => t.name).sort()).toEqual(['a-site-script', 'branch-a-admin']);
    });
  });
});
