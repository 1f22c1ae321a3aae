import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { registerAuth } from '../http/auth.js';
import { AdminService } from './admin-service.js';
import { AdminStore } from './admin-store.js';
import { ApiTokenService } from './api-token-service.js';
import { ApiTokenStore } from './api-token-store.js';
import { AuditService } from './audit-service.js';
import { AuditStore } from './audit-store.js';
import { OrgGroupService } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import { ScopeStore } from './scope-store.js';
import { apiTokenRoutes, auditRoutes, LoginThrottle, sessionRoutes } from './session-routes.js';

const PASSWORD = 'a long enough password';

describe('LoginThrottle', () => {
  it('blocks after 5 failures within 5 minutes and says how long to wait', () => {
    let t = 0;
    const th = new LoginThrottle({ now: () => t });
    for (let i = 0; i < 5; i++) {
      expect(th.retryAfterMs(['k'])).toBe(0);
      th.recordFailure(['k']);
      t += 10_000;
    }
    expect(th.retryAfterMs(['k'])).toBe(300_000 - 50_000);
    expect(th.retryAfterMs(['other'])).toBe(0);
    t = 300_000;
    expect(th.retryAfterMs(['k'])).toBe(0);
    th.recordFailure(['k']);
    th.reset(['k']);
    expect(th.retryAfterMs(['k'])).toBe(0);
  });

  it('tracks a bounded number of keys', () => {
    const th = new LoginThrottle({ maxKeys: 3, maxFailures: 1 });
    for (const k of ['a', 'b', 'c', 'd']) th.recordFailure([k]);
    expect(th.retryAfterMs(['a'])).toBe(0);
    expect(th.retryAfterMs(['d'])).toBeGreaterThan(0);
  });
});

