/**
 * Hostile device input on the check-in and command endpoints: each gets a 4xx (never a 5xx),
 * a logged reason, and nothing written.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlist } from '../src/apple/plist.js';
import { signDetached } from '../src/apple/cms-sign.js';
import { createCaCertificate } from '../src/pki/ca.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

const TABLES = ['devices', 'enrollments', 'identity_certificates', 'command_queue', 'bootstrap_tokens'] as const;

describe.each(testDatabaseKinds)('device endpoints refuse bad input (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let s: TestServer;
    let device: SimulatedDevice;
    let foreign: { certificate: string; privateKey: string };

    beforeAll(async () => {
      s = await startTestServer(kind, { bodyLimit: 64 * 1024 });
      device = new SimulatedDevice();
      await device.enroll(await s.profile());
      // A well-formed identity Pomona never issued.
      const ca = await createCaCertificate({ commonName: 'Someone Else CA' });
      foreign = { certificate: ca.certPem, privateKey: ca.keyPem };
    });
    afterAll(async () => s?.close());

    const counts = async () => {
      const out: Record<string, number> = {};
      for (const t of TABLES) {
        const r = await s.ctx.database.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        out[t] = Number(r.n);
      }
      const e = await s.ctx.database.db.selectFrom('enrollments').select(['id', 'status', 'token_hex', 'updated_at']).orderBy('id').execute();
      return JSON.stringify({ out, e });
    };

    const put = async (path: string, body: Buffer | string, headers: Record<string, string>) => {
      const res = await fetch(`${s.url}${path}`, { method: 'PUT', headers, body: Buffer.from(body) });
      return { status: res.status, text: await res.text() };
    };
    const checkinHeaders = { 'content-type': 'application/x-apple-aspen-mdm-checkin' };
    const signedBy = (body: string | Buffer, signer: { certificate: string | Buffer; privateKey: string | import('node:crypto').KeyObject }) =>
      signDetached(Buffer.from(body), signer).toString('base64');
    // The device's own identity, for requests that must fail for another reason than the signature.
    const own = (body: string | Buffer) => (device as unknown as { identity: { certificate: Buffer; key: import('node:crypto').KeyObject } }).identity;

    const cases: Array<[string, () => Promise<{ status: number; text: string }>, number]> = [
      ['malformed plist', () => { const b = '<?xml version="1.0"?><plist><dict><key>MessageType'; return put('/mdm/checkin', b, { ...checkinHeaders, 'mdm-signature': signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key }) }); }, 400],
      ['XML entity expansion', () => {
        const b = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><plist version="1.0"><dict><key>MessageType</key><string>&lol2;</string></dict></plist>';
        return put('/mdm/checkin', b, { ...checkinHeaders, 'mdm-signature': signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key }) });
      }, 400],
      ['a body over the limit', () => put('/mdm/connect', 'x'.repeat(70 * 1024), {}), 413],
      ['a missing Mdm-Signature', () => put('/mdm/checkin', buildPlist({ MessageType: 'TokenUpdate', UDID: device.udid, Topic: 't', Token: Buffer.alloc(32), PushMagic: 'x' }), checkinHeaders), 400],
      ['an invalid Mdm-Signature', () => {
        const b = buildPlist({ Status: 'Idle', UDID: device.udid });
        const sig = signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key });
        return put('/mdm/connect', b.replace('Idle', 'Idlf'), { 'mdm-signature': sig });
      }, 400],
      ['a valid signature from a certificate Pomona did not issue', () => {
        const b = buildPlist({ MessageType: 'Authenticate', UDID: 'FOREIGN-UDID', Topic: device.topic });
        return put('/mdm/checkin', b, { ...checkinHeaders, 'mdm-signature': signedBy(b, foreign) });
      }, 400],
      ['an unknown UDID', () => {
        const b = buildPlist({ Status: 'Idle', UDID: 'NOT-A-KNOWN-UDID' });
        return put('/mdm/connect', b, { 'mdm-signature': signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key }) });
      }, 400],
      ['a wrong MessageType', () => {
        const b = buildPlist({ MessageType: 'Authenticat', UDID: device.udid, Topic: device.topic });
        return put('/mdm/checkin', b, { ...checkinHeaders, 'mdm-signature': signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key }) });
      }, 400],
      ['wrong types in fields', () => {
        const b = buildPlist({ MessageType: 'TokenUpdate', UDID: device.udid, Topic: device.topic, Token: 'not-data', PushMagic: 42 });
        return put('/mdm/checkin', b, { ...checkinHeaders, 'mdm-signature': signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key }) });
      }, 400],
      ['a garbage signature header', () => put('/mdm/connect', buildPlist({ Status: 'Idle', UDID: device.udid }), { 'mdm-signature': '!!!not base64!!!' }), 400],
      ['a result for a command that was never queued', async () => {
        const b = buildPlist({ Status: 'Acknowledged', UDID: device.udid, CommandUUID: 'NEVER-QUEUED' });
        return put('/mdm/connect', b, { 'mdm-signature': signedBy(b, { certificate: own(b).certificate, privateKey: own(b).key }) });
      }, 200],
    ];

    for (const [name, send, expected] of cases) {
      it(`${name} → ${expected}, nothing written`, async () => {
        const before = await counts();
        const res = await send();
        expect(res.status, res.text).toBe(expected);
        if (expected >= 400) expect(res.text.length).toBeGreaterThan(0);
        expect(await counts()).toBe(before);
      });
    }
  });
});
