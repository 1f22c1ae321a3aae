import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import type { Db } from '../db/database.js';
import { CheckinStore } from './checkin-store.js';
import { CommandStore, type Answer } from './command-store.js';

/** An enrolled channel as the check-in protocol leaves it: certificate bound, Authenticate, TokenUpdate. */
async function enrollChannel(db: Db, checkins: CheckinStore, id: string, opts: { tokenUpdate?: boolean; udid?: string } = {}): Promise<string> {
  const sha256 = `cert-${id}`;
  await db
    .insertInto('identity_certificates')
    .values({ sha256, enrollment_id: null, serial: '01', subject: `CN=${id}`, issued_by_pomona: 1, not_before: 0, not_after: 4e12, der: Buffer.from(id), created_at: 1, bound_at: null })
    .execute();
  const { deviceId } = await checkins.authenticate({ enrollmentId: id, type: 'Device', topic: 'com.apple.mgmt.test', facts: { udid: opts.udid ?? id }, rawPlist: '<a/>', certSha256: sha256 });
  if (opts.tokenUpdate !== false) {
    await checkins.tokenUpdate({ enrollmentId: id, parentId: null, channel: 'device', type: 'Device', topic: 'com.apple.mgmt.test', pushMagic: 'm', tokenHex: 'aa', unlockTokenEnc: null, awaitingConfiguration: false, rawPlist: '<t/>' }, deviceId);
  }
  return deviceId;
}

const answer = (commandUuid: string, status = 'Acknowledged', extra = ''): Answer => ({
  commandUuid, status, rawPlist: `<plist><dict><key>Status</key><string>${status}</string>${extra}</dict></plist>`, json: JSON.stringify({ Status: status, CommandUUID: commandUuid }),
});

