/**
 * Secrets stay secret in the admin API, on SQLite and PostgreSQL: the push certificate's private
 * key, the SCEP CA key, an ABM server's private key and OAuth secrets, identity providers' client
 * secrets and bind passwords, and the secrets of API and registration tokens. Every GET route is
 * read with every object in place, by an operator and by an administrator: no answer may carry a
 * secret, except from a route for administrators only that records the view in the audit log.
 */
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createTestPushCertificate } from '../src/apple/push-certificate.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

/** A recognisable run of characters out of a PEM key's base64 body. */
const pemChunk = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[2]!.slice(0, 40);

describe.each(testDatabaseKinds)('secrets in the admin API (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    const gets: { url: string; permission: string }[] = [];
    const secrets: Record<string, string> = {};
    const ids: Record<string, string> = {};
    const tokens: Record<string, { secret: string; label: string }> = {};

    beforeAll(async () => {
      pomona = await startTestServer(kind);
      const { ctx } = pomona;
      const probe = await buildApp(ctx, {
        logger: false,
        onRoute: (r: RouteOptions) => {
          const permission = (r.config as { permission?: string } | undefined)?.permission;
          if ([r.method].flat().includes('GET') && permission) gets.push({ url: r.url, permission });
        },
      });
      await probe.ready();
      await probe.close();
      for (const role of ['operator', 'administrator'] as const) {
        const t = await ctx.tokens.create({ name: `reader-${role}`, role });
        tokens[role] = { secret: t.secret, label: `token:${t.token.prefix}` };
      }
      const db = ctx.database.db;

      const push = await createTestPushCertificate();
      await ctx.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem }, { force: true });
      secrets.pushKey = pemChunk(push.keyPem);
      const ca = await db.selectFrom('certificate_authorities').select('key_enc').executeTakeFirstOrThrow();
      secrets.caKey = pemChunk(ctx.secrets.openString(ca.key_enc));

      const server = await ctx.abmServers.create({ name: 'Main ABM' });
      ids.server = server.id;
      const row = await db.selectFrom('abm_servers').select('key_enc').where('id', '=', server.id).executeTakeFirstOrThrow();
      secrets.abmKey = pemChunk(ctx.secrets.openString(row.key_enc));
      secrets.abmConsumerSecret = 'CS-abm-consumer-secret-3f9a';
      secrets.abmAccessSecret = 'AS-abm-access-secret-77c1';
      secrets.abmAccessToken = 'AT-abm-access-token-51d0';
      const oauth = { consumerKey: 'CK_0001', consumerSecret: secrets.abmConsumerSecret, accessToken: secrets.abmAccessToken, accessSecret: secrets.abmAccessSecret, accessTokenExpiry: Date.now() + 86_400_000 };
      await db.updateTable('abm_servers').set({ tokens_enc: ctx.secrets.seal(JSON.stringify(oauth)), consumer_key: 'CK_0001', token_expires_at: Date.now() + 86_400_000 }).where('id', '=', server.id).execute();

      secrets.oidcSecret = 'oidc-client-secret-a81f55';
      ids.oidc = (await ctx.idps.create({ groupId: 'global', kind: 'oidc', name: 'SSO', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona', clientSecret: secrets.oidcSecret } })).id;
      secrets.bindPassword = 'ldap-bind-password-0c2e';
      ids.ldap = (await ctx.idps.create({ groupId: 'global', kind: 'ldap', name: 'Directory', config: { urls: ['ldap://127.0.0.1:1'], bindDn: 'cn=pomona,dc=example', bindPassword: secrets.bindPassword, userSearchBase: 'dc=example' } })).id;

      const other = await ctx.tokens.create({ name: 'another script', role: 'read-only' });
      secrets.apiToken = other.secret.slice(12);
      ids.apiToken = other.token.id;
      const reg = await ctx.registrationTokens.create({ groupId: 'global', createdBy: 'test' });
      secrets.registrationToken = reg.token;
      ids.registrationToken = reg.view.id;
      const admin = await ctx.admins.createUser({ username: 'ada', password: 'ada has a long passphrase', role: 'operator' });
      ids.admin = admin.id;
      secrets.passwordHash = 'scrypt$';
    });
    afterAll(() => pomona?.close());

    const aimed = (url: string) =>
      url
        .replace(/\/abm-servers\/:id/, `/abm-servers/${ids.server}`)
        .replace(/\/identity-providers\/:id/, `/identity-providers/${ids.oidc}`)
        .replace(/\/organization-groups\/:id/, '/organization-groups/global')
        .replace(/\/admins\/:id/, `/admins/${ids.admin}`)
        .replace(/:[A-Za-z]+/g, 'x');

    it('shows no secret to anyone but an administrator through an audited route', async () => {
      expect(gets.length).toBeGreaterThan(30);
      const wrong: string[] = [];
      for (const { url, permission } of gets) {
        for (const role of ['operator', 'administrator'] as const) {
          const before = Date.now();
          const res = await fetch(pomona.url + aimed(url), { headers: { authorization: `Bearer ${tokens[role].secret}` } });
          const text = await res.text();
          const shown = Object.entries(secrets).filter(([, s]) => text.includes(s)).map(([name]) => name);
          if (shown.length === 0) continue;
          if (role !== 'administrator' || permission !== 'admin') {
            wrong.push(`${url} (${permission}) shows ${shown.join(', ')} to ${role}`);
            continue;
          }
          const audited = (await pomona.ctx.audit.list({ actor: tokens[role].label, since: before, outcome: 'success' })).events;
          if (audited.length === 0) wrong.push(`${url} shows ${shown.join(', ')} without an audit event`);
        }
      }
      expect(wrong).toEqual([]);
    }, 120_000);

    it('keeps every secret sealed at rest', async () => {
      const db = pomona.ctx.database.db;
      const dump = JSON.stringify(await Promise.all([
        db.selectFrom('push_certificates').selectAll().execute(),
        db.selectFrom('abm_servers').selectAll().execute(),
        db.selectFrom('identity_providers').selectAll().execute(),
        db.selectFrom('api_tokens').selectAll().execute(),
        db.selectFrom('registration_tokens').selectAll().execute(),
        db.selectFrom('certificate_authorities').selectAll().execute(),
      ]));
      for (const [name, s] of Object.entries(secrets)) if (name !== 'passwordHash') expect(dump, name).not.toContain(s);
    });
  });
});
