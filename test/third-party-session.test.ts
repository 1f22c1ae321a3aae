/**
 * Replays the recorded exchange of an independent device client (mdmb) against Pomona:
 * its Authenticate and TokenUpdate, signed with an identity from another CA (trusted here as
 * a migration CA), then Idle and its command results. Same bodies, same Mdm-Signature headers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlist } from '../src/apple/plist.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

const DIR = join(import.meta.dirname, 'fixtures/apple/third-party-client-session/mdm');
const SESSION_CA = join(import.meta.dirname, 'fixtures/scep/mdmb-scep-ca.pem');
const step = (name: string) => {
  const exchange = JSON.parse(readFileSync(join(DIR, `${name}.exchange.json`), 'utf8')) as { req_headers: Record<string, string>; status: number };
  return { body: readFileSync(join(DIR, `${name}.request.plist`)), headers: exchange.req_headers, status: exchange.status };
};
const responseUuid = (name: string) => parsePlist(readFileSync(join(DIR, `${name}.response.plist`))).CommandUUID as string;

describe.each(testDatabaseKinds)('recorded third-party client session (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { trustedIdentityCaFile: SESSION_CA });
    });
    afterAll(async () => s?.close());

    const replay = async (name: string) => {
      const { body, headers } = step(name);
      const h: Record<string, string> = { 'mdm-signature': headers['Mdm-Signature'] };
      if (headers['Content-Type']) h['content-type'] = headers['Content-Type'];
      const res = await fetch(`${s.url}/mdm`, { method: 'PUT', headers: h, body });
      return { status: res.status, body: await res.text() };
    };

    it('accepts the check-ins and delivers commands in order', async () => {
      expect((await replay('01-Authenticate')).status).toBe(200);
      expect((await replay('02-TokenUpdate')).status).toBe(200);
      const udid = parsePlist(step('01-Authenticate').body).UDID as string;
      // Queue the commands the recorded server sent, under the same UUIDs, so the recorded results match.
      for (const [name, type] of [['03-Idle', 'DeviceInformation'], ['04-DeviceInformation-Acknowledged', 'ProfileList'], ['05-ProfileList-Acknowledged', 'DeviceConfigured']] as const) {
        const uuid = responseUuid(name);
        const plist = readFileSync(join(DIR, `${name}.response.plist`), 'utf8');
        await s.ctx.commandStore.enqueue({ uuid, requestType: type, plist, createdBy: 'test' }, [udid]);
      }
      const idle = await replay('03-Idle');
      expect(idle.status).toBe(200);
      expect(parsePlist(idle.body).CommandUUID).toBe(responseUuid('03-Idle'));
      expect(parsePlist((await replay('04-DeviceInformation-Acknowledged')).body).CommandUUID).toBe(responseUuid('04-DeviceInformation-Acknowledged'));
      expect(parsePlist((await replay('05-ProfileList-Acknowledged')).body).CommandUUID).toBe(responseUuid('05-ProfileList-Acknowledged'));
      const last = await replay('06-DeviceConfigured-Error');
      expect(last).toEqual({ status: 200, body: '' });
      const status = await s.api(`/api/v1/commands/${responseUuid('05-ProfileList-Acknowledged')}`);
      expect(status.json.results[0].status).toBe('Error');
      const dev = await s.api(`/api/v1/devices/${udid}`);
      expect(dev.json.device.deviceName).toBeTruthy();
    });

    it('refuses the same identity without the migration CA trust', async () => {
      const plain = await startTestServer(kind);
      try {
        const { body, headers } = step('01-Authenticate');
        const res = await fetch(`${plain.url}/mdm/checkin`, { method: 'PUT', headers: { 'content-type': headers['Content-Type'], 'mdm-signature': headers['Mdm-Signature'] }, body });
        expect(res.status).toBe(400);
      } finally {
        await plain.close();
      }
    });
  });
});
