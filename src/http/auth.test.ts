import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AdminService } from '../org/admin-service.js';
import { AdminStore } from '../org/admin-store.js';
import { ApiTokenService } from '../org/api-token-service.js';
import { ApiTokenStore } from '../org/api-token-store.js';
import { AuditService } from '../org/audit-service.js';
import { AuditStore } from '../org/audit-store.js';
import { ScopeStore } from '../org/scope-store.js';
import { parseCookies, registerAuth, roleAllows, SESSION_COOKIE, type Permission } from './auth.js';

const PERMISSIONS: Permission[] = ['read', 'operate', 'admin', 'enroll', 'custom-enrollment'];
const ALLOWED: Record<string, Permission[]> = {
  administrator: ['read', 'operate', 'admin', 'enroll', 'custom-enrollment'],
  operator: ['read', 'operate', 'enroll'],
  'read-only': ['read', 'enroll'],
  'custom-enrollment': ['custom-enrollment'],
};

describe('roleAllows and parseCookies', () => {
  it('orders roles administrator > operator > read-only; custom-enrollment may only call its endpoint', () => {
    for (const [role, allowed] of Object.entries(ALLOWED)) {
      for (const p of PERMISSIONS) expect(roleAllows(role, p), `${role} ${p}`).toBe(allowed.includes(p));
    }
    expect(roleAllows('root', 'read')).toBe(false);
    expect(roleAllows('root', 'enroll')).toBe(false);
    expect(roleAllows('enrollment', 'enroll')).toBe(false); // the old name is gone (migration 0006)
  });

  it('parses cookie headers leniently, first occurrence wins', () => {
    const c = parseCookies(' a=1; pomona_session="x%2By"; a=2; junk; bad=%E0%A4%A; =v');
    expect(Object.fromEntries(c)).toEqual({ a: '1', pomona_session: 'x+y' });
    expect(parseCookies(undefined).size).toBe(0);
  });
});