describe.each(testDatabaseKinds)('CommandStore.report (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let clock = 1_000_000;
    let checkins: CheckinStore;
    let store: CommandStore;
    const queue = (uuid: string, requestType: string, ids: string[], priority = 0) =>
      store.enqueue({ uuid, requestType, plist: `<plist>${requestType} ${uuid}</plist>`, createdBy: null }, ids, priority);
    const row = (enrollmentId: string, uuid: string) =>
      db.db.selectFrom('command_queue').selectAll().where('enrollment_id', '=', enrollmentId).where('command_uuid', '=', uuid).executeTakeFirstOrThrow();

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      const now = () => clock;
      checkins = new CheckinStore(db.db, now);
      store = new CommandStore(db.db, now);
    });
    afterAll(async () => db?.dispose());

    it('Idle takes the highest priority, then the oldest command, marks it sent and returns its plist', async () => {
      const deviceId = await enrollChannel(db.db, checkins, 'E1');
      await queue('C-old', 'ProfileList', ['E1']);
      await queue('C-new', 'SecurityInfo', ['E1']);
      await queue('C-urgent', 'DeviceLock', ['E1'], 5);
      clock += 10;
      const out = await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1' });
      expect(out).toEqual({ deviceId, lastSeenAt: expect.any(Number), next: { uuid: 'C-urgent', requestType: 'DeviceLock', plist: '<plist>DeviceLock C-urgent</plist>' } });
      expect((await row('E1', 'C-urgent')).sent_at).toBe(clock);
      expect((await row('E1', 'C-old')).sent_at).toBeNull();
    });

    it('an answer is stored raw and as JSON and the next command comes back in the same statement', async () => {
      clock += 10;
      const a = answer('C-urgent', 'Acknowledged', '<key>X</key><string>1</string>');
      const out = await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1', answer: a });
      expect(out?.answeredRequestType).toBe('DeviceLock');
      expect(out?.next).toEqual({ uuid: 'C-old', requestType: 'ProfileList', plist: '<plist>ProfileList C-old</plist>' });
      const stored = await row('E1', 'C-urgent');
      expect(stored).toMatchObject({ status: 'Acknowledged', result_plist: a.rawPlist, result_json: a.json, answered_at: clock, not_now_count: 0 });
      expect((await row('E1', 'C-old')).sent_at).toBe(clock);
    });

    it('NotNow is counted and not offered again in the same session, only after the next Idle', async () => {
      clock += 10;
      const first = await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1', answer: answer('C-old', 'NotNow') });
      expect(first?.answeredRequestType).toBe('ProfileList');
      expect(first?.next?.uuid).toBe('C-new');
      expect(await row('E1', 'C-old')).toMatchObject({ status: 'NotNow', not_now_count: 1, not_now_at: clock });
      clock += 10;
      const second = await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1', answer: answer('C-new') });
      expect(second?.answeredRequestType).toBe('SecurityInfo');
      expect(second?.next).toBeUndefined();
      clock += 10;
      expect((await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1' }))?.next?.uuid).toBe('C-old');
      expect((await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1', answer: answer('C-old') }))?.next).toBeUndefined();
      expect(await row('E1', 'C-old')).toMatchObject({ status: 'Acknowledged', not_now_count: 1 });
    });

    it('an answer to an unknown command stores nothing but still delivers the next one', async () => {
      await queue('C-after', 'RestartDevice', ['E1']);
      const out = await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1', answer: answer('C-unknown') });
      expect(out?.answeredRequestType).toBeUndefined();
      expect(out?.next?.uuid).toBe('C-after');
      expect(await db.db.selectFrom('command_queue').select('command_uuid').where('command_uuid', '=', 'C-unknown').execute()).toEqual([]);
    });

    it('nothing to store and nothing to send: undefined', async () => {
      await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1', answer: answer('C-after') });
      expect(await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1' })).toBeUndefined();
    });

    it('a report sent again stores nothing and is not a new answer, yet the next command is handed out again; a changed or re-sent one is new', async () => {
      await enrollChannel(db.db, checkins, 'E5');
      await queue('C-r1', 'ProfileList', ['E5']);
      await queue('C-r2', 'SecurityInfo', ['E5']);
      await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5' });
      clock += 10;
      const first = await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: answer('C-r1', 'NotNow') });
      expect(first).toMatchObject({ answeredRequestType: 'ProfileList', next: { uuid: 'C-r2' } });
      const answeredAt = clock;
      clock += 10;
      // The device never heard back and sends the same report: same next command, nothing stored.
      const again = await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: answer('C-r1', 'NotNow') });
      expect(again?.answeredRequestType).toBeUndefined();
      expect(again?.next?.uuid).toBe('C-r2');
      expect(await row('E5', 'C-r1')).toMatchObject({ status: 'NotNow', not_now_count: 1, not_now_at: answeredAt, answered_at: answeredAt });
      clock += 10;
      await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: answer('C-r2') });
      clock += 10;
      // Nothing to store and nothing to send: undefined, as for any report that writes nothing.
      expect(await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: answer('C-r2') })).toBeUndefined();
      expect((await row('E5', 'C-r2')).answered_at).toBe(clock - 10);

      // Offered again after Idle and refused again: a new answer, counted.
      clock += 10;
      expect((await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5' }))?.next?.uuid).toBe('C-r1');
      clock += 10;
      expect((await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: answer('C-r1', 'NotNow') }))?.answeredRequestType).toBe('ProfileList');
      expect(await row('E5', 'C-r1')).toMatchObject({ not_now_count: 2, answered_at: clock });
      // A changed report of the same command: NotNow, then Acknowledged.
      clock += 10;
      expect((await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: answer('C-r1') }))?.answeredRequestType).toBe('ProfileList');
      expect(await row('E5', 'C-r1')).toMatchObject({ status: 'Acknowledged', not_now_count: 2, answered_at: clock });
      // Same status, other content: new too (the answer stored is the latest).
      clock += 10;
      const changed = answer('C-r1', 'Acknowledged', '<key>X</key><string>2</string>');
      expect((await store.report({ enrollmentId: 'E5', deviceChannelId: 'E5', answer: changed }))?.answeredRequestType).toBe('ProfileList');
      expect(await row('E5', 'C-r1')).toMatchObject({ result_plist: changed.rawPlist, answered_at: clock });
    });

    it('writes nothing for a pending channel, a removed one, or a user channel whose device channel is removed', async () => {
      await enrollChannel(db.db, checkins, 'E2', { tokenUpdate: false });
      await queue('C-p', 'ProfileList', ['E2']);
      expect(await store.report({ enrollmentId: 'E2', deviceChannelId: 'E2' })).toBeUndefined();
      expect(await store.report({ enrollmentId: 'E2', deviceChannelId: 'E2', answer: answer('C-p') })).toBeUndefined();
      expect(await row('E2', 'C-p')).toMatchObject({ status: 'Pending', sent_at: null, result_plist: null });

      const deviceId = await enrollChannel(db.db, checkins, 'E3');
      await checkins.tokenUpdate({ enrollmentId: 'E3:U', parentId: 'E3', channel: 'user', type: 'User', topic: 't', pushMagic: 'm', tokenHex: 'bb', unlockTokenEnc: null, awaitingConfiguration: false, rawPlist: '<u/>' }, deviceId);
      await queue('C-u', 'ProfileList', ['E3:U']);
      await queue('C-u2', 'SecurityInfo', ['E3:U']);
      expect((await store.report({ enrollmentId: 'E3:U', deviceChannelId: 'E3' }))?.next?.uuid).toBe('C-u');
      await db.db.updateTable('enrollments').set({ status: 'removed' }).where('id', '=', 'E3').execute();
      expect(await store.report({ enrollmentId: 'E3:U', deviceChannelId: 'E3', answer: answer('C-u') })).toBeUndefined();
      expect(await row('E3:U', 'C-u')).toMatchObject({ status: 'Pending', result_plist: null });
      expect((await row('E3:U', 'C-u2')).sent_at).toBeNull();

      await checkins.remove('E1');
      await queue('C-gone', 'ProfileList', ['E1']);
      expect(await store.report({ enrollmentId: 'E1', deviceChannelId: 'E1' })).toBeUndefined();
    });

    it('never offers a command a re-enrollment cleared', async () => {
      await enrollChannel(db.db, checkins, 'E4');
      await queue('C-cleared', 'ProfileList', ['E4']);
      await checkins.authenticate({ enrollmentId: 'E4', type: 'Device', topic: 't', facts: { udid: 'E4' }, rawPlist: '<a/>', certSha256: 'cert-E4' });
      await checkins.tokenUpdate({ enrollmentId: 'E4', parentId: null, channel: 'device', type: 'Device', topic: 't', pushMagic: 'm', tokenHex: 'aa', unlockTokenEnc: null, awaitingConfiguration: false, rawPlist: '<t/>' }, 'x');
      expect(await store.report({ enrollmentId: 'E4', deviceChannelId: 'E4' })).toBeUndefined();
      expect(await row('E4', 'C-cleared')).toMatchObject({ active: 0, sent_at: null });
    });

    it('queues a command for one channel or for several alike: pending, with its priority and time', async () => {
      const [d5, d6] = [await enrollChannel(db.db, checkins, 'Q1'), await enrollChannel(db.db, checkins, 'Q2')];
      clock += 10;
      await queue('C-both', 'ProfileList', ['Q2', 'Q1'], 3);
      await queue('C-one', 'SecurityInfo', ['Q1']);
      const waiting = { status: 'Pending', active: 1, not_now_count: 0, sent_at: null, answered_at: null, result_json: null };
      expect(await store.results('C-both')).toEqual([
        { enrollment_id: 'Q1', device_id: d5, queued_at: clock, ...waiting },
        { enrollment_id: 'Q2', device_id: d6, queued_at: clock, ...waiting },
      ]);
      expect(await store.results('C-one')).toEqual([{ enrollment_id: 'Q1', device_id: d5, queued_at: clock + 1, ...waiting }]);
      expect(await row('Q1', 'C-both')).toMatchObject({ priority: 3 });
      expect(await row('Q1', 'C-one')).toMatchObject({ priority: 0 });
      expect(await store.getCommand('C-one')).toMatchObject({ request_type: 'SecurityInfo', plist: '<plist>SecurityInfo C-one</plist>', created_at: clock + 1, created_by: null });
    });
  });
});
