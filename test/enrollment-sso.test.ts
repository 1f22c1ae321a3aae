/**
 * The enrollment sign-in through an OpenID Provider (the `oidc-provider` package on loopback),
 * on SQLite and PostgreSQL: a user signs in and continues; a sign-in forwarded from one browser
 * to another lands in neither's record; return paths from the IdP never lead off our pages.
 * The app is assembled from the sign-in and SSO-return plugins, with an identity provider
 * service that accepts an http issuer on loopback.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/http/server.js';
import { SecretBox } from '../src/pki/secret-box.js';
import { OrgGroupService, ROOT_GROUP_ID } from '../src/org/org-group-service.js';
import { OrgGroupStore } from '../src/org/org-group-store.js';
import { UserService } from '../src/org/user-service.js';
import { UserStore } from '../src/org/user-store.js';
import { RegistrationTokenService } from '../src/org/registration-token-service.js';
import { RegistrationTokenStore } from '../src/org/registration-token-store.js';
import { IdentityProviderService } from '../src/org/identity-provider-service.js';
import { IdentityProviderStore } from '../src/org/identity-provider-store.js';
import { DbSignInThrottle } from '../src/org/sign-in-throttle.js';
import { SsoReturns, ssoReturnRoutes } from '../src/org/sso-return-routes.js';
import { startTestOpenIdProvider, type TestOpenIdProvider } from '../src/org/idp/oidc-test-op.js';
import { PendingEnrollmentService } from '../src/enroll/pending-enrollment-service.js';
import { PendingEnrollmentStore } from '../src/enroll/pending-enrollment-store.js';
import { SignInService } from '../src/enroll/sign-in/sign-in-service.js';
import { SignIn, sendPage, signInRoutes } from '../src/enroll/sign-in/sign-in-routes.js';
import { freePort } from '../src/sim/free-port.js';
import { TestBrowser, inputValue, statusText } from './support/browser.js';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from './support/db.js';

const SECRET = 'a client secret of some length';

describe.each(testDatabaseKinds)('enrollment sign-in through OpenID Connect (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let op: TestOpenIdProvider;
    let base: string;
    let pending: PendingEnrollmentService;
    let providerId: string;
    let acmeId: string;

    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      db = await createTestDatabase(kind);
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      const users = new UserService(new UserStore(db.db), groups);
      const tokens = new RegistrationTokenService(new RegistrationTokenStore(db.db), groups, users);
      const idps = new IdentityProviderService(new IdentityProviderStore(db.db), groups, new SecretBox(Buffer.alloc(32, 7)), { publicUrl: base, allowInsecureLoopback: true });
      pending = new PendingEnrollmentService(new PendingEnrollmentStore(db.db));
      const signIn = new SignIn(new SignInService({ pending, users, groups, tokens, idps, handoffs: new IdentityProviderStore(db.db), throttle: new DbSignInThrottle(db.db) }), pending, { secureCookies: false });
      const returns = new SsoReturns();
      returns.register('enrollment', signIn.ssoReturnHandler());

      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      acmeId = acme.id;
      await groups.setSetting(acme.id, 'enrollment.webEnrollmentAllowed', true, 'test');
      await groups.setSetting(acme.id, 'enrollment.authenticationMethods', ['oidc'], 'test');
      const p = await idps.create({ groupId: acme.id, kind: 'oidc', name: 'Acme SSO', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona', clientSecret: SECRET } });
      providerId = p.id;
      op = await startTestOpenIdProvider({
        users: [{ sub: 'u-1', preferred_username: 'eve', email: 'eve@example.com', name: 'Eve', groups: ['staff'] }],
        clients: [{ client_id: 'pomona', client_secret: SECRET, redirect_uris: [p.endpoints.redirectUri] }],
      });
      await idps.update(p.id, { config: { issuer: op.issuer, clientId: 'pomona' } });

      app = await buildServer({ tls: undefined, bodyLimit: 1_000_000, logLevel: 'silent', publicUrl: base }, { logger: false });
      await app.register(ssoReturnRoutes, { idps, returns });
      await app.register(signInRoutes, { signIn });
      signIn.onComplete('web', (rec, reply) => sendPage(reply, 200, `<p role="status">signed in as ${rec.userId}</p>`), { kind: 'web-enrollment', groupIdField: true, restartPath: '/enroll/web' });
      app.get('/enroll/web', (req, reply) => signIn.start(req, reply, { mode: 'web', groupId: acme.id }));
      await app.listen({ host: '127.0.0.1', port });
    });
    afterAll(async () => {
      await app?.close();
      await op?.close();
      await db?.dispose();
    });

    /** A browser at the sign-in page, and the IdP URL its SSO button leads to. */
    const startSso = async (extra: Record<string, string> = {}) => {
      const b = new TestBrowser(base);
      const page = await b.get('/enroll/web');
      expect(page.text).toContain(`name="provider" value="${providerId}"`);
      expect(page.text).not.toContain('id="password"');
      const id = new URL(page.url).pathname.split('/').pop()!;
      const toIdp = await b.post(`/enroll/sign-in/${id}/sso`, { csrf: inputValue(page.text, 'csrf')!, provider: providerId, groupId: '', ...extra });
      expect(toIdp.status).toBe(303);
      const location = toIdp.headers.get('location')!;
      expect(new URL(location).origin).toBe(op.issuer);
      return { b, id, location };
    };

    it('signs a user in through the provider and continues in the same browser', async () => {
      const { b, id, location } = await startSso({ returnTo: 'https://evil.example/' });
      const callback = await op.authorize(location, { login: 'u-1' });
      expect(callback.startsWith(`${base}/sso/oidc/${providerId}/callback?`)).toBe(true);
      const done = await b.get(callback);
      expect(done.status).toBe(200);
      expect(new URL(done.url).pathname).toBe(`/enroll/sign-in/${id}`);
      const rec = await pending.get(id);
      const eve = await db.db.selectFrom('users').selectAll().where('username', '=', 'eve').executeTakeFirstOrThrow();
      expect(rec).toMatchObject({ state: 'authenticated', userId: eve.id, groupId: acmeId });
      expect(statusText(done.text)).toBe(`signed in as ${eve.id}`);
      // The callback is single-use.
      expect((await b.get(callback)).status).toBe(400);
    });

    it('lets a sign-in forwarded to another browser land in neither record', async () => {
      const attacker = await startSso();
      const victim = new TestBrowser(base);
      const callback = await op.authorize(attacker.location, { login: 'u-1' });
      // The victim's browser brings the IdP's answer and is sent to the attacker's record: it has no key for it.
      const atVictim = await victim.get(callback);
      expect(atVictim.status).toBe(403);
      // The attacker's browser, which holds the record's key, lacks the hand-off key the victim got.
      expect([...victim.cookies.keys()]).toEqual([`pomona_sso_${attacker.id}`]);
      expect(victim.cookies.get(`pomona_sso_${attacker.id}`)?.path).toBe(`/enroll/sign-in/${attacker.id}/`);
      const nonce = new URL(atVictim.url).searchParams.get('n')!;
      const atAttacker = await attacker.b.get(`/enroll/sign-in/${attacker.id}/sso?n=${nonce}`);
      expect(atAttacker.status).toBe(403);
      expect(await pending.get(attacker.id)).toMatchObject({ state: 'started', userId: null });
    });

    it('never redirects off our pages after the provider answers', async () => {
      // The return path is chosen by the server (a returnTo in the form is ignored) and is ours.
      const { location, id } = await startSso({ returnTo: '//evil.example/', next: 'https://evil.example/' });
      expect(new URL(location).searchParams.get('redirect_uri')).toBe(`${base}/sso/oidc/${providerId}/callback`);
      const callback = new URL(await op.authorize(location, { login: 'u-1' }));
      const res = await new TestBrowser(base).get(callback.pathname + callback.search, { follow: false });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toMatch(new RegExp(`^/enroll/sign-in/${id}/sso\\?n=[A-Za-z0-9_-]{22}$`));

      // A SAML answer for a provider that is not one: our page, no Location.
      const saml = await fetch(`${base}/sso/saml/${providerId}/acs`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'SAMLResponse=PHg%2B&RelayState=%2F%2Fevil.example%2F' });
      expect(saml.status).toBe(404);
      expect(saml.headers.get('location')).toBeNull();
      // The OIDC return with a state that was never issued.
      const forged = await fetch(`${base}/sso/oidc/${providerId}/callback?code=x&state=forged&iss=${encodeURIComponent(op.issuer)}`, { redirect: 'manual' });
      expect(forged.status).toBe(400);
      expect(forged.headers.get('location')).toBeNull();
    });

    it('refuses a hand-back to a record the sign-in was not started for', async () => {
      const first = await startSso();
      const second = await startSso();
      const callback = await op.authorize(first.location, { login: 'u-1' });
      const page = await first.b.get(callback, { follow: false });
      const nonce = new URL(page.headers.get('location')!, base).searchParams.get('n')!;
      // The second record, with the first's nonce and its own browser: nothing parked for it.
      const res = await second.b.get(`/enroll/sign-in/${second.id}/sso?n=${nonce}`);
      expect(res.status).toBe(403);
      expect((await pending.get(second.id)).state).toBe('started');
    });
  });
});