describe.each(testDatabaseKinds)('auth hook (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let t = 1_700_000_000_000;
    const now = () => t;
    let admins: AdminService;
    let tokens: ApiTokenService;
    let audit: AuditService;
    /** role → credentials as request headers */
    const sessions: Record<string, { cookie: string; csrf: string; sessionId: string }> = {};
    const bearer: Record<string, string> = {};

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      admins = new AdminService(new AdminStore(db.db), { now, scryptParams: { N: 1024, r: 8, p: 1 } });
      tokens = new ApiTokenService(new ApiTokenStore(db.db), { now });
      audit = new AuditService(new AuditStore(db.db), { now });
      for (const role of ['administrator', 'operator', 'read-only']) {
        const user = await admins.createUser({ username: `u-${role}`, password: 'a long enough password', role });
        const s = await admins.createSession(user.id);
        sessions[role] = { cookie: `other=1; ${SESSION_COOKIE}=${s.sessionId}`, csrf: s.csrfToken, sessionId: s.sessionId };
      }
      for (const role of ['administrator', 'operator', 'read-only', 'custom-enrollment']) {
        bearer[role] = (await tokens.create({ name: `t-${role}`, role })).secret;
      }

      app = Fastify();
      const scopes = new ScopeStore(db.db);
      registerAuth(app, { admins, tokens, audit, place: (kind, ids) => scopes.place(kind, ids) });
      for (const permission of PERMISSIONS) {
        app.get(`/t/${permission}`, { config: { permission } }, async (req) => req.actor);
        app.post(`/t/${permission}`, { config: { permission } }, async (req) => req.actor);
      }
      app.get('/t/public', async (req) => ({ actor: req.actor }));
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await db?.dispose();
    });

    it('leaves routes without a permission alone', async () => {
      const res = await app.inject({ url: '/t/public' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ actor: null });
    });

    it('answers 401 with WWW-Authenticate for missing or invalid credentials', async () => {
      const cases: Record<string, string>[] = [
        {},
        { authorization: 'Bearer nope' },
        { authorization: `Bearer pom_${'A'.repeat(43)}` },
        { authorization: 'Basic dXNlcjpwYXNz' },
        { cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` },
        { cookie: 'unrelated=1' },
      ];
      for (const headers of cases) {
        const res = await app.inject({ url: '/t/read', headers });
        expect(res.statusCode, JSON.stringify(headers)).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.json()).toMatchObject({ error: 'unauthorized', message: expect.any(String) });
      }
    });

    it('clears a stale session cookie', async () => {
      const res = await app.inject({ url: '/t/read', headers: { cookie: `${SESSION_COOKIE}=${'B'.repeat(43)}` } });
      expect(res.statusCode).toBe(401);
      expect(String(res.headers['set-cookie'])).toMatch(/^pomona_session=; .*Max-Age=0/);
    });

    it('gives 200 or 403 for every role, permission and credential kind', async () => {
      for (const [role, allowed] of Object.entries(ALLOWED)) {
        const creds: { kind: string; headers: Record<string, string> }[] = [{ kind: 'token', headers: { authorization: `Bearer ${bearer[role]}` } }];
        if (sessions[role]) creds.push({ kind: 'user', headers: { cookie: sessions[role].cookie } });
        for (const { kind: credKind, headers } of creds) {
          for (const permission of PERMISSIONS) {
            const res = await app.inject({ url: `/t/${permission}`, headers });
            const label = `${role} via ${credKind} on ${permission}`;
            if (allowed.includes(permission)) {
              expect(res.statusCode, label).toBe(200);
              expect(res.json(), label).toMatchObject({ kind: credKind, role, name: `${credKind === 'user' ? 'u' : 't'}-${role}` });
            } else {
              expect(res.statusCode, label).toBe(403);
              expect(res.json(), label).toMatchObject({ error: 'forbidden', message: expect.stringContaining(permission) });
            }
          }
        }
      }
    });

    it('audits refusals with the actor, the route and the reason', async () => {
      t += 1;
      await app.inject({ url: '/t/admin', headers: { cookie: sessions.operator.cookie } });
      const { events } = await audit.list({ outcome: 'denied', actor: 'user:u-operator', since: t });
      expect(events[0]).toMatchObject({
        action: 'api.request',
        target: 'GET /t/admin',
        source: '127.0.0.1',
        details: { reason: 'role', role: 'operator', permission: 'admin' },
      });
      const tokenEvents = await audit.list({ outcome: 'denied', action: 'api.request' });
      expect(tokenEvents.events.some((e) => e.actor.startsWith('token:pom_'))).toBe(true);
    });

    it('requires a matching X-CSRF-Token for cookie-authenticated unsafe methods only', async () => {
      const op = sessions.operator;
      const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/t/operate', headers });
      t += 1;
      const missing = await post({ cookie: op.cookie });
      expect(missing.statusCode).toBe(403);
      expect(missing.json().message).toMatch(/X-CSRF-Token/);
      expect((await post({ cookie: op.cookie, 'x-csrf-token': 'wrong' })).statusCode).toBe(403);
      expect((await post({ cookie: op.cookie, 'x-csrf-token': sessions.administrator.csrf })).statusCode).toBe(403);
      expect((await post({ cookie: op.cookie, 'x-csrf-token': op.csrf })).statusCode).toBe(200);
      expect((await app.inject({ url: '/t/operate', headers: { cookie: op.cookie } })).statusCode).toBe(200);
      expect((await post({ authorization: `Bearer ${bearer.operator}` })).statusCode).toBe(200);
      const { events } = await audit.list({ outcome: 'denied', actor: 'user:u-operator', since: t });
      expect(events.filter((e) => e.details?.reason === 'csrf')).toHaveLength(3);
    });

    it('prefers the Authorization header over the cookie and refuses when it is bad', async () => {
      const res = await app.inject({ url: '/t/read', headers: { cookie: sessions.administrator.cookie, authorization: 'Bearer bad' } });
      expect(res.statusCode).toBe(401);
    });

    it('refuses revoked and expired tokens, expired sessions and disabled users', async () => {
      const revoked = await tokens.create({ name: 'soon revoked', role: 'administrator' });
      const headers = { authorization: `Bearer ${revoked.secret}` };
      expect((await app.inject({ url: '/t/read', headers })).statusCode).toBe(200);
      await tokens.revoke(revoked.token.prefix);
      expect((await app.inject({ url: '/t/read', headers })).statusCode).toBe(401);

      const expiring = await tokens.create({ name: 'expiring', role: 'administrator', expiresAt: t + 60_000 });
      const eh = { authorization: `Bearer ${expiring.secret}` };
      expect((await app.inject({ url: '/t/read', headers: eh })).statusCode).toBe(200);

      const ro = (await admins.listUsers()).find((u) => u.role === 'read-only')!;
      await db.db.updateTable('admin_users').set({ disabled_at: t }).where('id', '=', ro.id).execute();
      expect((await app.inject({ url: '/t/read', headers: { cookie: sessions['read-only'].cookie } })).statusCode).toBe(401);

      t += 60_000;
      expect((await app.inject({ url: '/t/read', headers: eh })).statusCode).toBe(401);
      expect((await app.inject({ url: '/t/read', headers: { cookie: sessions.operator.cookie } })).statusCode).toBe(200);
      t += 12 * 60 * 60 * 1000;
      expect((await app.inject({ url: '/t/read', headers: { cookie: sessions.operator.cookie } })).statusCode).toBe(401);
      expect((await app.inject({ url: '/t/read', headers: { authorization: `Bearer ${bearer.operator}` } })).statusCode).toBe(200);
    });
  });
});
