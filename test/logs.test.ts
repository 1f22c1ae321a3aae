/**
 * Logs, on SQLite and PostgreSQL, at trace level into a buffer: every line is JSON; lines a
 * service writes while handling a request carry that request's id; and no secret the run created
 * appears anywhere — admin and user passwords, session cookies, API and registration tokens, ABM
 * OAuth secrets and DEP sessions, identity-provider secrets, SCEP challenges, bootstrap tokens —
 * while an ADE enrollment with sign-in, a direct enrollment and the admin flows run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { SimulatedDeviceCa } from '../src/sim/device-identity-ca.js';
import { AdeDevice, passwordSignIn } from '../src/sim/ade-device.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

class LogBuffer extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    for (const l of chunk.toString('utf8').split('\n')) if (l) this.lines.push(l);
    done();
  }
  get text() {
    return this.lines.join('\n');
  }
}

describe.each(testDatabaseKinds)('logs (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    const logs = new LogBuffer();
    const secrets: Record<string, string> = {};
    let pomona: TestServer;
    let sim: AbmSimulator;
    let dir: string;

    beforeAll(async () => {
      sim = await startAbmSimulator({ seed: 7, profileValidation: { allowHttpWebUrl: true } });
      const deviceCa = await SimulatedDeviceCa.create();
      const identity = await deviceCa.issue('0B7C5A2E-1111-4B43-9C2E-4F0B2C3D8E11');
      dir = mkdtempSync(join(tmpdir(), 'pomona-logs-'));
      writeFileSync(join(dir, 'device-ca.pem'), deviceCa.rootPem);
      pomona = await startTestServer(kind, { adeTestRootFile: join(dir, 'device-ca.pem'), logLevel: 'trace' }, { logStream: logs });
      secrets.setupApiToken = pomona.token;
      const api = pomona.api.bind(pomona);

      // An admin signs in with a password; the session cookie is used.
      secrets.adminPassword = 'ada-has-a-long-passphrase-91';
      await pomona.ctx.admins.createUser({ username: 'ada', password: secrets.adminPassword, role: 'administrator' });
      const login = await fetch(`${pomona.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ada', password: secrets.adminPassword }) });
      expect(login.status).toBe(200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      secrets.sessionCookie = cookie.split('=').slice(1).join('=');
      expect((await fetch(`${pomona.url}/api/v1/devices`, { headers: { cookie } })).status).toBe(200);
      // A failed sign-in logs its refusal, not the password tried.
      secrets.wrongPassword = 'not-adas-passphrase-4471';
      await fetch(`${pomona.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ada', password: secrets.wrongPassword }) });

      // An API token created and used; a registration token.
      const created = await api('/api/v1/api-tokens', { body: { name: 'script', role: 'operator' } });
      expect(created.status).toBe(201);
      secrets.apiToken = created.json.secret;
      expect((await fetch(`${pomona.url}/api/v1/devices?token=${secrets.apiToken}`, { headers: { authorization: `Bearer ${secrets.apiToken}` } })).status).toBe(200);
      const reg = await api('/api/v1/registration-tokens', { body: { groupId: 'global' } });
      expect(reg.status).toBe(201);
      secrets.registrationToken = reg.json.token;

      // Identity providers with their secrets.
      secrets.oidcSecret = 'oidc-client-secret-5be1a0c3';
      expect((await api('/api/v1/identity-providers', { body: { groupId: 'global', kind: 'oidc', name: 'SSO', config: { issuer: 'http://127.0.0.1:9', clientId: 'pomona', clientSecret: secrets.oidcSecret } } })).status).toBe(201);
      secrets.bindPassword = 'ldap-bind-password-6d02';
      expect((await api('/api/v1/identity-providers', { body: { groupId: 'global', kind: 'ldap', name: 'Directory', config: { urls: ['ldap://127.0.0.1:1'], bindDn: 'cn=pomona,dc=example', bindPassword: secrets.bindPassword, userSearchBase: 'dc=example' } } })).status).toBe(201);

      // ABM: the server token uploaded, a sync (OAuth, DEP session), a profile with sign-in.
      const apple = sim.createServer({ name: 'Logs' }).serverUuid;
      const server = await api('/api/v1/abm-servers', { body: { name: 'Main', baseUrl: sim.url } });
      const pem = await (await fetch(`${pomona.url}/api/v1/abm-servers/${server.json.id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } })).text();
      const up = await fetch(`${pomona.url}/api/v1/abm-servers/${server.json.id}/token`, {
        method: 'PUT', headers: { authorization: `Bearer ${pomona.token}`, 'content-type': 'application/pkcs7-mime' }, body: sim.issueToken(apple, pem).smime,
      });
      expect(up.status).toBe(200);
      const oauth = sim.currentTokens(apple)!;
      Object.assign(secrets, { consumerSecret: oauth.consumer_secret, accessToken: oauth.access_token, accessSecret: oauth.access_secret });
      await api('/api/v1/organization-groups/global/settings/enrollment.authenticationMethods', { method: 'PUT', body: { value: ['local'] } });
      secrets.userPassword = 'alice-has-a-long-passphrase-33';
      expect((await api('/api/v1/users', { body: { username: 'alice', password: secrets.userPassword, defaultGroupId: 'global' } })).status).toBe(201);
      const profile = await api(`/api/v1/abm-servers/${server.json.id}/profiles`, { body: { settings: { apple: { profile_name: 'Signed', await_device_configured: false }, pomona: { authentication: { enabled: true, methods: ['password'] } } } } });
      expect(profile.status).toBe(201);
      sim.addDevices(apple, [{ serial_number: 'LOGADE000001', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' }]);
      await pomona.ctx.scheduler.runNow('abm-sync');
      expect((await api('/api/v1/abm-devices/assign', { body: { serverId: server.json.id, serials: ['LOGADE000001'], profileId: profile.json.id } })).status).toBe(200);

      // ADE enrollment through the web view with sign-in.
      const ade = new AdeDevice({
        serial: 'LOGADE000001', udid: '00008130-000000000000LOG1', product: 'iPhone16,1', osVersion: '18.1', build: '22B83',
        canRequestSoftwareUpdate: true, identity, abmUrl: sim.url, signIn: passwordSignIn('alice', secrets.userPassword),
      });
      expect(await ade.run()).toMatchObject({ kind: 'enrolled' });

      // A Mac enrolled with a profile (its one-time SCEP challenge), escrowing a bootstrap token; a command pushed.
      const mac = new SimulatedDevice({ platform: 'macOS' });
      const unsigned = (await pomona.profile({ unsigned: true })).toString('utf8');
      secrets.scepChallenge = /<key>Challenge<\/key>\s*<string>([^<]+)<\/string>/.exec(unsigned)![1]!;
      await mac.enroll(Buffer.from(unsigned));
      pomona.wake(mac);
      const bootstrap = Buffer.from('bootstrap-token-of-this-mac-3c7e1d');
      await mac.escrowBootstrapToken(bootstrap);
      secrets.bootstrapToken = bootstrap.toString('base64');
      secrets.bootstrapTokenText = bootstrap.toString('utf8');
      const cmd = await api('/api/v1/commands', { body: { devices: [mac.udid], command: { RequestType: 'ProfileList' } } });
      await pomona.commandSettled(cmd.json.commandUuid);
    }, 120_000);

    afterAll(async () => {
      await pomona?.close();
      await sim?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('writes one JSON object per line, at trace level', () => {
      expect(logs.lines.length).toBeGreaterThan(50);
      for (const l of logs.lines) expect(() => JSON.parse(l), l).not.toThrow();
    });

    it('puts the request id on lines services write during a request', async () => {
      const mac = new SimulatedDevice({ platform: 'macOS' });
      await mac.enroll(await pomona.profile());
      const res = await fetch(`${pomona.url}/api/v1/commands`, {
        method: 'POST', headers: { authorization: `Bearer ${pomona.token}`, 'content-type': 'application/json', 'x-request-id': 'obs-req-7f3a' },
        body: JSON.stringify({ devices: [mac.udid], command: { RequestType: 'DeviceInformation', Queries: ['DeviceName'] } }),
      });
      expect(res.status).toBe(201);
      const mine = logs.lines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string }).filter((l) => l.reqId === 'obs-req-7f3a').map((l) => l.msg);
      // 'APNs push' comes from the push service (the context's logger), 'request completed' from Fastify.
      expect(mine).toContain('APNs push');
      expect(mine).toContain('request completed');
    });

    it('counted the same flow in the metrics: ADE steps, DEP calls, the sync', async () => {
      const text = await pomona.ctx.metrics.registry.metrics();
      expect(text).toContain('pomona_ade_steps_total{step="web-view",outcome="ok"} 1');
      expect(text).toContain('pomona_ade_steps_total{step="profile-delivered",outcome="ok"} 1');
      expect(text).toMatch(/pomona_dep_requests_total\{endpoint="GET \/session",outcome="200"\} [1-9]/);
      expect(text).toMatch(/pomona_dep_requests_total\{endpoint="POST \/devices\/sync",outcome="200"\}|pomona_dep_requests_total\{endpoint="POST \/server\/devices",outcome="200"\}/);
      expect(text).toContain('pomona_abm_sync_devices_total{change="added"} 1');
      expect(text).toContain('pomona_abm_sync_duration_seconds_count{outcome="ok"} 1');
      expect(text).toMatch(/pomona_abm_token_expiry_timestamp_seconds\{server_id="[^"]+",server="Main"\} \d+/);
    });

    it('never logs a secret it created', () => {
      expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(14);
      const text = logs.text;
      const leaked = Object.entries(secrets).filter(([, s]) => s && text.includes(s)).map(([name]) => name);
      expect(leaked).toEqual([]);
    });
  });
});
