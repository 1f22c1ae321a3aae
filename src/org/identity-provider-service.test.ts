import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { SecretBox } from '../pki/secret-box.js';
import { SignInError } from './idp/identity.js';
import { startTestOpenIdProvider, type TestOpenIdProvider } from './idp/oidc-test-op.js';
import { IdentityProviderError, IdentityProviderService } from './identity-provider-service.js';
import { IdentityProviderStore } from './identity-provider-store.js';
import { OrgGroupService, ROOT_GROUP_ID } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';

const PUBLIC = 'http://127.0.0.1:9999';

describe.each(testDatabaseKinds)('identity providers (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let op: TestOpenIdProvider;
    let db: TestDatabase;
    let groups: OrgGroupService;
    let idps: IdentityProviderService;
    beforeAll(async () => {
      op = await startTestOpenIdProvider({
        users: [{ sub: 'u-1', preferred_username: 'eve', email: 'eve@example.com', name: 'Eve', groups: ['staff'] }],
        clients: [{ client_id: 'pomona', client_secret: 'a client secret of some length', redirect_uris: [] }],
      });
    });
    afterAll(() => op?.close());
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
      idps = new IdentityProviderService(new IdentityProviderStore(db.db), groups, new SecretBox(Buffer.alloc(32, 7)), { publicUrl: PUBLIC, allowInsecureLoopback: true });
    });
    afterEach(() => db.dispose());

    it('keeps secrets sealed and out of views, and keeps them when an update leaves them out', async () => {
      const p = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'oidc', name: 'Corp SSO', config: { issuer: op.issuer, clientId: 'pomona', clientSecret: 'a client secret of some length' } });
      expect(p).toMatchObject({ kind: 'oidc', secretSet: true, endpoints: { redirectUri: `${PUBLIC}/sso/oidc/${p.id}/callback` } });
      expect(JSON.stringify(p)).not.toContain('a client secret');
      const row = await db.db.selectFrom('identity_providers').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
      expect(row.config_json).not.toContain('a client secret');
      const renamed = await idps.update(p.id, { name: 'SSO', config: { issuer: op.issuer, clientId: 'pomona' } });
      expect(renamed).toMatchObject({ name: 'SSO', secretSet: true });
    });

    it('refuses invalid settings listing every problem', async () => {
      try {
        await idps.create({ groupId: ROOT_GROUP_ID, kind: 'ldap', name: 'Dir', config: { urls: ['http://nope'], userSearchBase: '' } });
        throw new Error('should have failed');
      } catch (err) {
        expect(err).toBeInstanceOf(IdentityProviderError);
        expect((err as IdentityProviderError).problems.length).toBeGreaterThanOrEqual(2);
      }
    });

    it('applies a group\'s providers and its ancestors\', nearest first', async () => {
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      const top = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'oidc', name: 'Top', config: { issuer: op.issuer, clientId: 'pomona', clientSecret: 'a client secret of some length' } });
      const mine = await idps.create({ groupId: acme.id, kind: 'oidc', name: 'Acme SSO', config: { issuer: op.issuer, clientId: 'pomona', clientSecret: 'a client secret of some length' } });
      expect((await idps.forGroup(acme.id)).map((p) => p.id)).toEqual([mine.id, top.id]);
      expect((await idps.forGroup(ROOT_GROUP_ID)).map((p) => p.id)).toEqual([top.id]);
      await idps.update(mine.id, { enabled: false });
      expect((await idps.forGroup(acme.id)).map((p) => p.id)).toEqual([top.id]);
    });

    it('lets admins sign in to the console only through SAML and OIDC providers enabled for it', async () => {
      const cfg = { issuer: op.issuer, clientId: 'pomona', clientSecret: 'a client secret of some length' };
      const sso = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'oidc', name: 'Console SSO', config: cfg });
      expect(sso.consoleSignIn).toBe(false);
      expect(await idps.consoleProviders()).toEqual([]);
      expect(await idps.update(sso.id, { consoleSignIn: true })).toMatchObject({ consoleSignIn: true });
      expect((await idps.consoleProviders()).map((p) => p.id)).toEqual([sso.id]);
      await idps.update(sso.id, { enabled: false });
      expect(await idps.consoleProviders()).toEqual([]);
      const dir = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'ldap', name: 'Dir', config: { urls: ['ldap://127.0.0.1:1'], userSearchBase: 'dc=example' } });
      await expect(idps.update(dir.id, { consoleSignIn: true })).rejects.toThrow(/SAML or OpenID Connect providers only/);
    });

    it('shows an admin scoped to a branch only the providers configured inside it', async () => {
      const branch = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Branch', groupId: 'IDP-BR' });
      const cfg = { issuer: op.issuer, clientId: 'pomona', clientSecret: 'a client secret of some length' };
      const top = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'oidc', name: 'Top', config: cfg });
      const mine = await idps.create({ groupId: branch.id, kind: 'oidc', name: 'Branch SSO', config: cfg });
      expect((await idps.forGroup(branch.id)).map((p) => p.id)).toEqual([mine.id, top.id]);
      expect((await idps.forGroup(branch.id, await groups.scopeOf(branch.id))).map((p) => p.id)).toEqual([mine.id]);
    });

    it('signs in through OIDC with state kept in the database, once, and never redirects off-site', async () => {
      const p = await idps.create({ groupId: ROOT_GROUP_ID, kind: 'oidc', name: 'SSO', config: { issuer: op.issuer, clientId: 'pomona', clientSecret: 'a client secret of some length' } });
      // An OP that knows the redirect URI Pomona computed for this provider.
      const own = await startTestOpenIdProvider({
        users: [{ sub: 'u-1', preferred_username: 'eve', email: 'eve@example.com', name: 'Eve', groups: ['staff'] }],
        clients: [{ client_id: 'pomona', client_secret: 'a client secret of some length', redirect_uris: [p.endpoints.redirectUri] }],
      });
      try {
        await idps.update(p.id, { config: { issuer: own.issuer, clientId: 'pomona', requestGroupsScope: true } });
        const { redirectUrl } = await idps.startSso(p.id, '//evil.example/phish');
        const callback = await own.authorize(redirectUrl, { login: 'u-1' });
        const done = await idps.finishOidc(p.id, callback);
        expect(done.identity).toMatchObject({ provider: p.id, username: 'eve', groups: ['staff'] });
        expect(done.returnTo).toBe('/');
        expect(done.purpose).toBe('enrollment'); // the default
        await expect(idps.finishOidc(p.id, callback)).rejects.toBeInstanceOf(SignInError);

        const second = await idps.startSso(p.id, '/devices?x=1');
        const done2 = await idps.finishOidc(p.id, await own.authorize(second.redirectUrl, { login: 'u-1' }));
        expect(done2.returnTo).toBe('/devices?x=1');

        // the purpose is kept with the flow, server-side
        const third = await idps.startSso(p.id, '/', { purpose: 'console' });
        expect((await idps.finishOidc(p.id, await own.authorize(third.redirectUrl, { login: 'u-1' }))).purpose).toBe('console');
      } finally {
        await own.close();
      }
    });
  });
});
