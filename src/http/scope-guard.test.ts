import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AdminService } from '../org/admin-service.js';
import { AdminStore } from '../org/admin-store.js';
import { ApiTokenService } from '../org/api-token-service.js';
import { ApiTokenStore } from '../org/api-token-store.js';
import { AuditService } from '../org/audit-service.js';
import { AuditStore } from '../org/audit-store.js';
import { OrgGroupService } from '../org/org-group-service.js';
import { OrgGroupStore } from '../org/org-group-store.js';
import { ScopeStore } from '../org/scope-store.js';
import { registerAuth, SESSION_COOKIE } from './auth.js';
import { body, param, target } from './scope-guard.js';

describe.each(testDatabaseKinds)('scope guard (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let audit: AuditService;
    const ids = { a: '', a1: '', b: '' };
    const as: Record<'global' | 'a' | 'b', Record<string, string>> = { global: {}, a: {}, b: {} };

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      const admins = new AdminService(new AdminStore(db.db), { scryptParams: { N: 1024, r: 8, p: 1 } });
      const tokens = new ApiTokenService(new ApiTokenStore(db.db));
      audit = new AuditService(new AuditStore(db.db));
      ids.a = (await groups.create({ parentId: 'global', name: 'Branch A', groupId: 'BRANCH-A' })).id;
      ids.a1 = (await groups.create({ parentId: ids.a, name: 'A site', groupId: 'A-SITE' })).id;
      ids.b = (await groups.create({ parentId: 'global', name: 'Branch B', groupId: 'BRANCH-B' })).id;
      const now = Date.now();
      const device = (id: string, group: string) => ({ id, udid: `UDID-${id}`, serial_number: `SER-${id}`, model: null, model_name: null, product_name: null, device_name: null, os_version: null, build_version: null, imei: null, meid: null, info_json: null, created_at: now, updated_at: now, last_seen_at: null, ownership: null, organization_group_id: group });
      await db.db.insertInto('devices').values([device('dev-a1', ids.a1), device('dev-b', ids.b)]).execute();
      await db.db.insertInto('user_groups').values({ id: 'ug-free', source: 'local', name: 'unmapped', created_at: now }).execute();

      as.global = { authorization: `Bearer ${(await tokens.create({ name: 'global', role: 'administrator' })).secret}` };
      as.a = { authorization: `Bearer ${(await tokens.create({ name: 'a', role: 'administrator', scope: await groups.scopeOf(ids.a) })).secret}` };
      const bAdmin = await admins.createUser({ username: 'bea', password: 'a long enough password', role: 'operator', scope: await groups.scopeOf('BRANCH-B') });
      as.b = { cookie: `${SESSION_COOKIE}=${(await admins.createSession(bAdmin.id)).sessionId}` };

      const scopes = new ScopeStore(db.db);
      app = Fastify();
      registerAuth(app, { admins, tokens, audit, place: (k, i) => scopes.place(k, i) });
      const ok = async () => ({ ok: true });
      app.get('/g/:id', { config: { permission: 'read', scope: [target('group', param('id'))] } }, ok);
      app.get('/ug/:id', { config: { permission: 'read', scope: [target('user-group', param('id'))] } }, ok);
      app.put('/move/:id', {
        config: { permission: 'read', scope: [target('device', param('id')), target('group', body('groupId'))] },
        schema: { body: Type.Object({ groupId: Type.String(), required: Type.String() }) },
      }, ok);
      app.post('/many', { config: { permission: 'read', scope: [target('device', body('devices'))] } }, ok);
      app.get('/filtered', { config: { permission: 'read', scope: 'filtered' } }, async (req) => ({ scope: req.actor!.scope.groupId }));
      app.get('/none', { config: { permission: 'read', scope: 'none' } }, ok);
      app.get('/undeclared', { config: { permission: 'read' } }, ok);
      // a device route, declared as acting on the device in its path
      app.get('/api/v1/devices/:id', { config: { permission: 'read', scope: [target('device', param('id'))] } }, ok);
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await db?.dispose();
    });

    const get = (url: string, headers: Record<string, string>) => app.inject({ url, headers });

    it('lets an actor reach groups in its subtree, by id or Group ID, and nothing beside or above it', async () => {
      expect((await get(`/g/${ids.a}`, as.a)).statusCode).toBe(200);
      expect((await get(`/g/${ids.a1}`, as.a)).statusCode).toBe(200);
      expect((await get('/g/a-site', as.a)).statusCode).toBe(200);
      const sibling = await get(`/g/${ids.b}`, as.a);
      expect(sibling.statusCode).toBe(403);
      expect(sibling.json()).toEqual({ error: 'forbidden', message: `the organization group "${ids.b}" is outside your organization group scope, or does not exist` });
      expect((await get('/g/global', as.a)).statusCode).toBe(403);
      expect((await get('/g/BRANCH-B', as.a)).statusCode).toBe(403);
      // unknown ids are refused too: a scoped admin cannot tell "elsewhere" from "nowhere"
      expect((await get('/g/no-such-group', as.a)).statusCode).toBe(403);
      // a global actor is never refused (the handler answers for unknown ids)
      for (const id of [ids.a, ids.b, 'global', 'no-such-group']) expect((await get(`/g/${id}`, as.global)).statusCode).toBe(200);
    });

    it('takes the scope of a cookie session from its admin', async () => {
      expect((await get(`/g/${ids.b}`, as.b)).statusCode).toBe(200);
      expect((await get(`/g/${ids.a}`, as.b)).statusCode).toBe(403);
    });

    it('checks every target, in the path and in the body, before the body is validated', async () => {
      const put = (id: string, payload: object, headers = as.a) => app.inject({ method: 'PUT', url: `/move/${id}`, headers, payload });
      expect((await put('dev-a1', { groupId: ids.a, required: 'x' })).statusCode).toBe(200);
      expect((await put('SER-dev-a1', { groupId: ids.a1, required: 'x' })).statusCode).toBe(200);
      expect((await put('dev-a1', { groupId: ids.b, required: 'x' })).statusCode).toBe(403); // the target is elsewhere
      expect((await put('dev-b', { groupId: ids.a, required: 'x' })).statusCode).toBe(403); // the device is elsewhere
      const invalid = await put('dev-a1', { groupId: ids.b });
      expect(invalid.statusCode).toBe(403);
      expect((await put('dev-a1', { groupId: ids.a })).statusCode).toBe(400); // in scope: then validated
      const many = (devices: unknown) => app.inject({ method: 'POST', url: '/many', headers: as.a, payload: { devices } });
      expect((await many(['dev-a1', 'UDID-dev-a1'])).statusCode).toBe(200);
      expect((await many(['dev-a1', 'UDID-dev-b'])).statusCode).toBe(403);
      expect((await many('dev-b')).statusCode).toBe(403);
      expect((await many([1, {}])).statusCode).toBe(200); // nothing that names anything: the handler decides
    });

    it('lets anyone use what belongs to no group (a user group mapped nowhere)', async () => {
      expect((await get('/ug/ug-free', as.a)).statusCode).toBe(200);
      await db.db.insertInto('user_group_mappings').values({ user_group_id: 'ug-free', organization_group_id: ids.b, rank: 1, created_at: 0 }).execute();
      expect((await get('/ug/ug-free', as.a)).statusCode).toBe(403);
      expect((await get('/ug/ug-free', as.b)).statusCode).toBe(200);
    });

    it('opens "filtered" and "none" routes to scoped actors, and undeclared ones to global actors only', async () => {
      expect((await get('/filtered', as.a)).json()).toEqual({ scope: ids.a });
      expect((await get('/none', as.a)).statusCode).toBe(200);
      const undeclared = await get('/undeclared', as.a);
      expect(undeclared.statusCode).toBe(403);
      expect(undeclared.json().message).toMatch(/only to admins whose scope is the whole organization/);
      expect((await get('/undeclared', as.global)).statusCode).toBe(200);
    });

    it('finds the group of a device named by id or UDID', async () => {
      expect((await get('/api/v1/devices/dev-a1', as.a)).statusCode).toBe(200);
      expect((await get('/api/v1/devices/UDID-dev-b', as.a)).statusCode).toBe(403);
      expect((await get('/api/v1/devices/UDID-dev-b', as.b)).statusCode).toBe(200);
    });

    it('audits each refusal as denied, with the kind and id', async () => {
      const since = Date.now();
      await get(`/g/${ids.b}`, as.a);
      const { events } = await audit.list({ outcome: 'denied', since });
      expect(events[0]).toMatchObject({ action: 'api.request', target: 'GET /g/:id', actor: expect.stringMatching(/^token:pom_/), details: { reason: 'scope', kind: 'group', id: ids.b } });
    });
  });
});
