import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { buildCommand } from '../apple/commands.js';
import type { DeviceMessage } from './checkin-service.js';
import { CheckinStore } from './checkin-store.js';
import { CommandService } from './command-service.js';
import { CommandStore } from './command-store.js';
import { DeviceRefusal } from './device-refusal.js';
import { DeviceStore } from './device-store.js';
import { IdentityAuth } from './identity-auth.js';
import { MdmEvents, type MdmEventMap } from './mdm-events.js';

describe.each(testDatabaseKinds)('CommandService.connect (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let clock = 1_000_000_000;
    let checkins: CheckinStore;
    let service: CommandService;
    const results: Array<MdmEventMap['commandResult']> = [];
    const cert = (id: string) => ({ der: Buffer.from(id), sha256: `sha-${id}` });

    async function enroll(id: string, opts: { tokenUpdate?: boolean } = {}): Promise<string> {
      await db.db
        .insertInto('identity_certificates')
        .values({ sha256: `sha-${id}`, enrollment_id: null, serial: '01', subject: `CN=${id}`, issued_by_pomona: 1, not_before: 0, not_after: 4e12, der: Buffer.from(id), created_at: 1, bound_at: null })
        .execute();
      const { deviceId } = await checkins.authenticate({ enrollmentId: id, type: 'Device', topic: 't', facts: { udid: id }, rawPlist: '<a/>', certSha256: `sha-${id}` });
      if (opts.tokenUpdate !== false) await tokenUpdate(id, deviceId);
      return deviceId;
    }
    const tokenUpdate = (id: string, deviceId: string, parentId: string | null = null) =>
      checkins.tokenUpdate({ enrollmentId: id, parentId, channel: parentId ? 'user' : 'device', type: parentId ? 'User' : 'Device', topic: 't', pushMagic: 'm', tokenHex: 'aa', unlockTokenEnc: null, awaitingConfiguration: false, rawPlist: '<t/>' }, deviceId);
    const report = (udid: string, raw: Record<string, unknown>, userId?: string): DeviceMessage => ({
      messageType: 'CommandReport',
      identity: userId
        ? { deviceId: udid, enrollmentId: `${udid}:${userId}`, channel: 'user', type: 'User', userId }
        : { deviceId: udid, enrollmentId: udid, channel: 'device', type: 'Device' },
      raw: { UDID: udid, ...(userId ? { UserID: userId } : {}), ...raw },
      rawPlist: `<plist>${JSON.stringify(raw)}</plist>`,
    });
    const idle = (udid: string, userId?: string) => report(udid, { Status: 'Idle' }, userId);
    const ack = (udid: string, uuid: string, more: Record<string, unknown> = {}) => report(udid, { Status: 'Acknowledged', CommandUUID: uuid, ...more });
    const enqueue = async (target: string, command: Record<string, unknown>) => (await service.enqueue({ targets: [target], command, push: false })).commandUuid;
    const lastSeen = async (id: string) => (await db.db.selectFrom('enrollments').select('last_seen_at').where('id', '=', id).executeTakeFirstOrThrow()).last_seen_at;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      const now = () => clock;
      checkins = new CheckinStore(db.db, now);
      const events = new MdmEvents();
      events.on('commandResult', (e) => void results.push(e));
      service = new CommandService({
        commands: new CommandStore(db.db, now), checkins, devices: new DeviceStore(db.db), auth: new IdentityAuth(checkins, [], now),
        events, build: (c) => buildCommand(c), push: { push: async () => [] }, now,
      });
    });
    afterAll(async () => db?.dispose());

    it('delivers, stores, emits one event per stored answer and absorbs DeviceInformation', async () => {
      const deviceId = await enroll('UDID-1');
      const info = await enqueue('UDID-1', { RequestType: 'DeviceInformation', Queries: ['DeviceName', 'OSVersion'] });
      const list = await enqueue('UDID-1', { RequestType: 'ProfileList' });
      const first = await service.connect(idle('UDID-1'), cert('UDID-1'));
      expect(first).toMatchObject({ kind: 'command', uuid: info });
      const second = await service.connect(ack('UDID-1', info, { QueryResponses: { DeviceName: 'Kiosk', OSVersion: '18.1' } }), cert('UDID-1'));
      expect(second).toMatchObject({ kind: 'command', uuid: list });
      expect(await service.connect(ack('UDID-1', list), cert('UDID-1'))).toEqual({ kind: 'empty' });
      expect(results.map((r) => [r.requestType, r.deviceId])).toEqual([['DeviceInformation', deviceId], ['ProfileList', deviceId]]);
      const device = await db.db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirstOrThrow();
      expect(device).toMatchObject({ device_name: 'Kiosk', os_version: '18.1' });
      const status = await service.status(info);
      expect(status?.results[0]).toMatchObject({ status: 'Acknowledged', result: { QueryResponses: { DeviceName: 'Kiosk' } } });
    });

    it('a report sent again after a lost reply is one result: one event, the first answer time kept; a changed report is another', async () => {
      await enroll('UDID-8');
      const uuid = await enqueue('UDID-8', { RequestType: 'ProfileList' });
      const later = await enqueue('UDID-8', { RequestType: 'SecurityInfo' });
      await service.connect(idle('UDID-8'), cert('UDID-8'));
      const notNow = report('UDID-8', { Status: 'NotNow', CommandUUID: uuid });
      const mark = results.length;
      expect(await service.connect(notNow, cert('UDID-8'))).toMatchObject({ kind: 'command', uuid: later });
      const answeredAt = clock;
      clock += 1_000;
      expect(await service.connect(notNow, cert('UDID-8'))).toMatchObject({ kind: 'command', uuid: later });
      expect(await service.connect(ack('UDID-8', later), cert('UDID-8'))).toEqual({ kind: 'empty' });
      expect(await service.connect(ack('UDID-8', later), cert('UDID-8'))).toEqual({ kind: 'empty' });
      expect((await service.status(uuid))?.results[0]).toMatchObject({ status: 'NotNow', notNowCount: 1, answeredAt });
      expect(await service.connect(ack('UDID-8', uuid), cert('UDID-8'))).toEqual({ kind: 'empty' });
      expect(results.slice(mark).map((r) => [r.commandUuid, r.status])).toEqual([[uuid, 'NotNow'], [later, 'Acknowledged'], [uuid, 'Acknowledged']]);
    });

    it('writes last_seen_at at most once a minute', async () => {
      await enroll('UDID-2');
      const touch = vi.spyOn(checkins, 'touch');
      const seenAtEnrollment = await lastSeen('UDID-2');
      clock += 30_000;
      await service.connect(idle('UDID-2'), cert('UDID-2'));
      expect(touch).not.toHaveBeenCalled();
      expect(await lastSeen('UDID-2')).toBe(seenAtEnrollment);
      clock += 31_000;
      const uuid = await enqueue('UDID-2', { RequestType: 'SecurityInfo' });
      await service.connect(idle('UDID-2'), cert('UDID-2'));
      expect(touch).toHaveBeenCalledTimes(1);
      expect(await lastSeen('UDID-2')).toBe(clock);
      clock += 1_000;
      await service.connect(ack('UDID-2', uuid), cert('UDID-2'));
      expect(touch).toHaveBeenCalledTimes(1);
      touch.mockRestore();
    });

    it('a channel waiting for TokenUpdate gets nothing and stores nothing, but is seen', async () => {
      await enroll('UDID-3', { tokenUpdate: false });
      const uuid = await enqueue('UDID-3', { RequestType: 'ProfileList' });
      clock += 61_000;
      expect(await service.connect(idle('UDID-3'), cert('UDID-3'))).toEqual({ kind: 'empty' });
      expect(await service.connect(ack('UDID-3', uuid), cert('UDID-3'))).toEqual({ kind: 'empty' });
      expect((await service.status(uuid))?.results[0]).toMatchObject({ status: 'Pending', sentAt: null });
      expect(await lastSeen('UDID-3')).toBe(clock);
    });

    it('refuses a checked-out channel (com.apple.unrecognized.device) and writes nothing', async () => {
      await enroll('UDID-4');
      const uuid = await enqueue('UDID-4', { RequestType: 'ProfileList' });
      await service.connect(idle('UDID-4'), cert('UDID-4')); // the certificate is now remembered
      await checkins.remove('UDID-4');
      for (const msg of [idle('UDID-4'), ack('UDID-4', uuid)]) {
        const err = await service.connect(msg, cert('UDID-4')).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(DeviceRefusal);
        expect((err as DeviceRefusal).kind).toBe('unrecognized');
      }
      expect((await service.status(uuid))?.results[0]).toMatchObject({ status: 'Cleared', answeredAt: null, result: null });
    });

    it('serves a user channel its own queue, and refuses it once the device channel is removed', async () => {
      const deviceId = await enroll('UDID-5');
      await tokenUpdate('UDID-5:U1', deviceId, 'UDID-5');
      const uuid = await enqueue('UDID-5:U1', { RequestType: 'ProfileList' });
      expect(await service.connect(idle('UDID-5'), cert('UDID-5'))).toEqual({ kind: 'empty' });
      expect(await service.connect(idle('UDID-5', 'U1'), cert('UDID-5'))).toMatchObject({ kind: 'command', uuid });
      await db.db.updateTable('enrollments').set({ status: 'removed' }).where('id', '=', 'UDID-5').execute();
      const err = await service.connect(idle('UDID-5', 'U1'), cert('UDID-5')).then(() => undefined, (e: unknown) => e);
      expect((err as DeviceRefusal).kind).toBe('unrecognized');
    });

    it('a re-enrollment with a new certificate: pending (queue cleared) until TokenUpdate, then served', async () => {
      const deviceId = await enroll('UDID-7');
      const before = await enqueue('UDID-7', { RequestType: 'ProfileList' });
      await service.connect(idle('UDID-7'), cert('UDID-7')); // old certificate remembered, command sent
      await db.db
        .insertInto('identity_certificates')
        .values({ sha256: 'sha-UDID-7-new', enrollment_id: null, serial: '02', subject: 'CN=UDID-7', issued_by_pomona: 1, not_before: 0, not_after: 4e12, der: Buffer.from('new'), created_at: 1, bound_at: null })
        .execute();
      await checkins.authenticate({ enrollmentId: 'UDID-7', type: 'Device', topic: 't', facts: { udid: 'UDID-7' }, rawPlist: '<a/>', certSha256: 'sha-UDID-7-new' });
      const fresh = { der: Buffer.from('new'), sha256: 'sha-UDID-7-new' };
      expect(await service.connect(ack('UDID-7', before), fresh)).toEqual({ kind: 'empty' });
      expect(await service.connect(idle('UDID-7'), cert('UDID-7'))).toEqual({ kind: 'empty' });
      expect((await service.status(before))?.results[0]).toMatchObject({ status: 'Cleared', result: null });
      await tokenUpdate('UDID-7', deviceId);
      const after = await enqueue('UDID-7', { RequestType: 'SecurityInfo' });
      expect(await service.connect(idle('UDID-7'), fresh)).toMatchObject({ kind: 'command', uuid: after });
    });

    it('refuses a certificate bound to another device, from memory too', async () => {
      await enroll('UDID-6');
      await service.connect(idle('UDID-6'), cert('UDID-6'));
      const err = await service.connect(idle('UDID-1'), cert('UDID-6')).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceRefusal);
      expect((err as DeviceRefusal).kind).toBe('bad-request');
    });
  });
});
