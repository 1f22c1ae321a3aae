/**
 * Admins signing in to the console through SAML and OpenID Connect, on SQLite and PostgreSQL,
 * against real protocol peers on loopback: the `oidc-provider` package (src/org/idp/oidc-test-op.ts)
 * and an xml-crypto-signed SAML IdP (src/org/idp/saml-test-idp.ts). The app is assembled from the
 * session, SSO-return and console-SSO plugins with an identity provider service that accepts an
 * http issuer on loopback. Also the bad input: unsafe return paths, tampered answers, identities
 * that are no admin, providers of another branch, forwarded sign-ins, fixation and CSRF.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuth, SESSION_COOKIE } from '../src/http/auth.js';
import { buildServer } from '../src/http/server.js';
import { SecretBox } from '../src/pki/secret-box.js';
import { createKeyExchangeCertificate } from '../src/pki/ca.js';
import { AdminService } from '../src/org/admin-service.js';
import { AdminStore } from '../src/org/admin-store.js';
import { ApiTokenService } from '../src/org/api-token-service.js';
import { ApiTokenStore } from '../src/org/api-token-store.js';
import { AuditService } from '../src/org/audit-service.js';
import { AuditStore } from '../src/org/audit-store.js';
import { ConsoleSignIn, NO_ADMIN, NOT_STARTED_HERE } from '../src/org/console-sign-in.js';
import { consoleSsoReturnHandler, consoleSsoRoutes } from '../src/org/console-sso-routes.js';
import { IdentityProviderService } from '../src/org/identity-provider-service.js';
import { IdentityProviderStore } from '../src/org/identity-provider-store.js';
import { OIDC_MESSAGES } from '../src/org/idp/oidc-provider.js';
import { startTestOpenIdProvider, tamperJwt, type TestOpenIdProvider } from '../src/org/idp/oidc-test-op.js';
import { SIGN_IN_NOT_VERIFIED } from '../src/org/idp/saml-provider.js';
import { autoPostForm, TestIdp, TEST_IDP_ENTITY } from '../src/org/idp/saml-test-idp.js';
import { OrgGroupService, ROOT_GROUP_ID } from '../src/org/org-group-service.js';
import { OrgGroupStore } from '../src/org/org-group-store.js';
import { ScopeStore } from '../src/org/scope-store.js';
import { LoginThrottle, sessionRoutes } from '../src/org/session-routes.js';
import { SsoReturns, ssoReturnRoutes } from '../src/org/sso-return-routes.js';
import { freePort } from '../src/sim/free-port.js';
import { TestBrowser, statusText } from './support/browser.js';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from './support/db.js';

const SECRET = 'a client secret of some length';
const PASSWORD = 'a long enough password';

describe.each(testDatabaseKinds)('console sign-in through SAML and OpenID Connect (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let op: TestOpenIdProvider;
    let saml: TestIdp;
    let base: string;
    let admins: AdminService;
    let idps: IdentityProviderService;
    let audit: AuditService;
    const p = { oidc: '', saml: '', branchOidc: '', off: '' };
    let acme = '';

    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      db = await createTestDatabase(kind);
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      admins = new AdminService(new AdminStore(db.db), { scryptParams: { N: 1024, r: 8, p: 1 } });
      const tokens = new ApiTokenService(new ApiTokenStore(db.db));
      audit = new AuditService(new AuditStore(db.db));
      idps = new IdentityProviderService(new IdentityProviderStore(db.db), groups, new SecretBox(Buffer.alloc(32, 7)), { publicUrl: base, allowInsecureLoopback: true });
      const scopes = new ScopeStore(db.db);
      const signIn = new ConsoleSignIn({ admins, idps, flows: new IdentityProviderStore(db.db), providerPath: async (id) => (await scopes.place('identity-provider', [id])).get(id)?.[0] ?? undefined });
      const returns = new SsoReturns();
      returns.register('console', consoleSsoReturnHandler(signIn, audit));

      acme = (await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' })).id;
      const acmeLyon = await groups.create({ parentId: acme, name: 'Lyon', groupId: 'ACME-LYON' });
      // eve administers the Lyon site; root is a global admin
      await admins.createUser({ username: 'eve', password: PASSWORD, role: 'operator', scope: await groups.scopeOf(acmeLyon.id) });
      await admins.createUser({ username: 'root', password: PASSWORD, role: 'administrator' });
      await admins.createUser({ username: 'gone', password: PASSWORD, role: 'read-only', scope: await groups.scopeOf(acme) });

      // OpenID Connect at Acme (eve's ancestor group) and one more in the Lyon branch
      const oidc = await idps.create({ groupId: acme, kind: 'oidc', name: 'Acme SSO', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona', clientSecret: SECRET } });
      const branch = await idps.create({ groupId: acmeLyon.id, kind: 'oidc', name: 'Lyon SSO', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona', clientSecret: SECRET } });
      const off = await idps.create({ groupId: acme, kind: 'oidc', name: 'Enrollment only', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona', clientSecret: SECRET } });
      op = await startTestOpenIdProvider({
        users: [
          { sub: 'u-eve', preferred_username: 'eve', email: 'eve@acme.example', name: 'Eve' },
          { sub: 'u-mallory', preferred_username: 'mallory', email: 'mallory@acme.example', name: 'Mallory' },
          { sub: 'u-root', preferred_username: 'root', name: 'Root' },
          { sub: 'u-gone', preferred_username: 'gone', name: 'Gone' },
        ],
        clients: [{ client_id: 'pomona', client_secret: SECRET, redirect_uris: [oidc.endpoints.redirectUri, branch.endpoints.redirectUri, off.endpoints.redirectUri] }],
      });
      for (const x of [oidc, branch, off]) await idps.update(x.id, { config: { issuer: op.issuer, clientId: 'pomona' } });
      await idps.update(oidc.id, { consoleSignIn: true });
      await idps.update(branch.id, { consoleSignIn: true });
      p.oidc = oidc.id;
      p.branchOidc = branch.id;
      p.off = off.id;

      // SAML at the root
      const idpKey = await createKeyExchangeCertificate({ commonName: 'Test IdP signing', days: 365 });
      saml = new TestIdp(idpKey, Date.now);
      await saml.start();
      const s = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'saml', name: 'Corp SAML', config: { idpEntityId: TEST_IDP_ENTITY, idpSsoUrl: saml.ssoUrl, idpCertificates: [idpKey.certPem] } });
      await idps.update(s.id, { consoleSignIn: true });
      p.saml = s.id;

      app = await buildServer({ tls: undefined, bodyLimit: 1_000_000, logLevel: 'silent', publicUrl: base }, { logger: false });
      registerAuth(app, { admins, tokens, audit, place: (k, i) => scopes.place(k, i) });
      await app.register(sessionRoutes, { admins, audit, throttle: new LoginThrottle() });
      await app.register(ssoReturnRoutes, { idps, returns });
      await app.register(consoleSsoRoutes, { signIn, admins, audit });
      await app.listen({ host: '127.0.0.1', port });
    });
    afterAll(async () => {
      await app?.close();
      await op?.close();
      await saml?.stop();
      await db?.dispose();
    });

    /** A browser starts a console sign-in and is sent to the provider. */
    async function start(providerId: string, returnTo = '/devices?page=2', b = new TestBrowser(base)) {
      const res = await b.get(`/api/v1/session/sso/${providerId}/start?returnTo=${encodeURIComponent(returnTo)}`, { follow: false });
      expect(res.status, res.text).toBe(303);
      expect(b.cookies.get('pomona_sso')).toMatchObject({ path: '/api/v1/session/sso' });
      return { b, location: res.headers.get('location')! };
    }

    /** Through the OpenID Provider as `login`, back to our callback: the page the callback answers. */
    async function viaOidc(providerId: string, login: string, returnTo?: string) {
      const { b, location } = await start(providerId, returnTo);
      const callback = await op.authorize(location, { login });
      expect(callback.startsWith(`${base}/sso/oidc/${providerId}/callback?`)).toBe(true);
      return { b, callback, back: await b.get(callback, { follow: false }) };
    }

    async function signedInAs(b: TestBrowser) {
      const me = await b.get('/api/v1/session');
      return me.status === 200 ? (JSON.parse(me.text) as { name: string; csrfToken: string }) : me.status;
    }

    it('lists the providers admins may sign in through (public)', async () => {
      const res = await new TestBrowser(base).get('/api/v1/session/sso/providers');
      expect(JSON.parse(res.text).items.map((x: { name: string }) => x.name).sort()).toEqual(['Acme SSO', 'Corp SAML', 'Lyon SSO']);
    });

    it('signs an admin in through OpenID Connect: a fresh session, the same cookie as a password sign-in, a safe landing', async () => {
      const b = new TestBrowser(base);
      // a session id planted before sign-in (a real one, of another admin) is not honoured after
      const planted = await admins.createSession((await admins.findForSignIn(['root']))!.id);
      b.cookies.set(SESSION_COOKIE, { value: planted.sessionId, path: '/' });
      const { location } = await start(p.oidc, '/devices?page=2', b);
      const back = await b.get(await op.authorize(location, { login: 'u-eve' }), { follow: false });
      expect(back.status).toBe(303);
      const complete = back.headers.get('location')!;
      expect(complete).toMatch(new RegExp(`^/api/v1/session/sso/${p.oidc}/complete\\?code=[A-Za-z0-9_-]{43}$`));
      const landed = await b.get(complete, { follow: false });
      expect(landed.status).toBe(303);
      expect(landed.headers.get('location')).toBe('/devices?page=2');
      const setCookie = landed.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
      expect(setCookie).toMatch(/^pomona_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      expect(b.cookies.get(SESSION_COOKIE)!.value).not.toBe(planted.sessionId);
      expect(b.cookies.has('pomona_sso')).toBe(false);
      expect(await signedInAs(b)).toMatchObject({ name: 'eve' });
      expect(await admins.lookupSession(planted.sessionId)).toBeNull();

      // CSRF still guards the SSO session's unsafe requests
      expect((await b.clone().get('/api/v1/session')).status).toBe(200);
      const me = (await signedInAs(b)) as { csrfToken: string };
      const cookie = `${SESSION_COOKIE}=${b.cookies.get(SESSION_COOKIE)!.value}`;
      const noCsrf = await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie } });
      expect(noCsrf.status).toBe(403);
      expect((await noCsrf.json()).message).toMatch(/X-CSRF-Token/);
      expect((await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': me.csrfToken } })).status).toBe(204);

      const { events } = await audit.list({ action: 'session.login', actor: 'user:eve' });
      expect(events[0]).toMatchObject({ outcome: 'success', details: { method: 'sso', provider: p.oidc } });
      // the code and the provider's answer are single-use
      expect((await b.get(complete, { follow: false })).status).toBe(403);
    });

    it('lands on / after an unsafe return path', async () => {
      for (const unsafe of ['//evil.com', 'https://evil', '/\\evil', 'javascript:alert(1)', '/\t/evil.com']) {
        const { b, back } = await viaOidc(p.oidc, 'u-eve', unsafe);
        const landed = await b.get(back.headers.get('location')!, { follow: false });
        expect(landed.headers.get('location'), unsafe).toBe('/');
      }
    });

    it('signs an admin in through SAML', async () => {
      const { b, location } = await start(p.saml, '/abm');
      saml.next = { nameId: 'root', attributes: { email: ['root@corp.example'] } };
      const form = autoPostForm(await (await fetch(location)).text());
      expect(form.action).toBe(`${base}/sso/saml/${p.saml}/acs`);
      const back = await b.post(form.action, { SAMLResponse: form.SAMLResponse, ...(form.RelayState ? { RelayState: form.RelayState } : {}) }, { follow: false });
      expect(back.status).toBe(303);
      const landed = await b.get(back.headers.get('location')!, { follow: false });
      expect(landed.headers.get('location')).toBe('/abm');
      expect(await signedInAs(b)).toMatchObject({ name: 'root' });
    });

    it('refuses a tampered SAML response with a clear message', async () => {
      const { b, location } = await start(p.saml);
      saml.next = { nameId: 'eve', tamper: (xml) => xml.replace('>eve<', '>root<') };
      const form = autoPostForm(await (await fetch(location)).text());
      const back = await b.post(form.action, { SAMLResponse: form.SAMLResponse }, { follow: false });
      expect(back.status).toBe(400);
      expect(statusText(back.text)).toBe(SIGN_IN_NOT_VERIFIED);
      expect(await signedInAs(b)).toBe(401);
    });

    it('refuses a tampered ID token with a clear message', async () => {
      op.tokenResponseHook = (body) => ({ ...body, id_token: tamperJwt(body.id_token as string, (claims) => (claims.sub = 'u-root')) });
      try {
        const { b, back } = await viaOidc(p.oidc, 'u-eve');
        expect(back.status).toBe(400);
        expect(statusText(back.text)).toBe(OIDC_MESSAGES.verify);
        expect(await signedInAs(b)).toBe(401);
      } finally {
        op.tokenResponseHook = undefined;
      }
    });

    it('refuses an identity that is no admin, a disabled admin, and a provider of a branch below the admin', async () => {
      const stranger = await viaOidc(p.oidc, 'u-mallory');
      expect(stranger.back.status).toBe(403);
      expect(statusText(stranger.back.text)).toBe(NO_ADMIN);
      expect(await admins.findForSignIn(['mallory'])).toBeNull(); // nobody was created

      // root is global; the Lyon provider is run by Lyon's admins and signs in no one above Lyon
      const above = await viaOidc(p.branchOidc, 'u-root');
      expect(above.back.status).toBe(403);
      expect(statusText(above.back.text)).toBe(NO_ADMIN);
      // …but Lyon's own admin may use it
      const own = await viaOidc(p.branchOidc, 'u-eve');
      await own.b.get(own.back.headers.get('location')!);
      expect(await signedInAs(own.b)).toMatchObject({ name: 'eve' });

      const gone = (await admins.findForSignIn(['gone']))!;
      await admins.updateUser(gone.id, { disabled: true });
      expect(statusText((await viaOidc(p.oidc, 'u-gone')).back.text)).toBe(NO_ADMIN);

      const failures = (await audit.list({ action: 'session.login', outcome: 'failure' })).events.map((e) => e.details?.reason);
      expect(failures).toEqual(expect.arrayContaining([
        'no enabled admin is named "mallory" or "mallory@acme.example"',
        'admin "root" is scoped outside the group this provider is configured at',
        'no enabled admin is named "gone"',
      ]));
    });

    it('refuses a provider not enabled for the console, and a sign-in finished in another browser', async () => {
      const off = await new TestBrowser(base).get(`/api/v1/session/sso/${p.off}/start`, { follow: false });
      expect(off.status).toBe(404);
      expect(JSON.parse(off.text)).toEqual({ error: 'sign_in_failed', message: 'this identity provider does not sign admins in to the console' });
      expect((await new TestBrowser(base).get('/api/v1/session/sso/nope/start', { follow: false })).status).toBe(404);

      // the provider's answer is forwarded to another browser (no binding cookie): worthless there
      const { back } = await viaOidc(p.oidc, 'u-eve');
      const other = new TestBrowser(base);
      const res = await other.get(back.headers.get('location')!, { follow: false });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toEqual({ error: 'sign_in_failed', message: NOT_STARTED_HERE });
      expect(await signedInAs(other)).toBe(401);
      expect((await other.get(`/api/v1/session/sso/${p.oidc}/complete?code=${'A'.repeat(43)}`, { follow: false })).status).toBe(403);
    });

    it('never lets an enrollment sign-in open a console session', async () => {
      // A sign-in started for enrollment, with a return path that looks like the console's
      const { redirectUrl } = await idps.startSso(p.oidc, `/api/v1/session/sso/${p.oidc}/complete?b=x&to=/`, { purpose: 'enrollment' });
      const b = new TestBrowser(base);
      b.cookies.set('pomona_sso', { value: 'x', path: '/api/v1/session/sso' });
      const back = await b.get(await op.authorize(redirectUrl, { login: 'u-eve' }), { follow: false });
      expect(back.status).toBe(400); // nobody waits for it: the console takes only sign-ins it started
      expect(await signedInAs(b)).toBe(401);
    });
  });
});
