/**
 * Await configuration end to end over real HTTP, on each database: simulated ADE devices check
 * in with AwaitingConfiguration, receive their setup plan through APNs-simulator pushes (library
 * profiles, the Mac's accounts, settings) and DeviceConfigured — when every step succeeded, at
 * the time limit (the job's work run by hand, at a later time), or when an admin releases them.
 * Also the managed admin's password (admin-only, audited, rotated), the bootstrap token, and
 * the library's refusals.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DepProfileSettings } from '../src/abm/dep-profile.js';
import { buildApp } from '../src/app.js';
import { buildPlist } from '../src/apple/plist.js';
import { freePort } from '../src/sim/free-port.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, until, type TestServer } from './support/server.js';
import { abmDevice, abmServer, depProfile } from './support/setup-plan-fixture.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/apple/mdm-samples/profiles/${name}`, import.meta.url));
const wifiProfile = Buffer.from(buildPlist({
  PayloadType: 'Configuration', PayloadIdentifier: 'com.example.wifi', PayloadUUID: 'B7D8C3E0-7E52-4C1B-9A57-1D0C8A1E2F01', PayloadVersion: 1, PayloadDisplayName: 'Office Wi-Fi',
  PayloadContent: [{ PayloadType: 'com.apple.wifi.managed', PayloadIdentifier: 'com.example.wifi.1', PayloadUUID: 'B7D8C3E0-7E52-4C1B-9A57-1D0C8A1E2F02', PayloadVersion: 1, SSID_STR: 'Office' }],
}));

const MAC: DepProfileSettings = {
  apple: { profile_name: 'Staff Macs' },
  pomona: {
    platforms: ['macOS'],
    macOSAccountSetup: {
      primaryAccount: 'standard',
      localAdmin: { shortName: '_pomona', fullName: 'Pomona Admin', hidden: true, password: { length: 24 } },
      prefill: { enabled: true, lock: true },
    },
    awaitConfiguration: { timeLimitMinutes: 5 },
  },
};
const PHONES: DepProfileSettings = { apple: { profile_name: 'Phones' }, pomona: { timeZone: 'Europe/Berlin', awaitConfiguration: { timeLimitMinutes: 3 } } };
const MINUTE = 60_000;

describe.each(testDatabaseKinds)('await configuration (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let s: TestServer;
    let server: string;
    let macProfile: string;
    let phoneProfile: string;
    let library: { chrome: string; wifi: string };
    const tokens: Record<string, string> = {};

    const as = (role: string, path: string, method = 'GET') =>
      fetch(s.url + path, { method, headers: { authorization: `Bearer ${tokens[role]}` } }).then(async (r) => ({ status: r.status, json: await r.json().catch(() => null) }));
    const plan = async (d: SimulatedDevice) => (await s.api(`/api/v1/devices/${d.udid}/setup-plan`)).json;
    const deviceId = async (d: SimulatedDevice) => (await s.api(`/api/v1/devices/${d.udid}`)).json.device.id as string;
    const stepsOf = (p: { steps: Array<{ kind: string; status: string }> }) => p.steps.map((x) => `${x.kind}:${x.status}`);
    const enrolled = async (opts: ConstructorParameters<typeof SimulatedDevice>[0], family: 'Mac' | 'iPhone', profileId: string, wake = true) => {
      const d = new SimulatedDevice({ awaitingConfiguration: true, ...opts });
      await abmDevice(s.ctx.database.db, { serial: d.serialNumber, serverId: server, profileId, family });
      if (wake) s.wake(d);
      await d.enroll(await s.profile());
      return d;
    };

    beforeAll(async () => {
      s = await startTestServer(kind);
      for (const role of ['operator', 'read-only'] as const) tokens[role] = (await s.ctx.tokens.create({ name: `t-${role}`, role })).secret;
      const db = s.ctx.database.db;
      server = await abmServer(db);
      macProfile = await depProfile(db, server, MAC);
      phoneProfile = await depProfile(db, server, PHONES);

      // the library: one file sent raw, one as JSON; one for everyone (the root group), one for the Macs' profile
      const raw = await fetch(`${s.url}/api/v1/configuration-profiles?name=Chrome%20defaults`, {
        method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/x-apple-aspen-config' }, body: fixture('test.mobileconfig'),
      });
      expect(raw.status).toBe(201);
      const chrome = (await raw.json()) as { id: string; name: string; payloadTypes: string[] };
      expect(chrome).toMatchObject({ name: 'Chrome defaults', payloadTypes: ['com.google.Chrome', 'com.apple.Safari'] });
      const wifi = await s.api('/api/v1/configuration-profiles', { body: { payload: wifiProfile.toString('base64') } });
      expect(wifi.status).toBe(201);
      expect(wifi.json.name).toBe('Office Wi-Fi');
      library = { chrome: chrome.id, wifi: wifi.json.id };
      expect((await s.api(`/api/v1/configuration-profiles/${chrome.id}/attachments`, { body: { organizationGroupId: 'global' } })).status).toBe(201);
      expect((await s.api(`/api/v1/configuration-profiles/${wifi.json.id}/attachments`, { body: { depProfileId: macProfile } })).status).toBe(201);
    });
    afterAll(async () => s?.close());

    it("configures a Mac: library profiles, accounts, then DeviceConfigured; its admin password is for administrators, audited, rotated; its bootstrap token escrowed", async () => {
      s.ctx.setupPlans.resolvePrimaryAccountWith(async () => ({ fullName: 'Jane Appleseed', shortName: 'jane', locked: false }));
      const mac = await enrolled({ platform: 'macOS' }, 'Mac', macProfile);
      await until(async () => mac.setupAssistant.configured || undefined);
      const done = await until(async () => {
        const p = await plan(mac);
        return p.steps?.every((x: { status: string }) => x.status === 'acknowledged') ? p : undefined;
      });
      expect(done).toMatchObject({ status: 'released', reason: 'completed', platform: 'macOS', depProfileId: macProfile, timeLimitMinutes: 5 });
      expect(done.steps.map((x: { label: string }) => x.label)).toEqual([
        'Install "Chrome defaults"', 'Install "Office Wi-Fi"', 'macOS accounts: managed administrator "_pomona", standard primary account, primary account prefilled', 'Release the device from Setup Assistant',
      ]);
      expect(mac.installedProfiles.map((p) => p.identifier)).toEqual(['0DA6B871-623D-400A-B0EB-3BE489E39F2A', 'com.example.wifi']);
      expect(mac.setupAssistant.accountConfiguration).toMatchObject({
        skipPrimaryAccount: false, primaryAsRegularUser: true, prefill: { fullName: 'Jane Appleseed', shortName: 'jane', locked: true },
        managedAdmin: { shortName: '_pomona', fullName: 'Pomona Admin', hidden: true },
      });
      expect(mac.setupAssistant.awaiting).toBe(false);

      // the bootstrap token: escrowed once set up, shown on the device, returned to the device only
      const id = await deviceId(mac);
      const detail = await until(async () => {
        const { json } = await s.api(`/api/v1/devices/${mac.udid}`);
        return json.bootstrapToken?.escrowed ? json : undefined;
      });
      expect(detail.bootstrapToken.escrowedAt).toBeGreaterThan(0);
      expect(JSON.stringify(detail)).not.toContain(mac.setupAssistant.bootstrapToken!.toString('base64'));
      expect(await mac.fetchBootstrapToken()).toEqual(mac.setupAssistant.bootstrapToken);

      // the password: administrators only, every view audited
      expect((await as('operator', `/api/v1/devices/${mac.udid}/managed-admin-password`)).status).toBe(403);
      expect((await as('read-only', `/api/v1/devices/${mac.udid}/managed-admin`)).json).toMatchObject({ shortName: '_pomona', hasPassword: true, pendingChange: null });
      const first = await s.api(`/api/v1/devices/${mac.udid}/managed-admin-password`);
      expect(first.status).toBe(200);
      expect(first.json.password).toHaveLength(24);
      expect(mac.setupAssistant.verifyAdminPassword(first.json.password)).toBe(true);
      await s.api(`/api/v1/devices/${mac.udid}/managed-admin-password`);
      const views = await s.api(`/api/v1/audit-events?action=device.managed_admin_password.view&target=${id}`);
      expect(views.json.events).toHaveLength(2);
      expect(JSON.stringify(views.json)).not.toContain(first.json.password);

      // rotation: the Mac is asked for the account's GUID, then gets SetAutoAdminPassword
      expect((await as('operator', `/api/v1/devices/${mac.udid}/managed-admin-password/rotate`, 'POST')).status).toBe(403);
      const rotating = await s.api(`/api/v1/devices/${mac.udid}/managed-admin-password/rotate`, { method: 'POST' });
      expect(rotating.status).toBe(202);
      expect(rotating.json.pendingChange).toMatchObject({ kind: 'rotate', reason: 'admin' });
      const rotated = await until(async () => {
        const { json } = await s.api(`/api/v1/devices/${mac.udid}/managed-admin`);
        return json.pendingChange === null && json.guid ? json : undefined;
      });
      expect(rotated.guid).toBe(mac.setupAssistant.accountConfiguration!.managedAdmin!.guid);
      const second = (await s.api(`/api/v1/devices/${mac.udid}/managed-admin-password`)).json.password;
      expect(second).not.toBe(first.json.password);
      expect(mac.setupAssistant.verifyAdminPassword(second)).toBe(true);
      expect(mac.setupAssistant.verifyAdminPassword(first.json.password)).toBe(false);
      expect(mac.answered.map((a) => a.requestType).slice(-2)).toEqual(['DeviceInformation', 'SetAutoAdminPassword']);

      // a repeated TokenUpdate starts no second plan; enrolling again after an erase starts a fresh one
      await mac.tokenUpdate({ awaitingConfiguration: true });
      await s.ctx.setupPlans.onTokenUpdate({ enrollmentId: mac.udid, deviceId: id, type: 'Device', tally: 9, awaitingConfiguration: true });
      const count = async () => (await s.ctx.database.db.selectFrom('setup_plans').select('id').where('device_id', '=', id).execute()).length;
      expect(await count()).toBe(1);
      const erased = new SimulatedDevice({ platform: 'macOS', udid: mac.udid, serialNumber: mac.serialNumber, awaitingConfiguration: true });
      s.wake(erased);
      await erased.enroll(await s.profile());
      await until(async () => erased.setupAssistant.configured || undefined);
      expect(await count()).toBe(2);
      expect((await plan(erased)).id).not.toBe(done.id);
      s.ctx.setupPlans.resolvePrimaryAccountWith(undefined);
    });

    it("records a failed step with Apple's ErrorChain and releases the device at the time limit", async () => {
      const phone = new SimulatedDevice({ platform: 'iOS', awaitingConfiguration: true });
      phone.failing = ['InstallProfile'];
      await abmDevice(s.ctx.database.db, { serial: phone.serialNumber, serverId: server, profileId: phoneProfile, family: 'iPhone' });
      s.wake(phone);
      await phone.enroll(await s.profile());
      const failed = await until(async () => {
        const p = await plan(phone);
        return p.steps?.every((x: { status: string; kind: string }) => x.kind === 'device-configured' || !['pending', 'queued'].includes(x.status)) ? p : undefined;
      });
      expect(failed.status).toBe('running');
      expect(stepsOf(failed)).toEqual(['install-profile:error', 'settings:acknowledged', 'device-configured:pending']);
      expect(failed.steps[0].error.errorChain[0]).toMatchObject({ ErrorDomain: 'MCSimulatedErrorDomain', ErrorCode: 4001 });
      expect(phone.setupAssistant.awaiting).toBe(true);
      expect(phone.setupAssistant.settingsApplied).toEqual([{ Item: 'TimeZone', TimeZone: 'Europe/Berlin' }]);

      await s.ctx.setupPlans.tick(failed.deadlineAt - 1);
      expect((await plan(phone)).status).toBe('running');
      await s.ctx.setupPlans.tick(failed.deadlineAt);
      await until(async () => phone.setupAssistant.configured || undefined);
      const released = await plan(phone);
      expect(released).toMatchObject({ status: 'released', reason: 'time-limit', endedBy: null });
      expect(released.deadlineAt - released.startedAt).toBe(3 * MINUTE);
    });

    it('times out the steps of a device that does not answer; the device still gets them, then DeviceConfigured', async () => {
      const quiet = await enrolled({ platform: 'iOS' }, 'iPhone', phoneProfile, false);
      // the plan starts after TokenUpdate was answered: wait until its steps are queued
      const running = await until(async () => {
        const p = await plan(quiet);
        return p.steps?.filter((x: { status: string }) => x.status === 'pending').length === 1 ? p : undefined;
      });
      expect(stepsOf(running)).toEqual(['install-profile:queued', 'settings:queued', 'device-configured:pending']); // the root group's profile applies to every device
      await s.ctx.setupPlans.tick(running.deadlineAt + MINUTE);
      expect(stepsOf(await plan(quiet))).toEqual(['install-profile:timed-out', 'settings:timed-out', 'device-configured:queued']);
      s.wake(quiet);
      expect((await quiet.connect()).map((a) => `${a.requestType}:${a.status}`)).toEqual(['InstallProfile:Acknowledged', 'Settings:Acknowledged', 'DeviceConfigured:Acknowledged']);
      const after = await until(async () => {
        const p = await plan(quiet);
        return p.steps[2].status === 'acknowledged' ? p : undefined;
      });
      expect(after.steps[1]).toMatchObject({ status: 'timed-out', deviceStatus: 'Acknowledged' });
      expect(quiet.setupAssistant.configured).toBe(true);
    });

    it('lets an operator release a waiting device by hand (audited), once', async () => {
      const waiting = await enrolled({ platform: 'iOS' }, 'iPhone', phoneProfile, false);
      await until(async () => ((await plan(waiting)).steps?.filter((x: { status: string }) => x.status === 'pending').length === 1 ? true : undefined));
      expect((await as('read-only', `/api/v1/devices/${waiting.udid}/release`, 'POST')).status).toBe(403);
      const res = await as('operator', `/api/v1/devices/${waiting.udid}/release`, 'POST');
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ status: 'released', reason: 'manual', endedBy: expect.stringMatching(/^token:/) });
      const audit = await s.api(`/api/v1/audit-events?action=device.release&target=${await deviceId(waiting)}`);
      expect(audit.json.events).toHaveLength(1);
      const again = await as('operator', `/api/v1/devices/${waiting.udid}/release`, 'POST');
      expect(again.status).toBe(409);
      expect(again.json.message).toMatch(/already released at .* \(manual\)/);
      // the steps queued before still come first, then DeviceConfigured
      expect((await waiting.connect()).map((a) => a.requestType)).toEqual(['InstallProfile', 'Settings', 'DeviceConfigured']);
      expect(waiting.setupAssistant.configured).toBe(true);
    });

    it('refuses bad library input with a clear 4xx', async () => {
      const bad = await fetch(`${s.url}/api/v1/configuration-profiles`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/octet-stream' }, body: 'not a profile' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toMatch(/^the file is not a property list/);
      expect((await s.api('/api/v1/configuration-profiles', { body: { name: 'x' } })).json.message).toMatch(/send the .mobileconfig as the request body/);
      expect((await s.api('/api/v1/configuration-profiles', { body: { payload: '***' } })).json.message).toBe('payload is not base64');
      const enrollment = await s.api('/api/v1/configuration-profiles', { body: { payload: fixture('enroll.mobileconfig').toString('base64') } });
      expect(enrollment).toMatchObject({ status: 400, json: { error: 'invalid', message: expect.stringMatching(/MDM payload \(com.apple.mdm\)/) } });
      const dup = await s.api('/api/v1/configuration-profiles', { body: { payload: wifiProfile.toString('base64') } });
      expect(dup).toMatchObject({ status: 409, json: { message: expect.stringMatching(/PayloadIdentifier "com.example.wifi" \("Office Wi-Fi"\)/) } });

      expect(await s.api(`/api/v1/configuration-profiles/${library.wifi}/attachments`, { body: { depProfileId: 'no-such-profile' } })).toMatchObject({ status: 404, json: { message: 'no enrollment (DEP) profile "no-such-profile"' } });
      expect(await s.api(`/api/v1/configuration-profiles/${library.wifi}/attachments`, { body: { organizationGroupId: 'no-such-group' } })).toMatchObject({ status: 404, json: { message: 'no organization group "no-such-group"' } });
      expect((await s.api('/api/v1/configuration-profiles/no-such-id/attachments', { body: { organizationGroupId: 'global' } })).status).toBe(404);
      expect((await s.api(`/api/v1/configuration-profiles/${library.wifi}/attachments/dep-profile/${phoneProfile}`, { method: 'DELETE' })).status).toBe(404);
      expect((await s.api('/api/v1/organization-groups/global/configuration-profiles')).json.items.map((p: { name: string }) => p.name)).toEqual(['Chrome defaults']);

      expect((await s.api('/api/v1/devices/no-such-device/setup-plan')).status).toBe(404);
      expect((await s.api('/api/v1/devices/no-such-device/release', { method: 'POST' })).status).toBe(404);
      const plain = new SimulatedDevice({ platform: 'macOS' });
      await plain.enroll(await s.profile());
      expect((await s.api(`/api/v1/devices/${plain.udid}/setup-plan`)).json.message).toMatch(/no setup plan/);
      expect((await s.api(`/api/v1/devices/${plain.udid}/managed-admin-password`)).json.message).toMatch(/no managed administrator account/);
      expect((await s.api(`/api/v1/devices/${plain.udid}/release`, { method: 'POST' })).status).toBe(409);
      expect((await s.api(`/api/v1/devices/${plain.udid}`)).json.bootstrapToken).toEqual({ escrowed: false, escrowedAt: null, updatedAt: null });
    });

    it('never logs the bootstrap token', async () => {
      const lines: string[] = [];
      const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
      const app = await buildApp(s.ctx, { logger: { level: 'trace', stream } });
      const port = await freePort();
      await app.listen({ host: '127.0.0.1', port });
      try {
        const via = `http://127.0.0.1:${port}`;
        const mac = new SimulatedDevice({ platform: 'macOS', fetch: (url, init) => fetch(String(url).replace(s.url, via), init) });
        await mac.enroll(await s.profile());
        await mac.escrowBootstrapToken();
        const token = mac.setupAssistant.bootstrapToken!;
        expect(await mac.fetchBootstrapToken()).toEqual(token);
        expect(lines.some((l) => l.includes('SetBootstrapToken'))).toBe(true); // the check-ins were logged…
        const all = lines.join('\n');
        for (const form of [token.toString('base64'), token.toString('hex'), token.toString('base64url')]) expect(all).not.toContain(form); // …the token never
      } finally {
        await app.close();
      }
    });
  });
});
