/**
 * The whole loop over real HTTP on loopback, on each database: profile download, SCEP,
 * Authenticate/TokenUpdate with Mdm-Signature, commands pushed through the APNs simulator,
 * answered by simulated devices, NotNow, a macOS user channel, re-enrollment and CheckOut.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, until, type TestServer } from './support/server.js';

describe.each(testDatabaseKinds)('MDM loop (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let s: TestServer;
    let iphone: SimulatedDevice;
    let mac: SimulatedDevice;

    beforeAll(async () => {
      s = await startTestServer(kind);
      iphone = new SimulatedDevice({ platform: 'iOS' });
      mac = new SimulatedDevice({ platform: 'macOS' });
      await iphone.enroll(await s.profile());
      await mac.enroll(await s.profile({ unsigned: true }));
      s.wake(iphone);
      s.wake(mac);
    });
    afterAll(async () => s?.close());

    it('enrolls devices once each, active with push tokens', async () => {
      const { json } = await s.api('/api/v1/devices');
      expect(json.total).toBe(2);
      const { json: detail } = await s.api(`/api/v1/devices/${iphone.udid}`);
      expect(detail.device.serialNumber).toBe(iphone.serialNumber);
      expect(detail.enrollments).toHaveLength(1);
      expect(detail.enrollments[0]).toMatchObject({ id: iphone.udid, status: 'active', hasPushToken: true, channel: 'device' });
    });

    it('delivers a command through a push and stores the result', async () => {
      const { status, json } = await s.api('/api/v1/commands', { body: { devices: [iphone.serialNumber], command: { RequestType: 'DeviceInformation', Queries: ['DeviceName', 'OSVersion', 'SerialNumber'] } } });
      expect(status).toBe(201);
      expect(json.targets[0]).toMatchObject({ status: 'queued', enrollmentId: iphone.udid });
      expect(json.pushes[0]).toMatchObject({ status: 'sent' });
      const done = await s.commandSettled(json.commandUuid);
      expect(done.results[0].status).toBe('Acknowledged');
      expect(done.results[0].result.QueryResponses.SerialNumber).toBe(iphone.serialNumber);
      const push = s.apns.pushes.find((p) => p.token === iphone.pushToken);
      expect(push?.topic).toBe(iphone.topic);
    });

    it('answers every typed command of the core set', async () => {
      const commands = [
        { RequestType: 'SecurityInfo' }, { RequestType: 'ProfileList' }, { RequestType: 'InstalledApplicationList' },
        { RequestType: 'RemoveProfile', Identifier: 'com.example.none' }, { RequestType: 'DeviceLock', Message: 'Call IT' },
        { RequestType: 'RestartDevice' }, { RequestType: 'ShutDownDevice' }, { RequestType: 'DeviceConfigured' },
        { RequestType: 'Settings', Settings: [{ Item: 'DeviceName', DeviceName: 'Kiosk 1' }] },
        { RequestType: 'InstallProfile', Payload: Buffer.from(PROFILE).toString('base64') },
        { RequestType: 'EraseDevice', PIN: '123456' },
      ];
      for (const command of commands) {
        const { status, json } = await s.api('/api/v1/commands', { body: { devices: [mac.udid], command, push: false } });
        expect(status, JSON.stringify(json)).toBe(201);
      }
      await mac.connect();
      const answered = mac.answered.map((a) => a.requestType);
      for (const c of commands) expect(answered).toContain(c.RequestType);
      expect(mac.installedProfiles.map((p) => p.identifier)).toContain('com.example.wifi');
    });

    it('re-offers a NotNow command on the next session, not in the same one', async () => {
      iphone.notNow = ['ProfileList'];
      const a = await s.api('/api/v1/commands', { body: { devices: [iphone.udid], command: { RequestType: 'ProfileList' }, push: false } });
      const b = await s.api('/api/v1/commands', { body: { devices: [iphone.udid], command: { RequestType: 'SecurityInfo' }, push: false } });
      const first = await iphone.connect();
      expect(first.map((x) => `${x.requestType}:${x.status}`)).toEqual(['ProfileList:NotNow', 'SecurityInfo:Acknowledged']);
      const second = await iphone.connect();
      expect(second.map((x) => `${x.requestType}:${x.status}`)).toEqual(['ProfileList:Acknowledged']);
      const { json } = await s.api(`/api/v1/commands/${a.json.commandUuid}`);
      expect(json.results[0]).toMatchObject({ status: 'Acknowledged', notNowCount: 1 });
      expect((await s.api(`/api/v1/commands/${b.json.commandUuid}`)).json.results[0].status).toBe('Acknowledged');
    });

    it('keeps a separate queue for the macOS user channel', async () => {
      await mac.openUserChannel({ shortName: 'jane', longName: 'Jane Appleseed' });
      s.wake(mac);
      const userEnrollment = `${mac.udid}:${mac.userId}`;
      const { json } = await s.api('/api/v1/commands', { body: { devices: [userEnrollment], command: { RequestType: 'ProfileList' } } });
      expect(json.targets[0]).toMatchObject({ status: 'queued', enrollmentId: userEnrollment });
      const done = await s.commandSettled(json.commandUuid);
      expect(done.results[0]).toMatchObject({ enrollmentId: userEnrollment, status: 'Acknowledged' });
      expect(await mac.connect('device')).toEqual([]);
      const { json: detail } = await s.api(`/api/v1/devices/${mac.udid}`);
      expect(detail.enrollments.map((e: { channel: string }) => e.channel).sort()).toEqual(['device', 'user']);
    });

    it('treats a new Authenticate as a re-enrollment: queue cleared, inactive until TokenUpdate, no duplicate', async () => {
      const { json } = await s.api('/api/v1/commands', { body: { devices: [iphone.udid], command: { RequestType: 'SecurityInfo' }, push: false } });
      await iphone.authenticate();
      expect(await iphone.connect()).toEqual([]);
      expect((await s.api(`/api/v1/devices/${iphone.udid}`)).json.enrollments[0].status).toBe('pending');
      await iphone.tokenUpdate();
      expect(await iphone.connect()).toEqual([]);
      const { json: cmd } = await s.api(`/api/v1/commands/${json.commandUuid}`);
      expect(cmd.results[0].status).toBe('Cleared');
      expect((await s.api('/api/v1/devices')).json.total).toBe(2);
    });

    it('escrows and returns the bootstrap token sealed at rest', async () => {
      const token = Buffer.from('bootstrap-token-secret-value');
      await mac.checkin({ MessageType: 'SetBootstrapToken', UDID: mac.udid, BootstrapToken: token, AwaitingConfiguration: false });
      const res = await mac.checkin({ MessageType: 'GetBootstrapToken', UDID: mac.udid });
      expect(res.body.toString()).toContain(token.toString('base64'));
      const row = await s.ctx.database.db.selectFrom('bootstrap_tokens').selectAll().executeTakeFirstOrThrow();
      expect(Buffer.from(row.token_enc).includes(token)).toBe(false);
    });

    it('answers the optional check-ins as Apple expects', async () => {
      expect((await mac.checkin({ MessageType: 'UserAuthenticate', UDID: mac.udid, UserID: 'ABC', UserShortName: 'x', UserLongName: 'X' }, { allowError: true })).status).toBe(410);
      const ddm = await mac.checkin({ MessageType: 'DeclarativeManagement', UDID: mac.udid, Endpoint: 'tokens' }, { allowError: true });
      expect(ddm.status).toBe(404);
      expect(ddm.body.toString()).toMatch(/not supported/);
    });

    it('marks a token invalid when APNs says Unregistered', async () => {
      s.apns.markUnregistered(mac.pushToken);
      const { json } = await s.api(`/api/v1/devices/${mac.udid}/push`, { method: 'POST' });
      expect(json.pushes.find((p: { enrollmentId: string }) => p.enrollmentId === mac.udid).status).toBe('invalid-token');
      const e = (await s.api(`/api/v1/devices/${mac.udid}`)).json.enrollments.find((x: { channel: string }) => x.channel === 'device');
      expect(e.pushTokenInvalid).toBe(true);
    });

    it('unenrolls a checked-out device with com.apple.unrecognized.device', async () => {
      await iphone.checkOut();
      await expect(iphone.connect()).rejects.toThrow(/403.*com\.apple\.unrecognized\.device/);
      expect((await s.api(`/api/v1/devices/${iphone.udid}`)).json.enrollments[0].status).toBe('removed');
      const again = await s.api('/api/v1/commands', { body: { devices: [iphone.udid], command: { RequestType: 'ProfileList' } } });
      expect(again.json.targets[0].status).toBe('not-enrolled');
    });

    it('refuses unauthenticated admin requests', async () => {
      const res = await fetch(`${s.url}/api/v1/devices`);
      expect(res.status).toBe(401);
      const doc = await fetch(`${s.url}/api/docs/json`);
      expect((await doc.json()).paths['/api/v1/commands']).toBeDefined();
      await until(async () => true);
    });
  });
});

const PROFILE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadContent</key><array/>
<key>PayloadIdentifier</key><string>com.example.wifi</string>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadUUID</key><string>6C1E0D8B-2C8A-4E57-9D55-0D5D7B8E1C11</string>
<key>PayloadVersion</key><integer>1</integer>
</dict></plist>`;