describe.each(testDatabaseKinds)('session, audit and API token routes (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let t = 1_700_000_000_000;
    const now = () => t;
    let audit: AuditService;
    let tokens: ApiTokenService;
    let adminToken: string;

    const login = (username: string, password: string, remoteAddress = '10.0.0.1', headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password }, remoteAddress, headers });
    const cookieOf = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie']).split(';')[0];
    const asAdmin = { authorization: '' };

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      const admins = new AdminService(new AdminStore(db.db), { now, scryptParams: { N: 1024, r: 8, p: 1 } });
      tokens = new ApiTokenService(new ApiTokenStore(db.db), { now });
      audit = new AuditService(new AuditStore(db.db), { now });
      await admins.createUser({ username: 'alice', password: PASSWORD, role: 'administrator' });
      await admins.createUser({ username: 'oscar', password: PASSWORD, role: 'operator' });
      adminToken = (await tokens.create({ name: 'root script', role: 'administrator' })).secret;
      asAdmin.authorization = `Bearer ${adminToken}`;

      app = Fastify({ trustProxy: '127.0.0.1' });
      const scopes = new ScopeStore(db.db);
      registerAuth(app, { admins, tokens, audit, place: (kind, ids) => scopes.place(kind, ids) });
      await app.register(sessionRoutes, { admins, audit, throttle: new LoginThrottle({ now }) });
      await app.register(auditRoutes, { audit });
      await app.register(apiTokenRoutes, { tokens, audit, groups: new OrgGroupService(new OrgGroupStore(db.db)) });
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await db?.dispose();
    });

    it('logs in: sets a strict HttpOnly cookie and returns the CSRF token; who-am-I and logout work', async () => {
      const res = await login('Alice', PASSWORD);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toEqual({ username: 'alice', role: 'administrator', scopeGroupId: 'global', csrfToken: expect.any(String) });
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/^pomona_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      const cookie = cookieOf(res);

      const me = await app.inject({ url: '/api/v1/session', headers: { cookie } });
      expect(me.json()).toEqual({ kind: 'user', name: 'alice', role: 'administrator', scopeGroupId: 'global', permissions: ['read', 'operate', 'admin', 'enroll', 'custom-enrollment'], csrfToken: body.csrfToken });
      const meToken = await app.inject({ url: '/api/v1/session', headers: asAdmin });
      expect(meToken.json()).toEqual({ kind: 'token', name: 'root script', role: 'administrator', scopeGroupId: 'global', permissions: ['read', 'operate', 'admin', 'enroll', 'custom-enrollment'] });

      expect((await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } })).statusCode).toBe(403);
      const out = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie, 'x-csrf-token': body.csrfToken } });
      expect(out.statusCode).toBe(204);
      expect(String(out.headers['set-cookie'])).toMatch(/^pomona_session=; .*Max-Age=0/);
      expect((await app.inject({ url: '/api/v1/session', headers: { cookie } })).statusCode).toBe(401);

      const { events } = await audit.list({ target: 'user:alice', action: 'session.login' });
      expect(events[0]).toMatchObject({ actor: 'user:alice', outcome: 'success', source: '10.0.0.1' });
      expect((await audit.list({ action: 'session.logout' })).events[0]).toMatchObject({ actor: 'user:alice' });
    });

    it('never honours a session cookie set before sign-in (no session fixation)', async () => {
      t += 10 * 60_000;
      const first = await login('alice', PASSWORD, '10.4.0.1');
      const planted = cookieOf(first);
      const again = await login('alice', PASSWORD, '10.4.0.1', { cookie: planted });
      const fresh = cookieOf(again);
      expect(fresh).not.toBe(planted);
      expect((await app.inject({ url: '/api/v1/session', headers: { cookie: planted } })).statusCode).toBe(401);
      expect((await app.inject({ url: '/api/v1/session', headers: { cookie: fresh } })).statusCode).toBe(200);
      // an id the server never issued is not adopted either
      const made = await login('alice', PASSWORD, '10.4.0.1', { cookie: `pomona_session=${'F'.repeat(43)}` });
      expect(cookieOf(made)).not.toBe(`pomona_session=${'F'.repeat(43)}`);
    });

    it('marks the cookie Secure over https and behind a trusted proxy that says https', async () => {
      const viaProxy = await login('alice', PASSWORD, '127.0.0.1', { 'x-forwarded-proto': 'https' });
      expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure$/);
      const untrusted = await login('alice', PASSWORD, '10.9.9.9', { 'x-forwarded-proto': 'https' });
      expect(String(untrusted.headers['set-cookie'])).not.toMatch(/Secure/);
    });

    it('refuses bad credentials with 401 and audits the failure; validates the body', async () => {
      const res = await login('alice', 'wrong password!!', '10.0.0.2');
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'unauthorized', message: 'invalid username or password' });
      expect(res.headers['set-cookie']).toBeUndefined();
      const { events } = await audit.list({ outcome: 'failure', action: 'session.login' });
      expect(events[0]).toMatchObject({ actor: 'anonymous', target: 'user:alice', source: '10.0.0.2' });
      expect(JSON.stringify(events)).not.toContain('wrong password');
      const bad = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'alice' } });
      expect(bad.statusCode).toBe(400);
    });

    it('rate-limits failures per username, across addresses, with Retry-After', async () => {
      t += 10 * 60_000; // forget earlier failures
      for (let i = 0; i < 5; i++) expect((await login('oscar', 'wrong password!!', `10.1.0.${i}`)).statusCode).toBe(401);
      const blocked = await login('oscar', PASSWORD, '10.1.1.1');
      expect(blocked.statusCode).toBe(429);
      expect(blocked.headers['retry-after']).toBe('300');
      expect(blocked.json()).toMatchObject({ error: 'too_many_requests' });
      expect((await audit.list({ outcome: 'denied', action: 'session.login' })).events[0]).toMatchObject({ details: { reason: 'rate-limited' } });
      t += 5 * 60_000;
      expect((await login('oscar', PASSWORD, '10.1.1.1')).statusCode).toBe(200);
    });

    it('rate-limits failures per source address, across usernames', async () => {
      t += 10 * 60_000;
      for (let i = 0; i < 5; i++) expect((await login(`guess${i}`, 'wrong password!!', '10.2.0.1')).statusCode).toBe(401);
      expect((await login('alice', PASSWORD, '10.2.0.1')).statusCode).toBe(429);
      expect((await login('alice', PASSWORD, '10.2.0.2')).statusCode).toBe(200);
    });

    it('lists audit events with filters and a cursor, for administrators only', async () => {
      const all = await app.inject({ url: '/api/v1/audit-events?action=session.login&limit=2', headers: asAdmin });
      expect(all.statusCode).toBe(200);
      const page = all.json();
      expect(page.events).toHaveLength(2);
      expect(page.events[0].id).toBeGreaterThan(page.events[1].id);
      const next = await app.inject({ url: `/api/v1/audit-events?action=session.login&limit=2&cursor=${page.nextCursor}`, headers: asAdmin });
      expect(next.json().events[0].id).toBeLessThan(page.events[1].id);
      const failures = await app.inject({ url: '/api/v1/audit-events?outcome=failure&actor=anonymous', headers: asAdmin });
      expect(failures.json().events.every((e: { outcome: string }) => e.outcome === 'failure')).toBe(true);
      expect((await app.inject({ url: '/api/v1/audit-events?outcome=maybe', headers: asAdmin })).statusCode).toBe(400);
      const limited = await app.inject({ url: '/api/v1/audit-events?outcome=denied&action=session.login&limit=1', headers: asAdmin });
      expect(limited.json().events[0]).toMatchObject({ target: 'user:alice', source: '10.2.0.1', details: { reason: 'rate-limited' } });

      const op = await tokens.create({ name: 'op', role: 'operator' });
      const denied = await app.inject({ url: '/api/v1/audit-events', headers: { authorization: `Bearer ${op.secret}` } });
      expect(denied.statusCode).toBe(403);
      expect((await app.inject({ url: '/api/v1/audit-events' })).statusCode).toBe(401);
    });

    it('creates API tokens (secret shown once), lists them without secrets, revokes them, and audits both', async () => {
      const created = await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: asAdmin, payload: { name: 'enroller', role: 'custom-enrollment' } });
      expect(created.statusCode).toBe(201);
      const tok = created.json();
      expect(tok).toMatchObject({ name: 'enroller', role: 'custom-enrollment', scopeGroupId: 'global', expiresAt: null, secret: expect.stringMatching(/^pom_/) });
      expect(tok.prefix).toBe(tok.secret.slice(0, 12));

      const list = await app.inject({ url: '/api/v1/api-tokens', headers: asAdmin });
      expect(list.json().tokens.map((x: { id: string }) => x.id)).toContain(tok.id);
      expect(list.body).not.toContain(tok.secret);
      expect(list.body).not.toContain('secret');

      const other = { authorization: `Bearer ${tok.secret}` };
      expect((await app.inject({ url: '/api/v1/api-tokens', headers: other })).statusCode).toBe(403);

      const revoked = await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${tok.prefix}`, headers: asAdmin });
      expect(revoked.statusCode).toBe(204);
      expect((await app.inject({ url: '/api/v1/api-tokens', headers: other })).statusCode).toBe(401);
      expect((await app.inject({ method: 'DELETE', url: '/api/v1/api-tokens/pom_zzzzzzzz', headers: asAdmin })).statusCode).toBe(404);

      const events = (await audit.list({ target: tok.id })).events;
      expect(events.map((e) => e.action)).toEqual(['api-token.revoke', 'api-token.create']);
      expect(events[1]).toMatchObject({ actor: expect.stringMatching(/^token:pom_/), details: { name: 'enroller', role: 'custom-enrollment', prefix: tok.prefix } });
      expect(JSON.stringify(events)).not.toContain(tok.secret);
    });

    it('validates token creation: role, past expiry; expiring tokens stop working', async () => {
      const post = (payload: object) => app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: asAdmin, payload });
      expect((await post({ name: 'x', role: 'root' })).statusCode).toBe(400);
      const past = await post({ name: 'x', role: 'operator', expiresAt: t - 1 });
      expect(past.statusCode).toBe(400);
      expect(past.json()).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/future/) });
      const soon = (await post({ name: 'short-lived', role: 'operator', expiresAt: t + 1000 })).json();
      const h = { authorization: `Bearer ${soon.secret}` };
      expect((await app.inject({ url: '/api/v1/session', headers: h })).statusCode).toBe(200);
      t += 1000;
      expect((await app.inject({ url: '/api/v1/session', headers: h })).statusCode).toBe(401);
    });

    it('requires CSRF for cookie sessions creating tokens', async () => {
      t += 10 * 60_000;
      const res = await login('alice', PASSWORD, '10.3.0.1');
      const cookie = cookieOf(res);
      const payload = { name: 'from console', role: 'read-only' };
      expect((await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: { cookie }, payload })).statusCode).toBe(403);
      const ok = await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: { cookie, 'x-csrf-token': res.json().csrfToken }, payload });
      expect(ok.statusCode).toBe(201);
      expect((await audit.list({ action: 'api-token.create', actor: 'user:alice' })).events).toHaveLength(1);
    });
  });
});
