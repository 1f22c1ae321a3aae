import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEnrollmentProfile, MobileconfigError, type EnrollmentProfileOptions } from './mobileconfig.js';
import { parsePlist, type PlistDict, type PlistValue } from './plist.js';

const sample = parsePlist(readFileSync(new URL('../../test/fixtures/apple/mdm-samples/profiles/enroll.mobileconfig', import.meta.url)));

const base: EnrollmentProfileOptions = {
  serverUrl: 'https://mdm.example.org/mdm/connect',
  checkInUrl: 'https://mdm.example.org/mdm/checkin',
  topic: 'com.apple.mgmt.External.e2e-test',
  scepUrl: 'https://mdm.example.org/scep',
  challenge: 'one-time-secret',
};

const kind = (v: PlistValue | undefined) =>
  v === undefined ? 'missing' : Buffer.isBuffer(v) ? 'data' : v instanceof Date ? 'date' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'real') : typeof v;

/** Every key of `shape`, recursively, exists in `actual` with the same plist type. */
function expectShape(actual: PlistValue | undefined, shape: PlistValue, path = ''): void {
  expect(kind(actual), path).toBe(kind(shape));
  if (Array.isArray(shape)) shape.forEach((s, k) => expectShape((actual as PlistValue[])[k], s, `${path}[${k}]`));
  else if (kind(shape) === 'object') for (const [k, s] of Object.entries(shape as PlistDict)) expectShape((actual as PlistDict)[k], s, `${path}.${k}`);
}

const payload = (p: PlistDict, type: string) => (p.PayloadContent as PlistDict[]).find((x) => x.PayloadType === type)!;

describe('buildEnrollmentProfile', () => {
  const xml = buildEnrollmentProfile(base);
  const profile = parsePlist(xml);
  const scep = payload(profile, 'com.apple.security.scep');
  const mdm = payload(profile, 'com.apple.mdm');

  it("has every key of NanoMDM's enroll.mobileconfig, with the same types", () => {
    expectShape(profile, sample);
  });

  it('fills the SCEP payload', () => {
    expect(scep.PayloadContent).toEqual({
      URL: 'https://mdm.example.org/scep', Name: 'Device Management Identity Certificate',
      Subject: [[['O', 'Pomona']], [['CN', 'Pomona Identity (%ComputerName%)']]],
      Challenge: 'one-time-secret', Keysize: 2048, 'Key Type': 'RSA', 'Key Usage': 5,
    });
    expect(scep.PayloadVersion).toBe(1);
  });

  it('fills the MDM payload', () => {
    expect(mdm).toMatchObject({
      ServerURL: base.serverUrl, CheckInURL: base.checkInUrl, Topic: base.topic, IdentityCertificateUUID: scep.PayloadUUID,
      AccessRights: 8191, SignMessage: true, CheckOutWhenRemoved: true,
      ServerCapabilities: ['com.apple.mdm.per-user-connections', 'com.apple.mdm.bootstraptoken', 'com.apple.mdm.token'],
    });
    expect(mdm).not.toHaveProperty('UseDevelopmentAPNS');
  });

  it('fills the top level', () => {
    expect(profile).toMatchObject({
      PayloadType: 'Configuration', PayloadVersion: 1, PayloadIdentifier: 'com.pomona.enrollment', PayloadScope: 'System',
      PayloadOrganization: 'Pomona', PayloadDisplayName: 'Pomona Enrollment',
    });
    expect(profile.PayloadDescription).toMatch(/Pomona/);
    const uuids = [profile.PayloadUUID, scep.PayloadUUID, mdm.PayloadUUID];
    for (const u of uuids) expect(u).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(new Set(uuids).size).toBe(3);
  });

  it('derives stable UUIDs per server, so a re-sent profile replaces the installed one', () => {
    const again = parsePlist(buildEnrollmentProfile({ ...base, challenge: 'another' }));
    expect(again.PayloadUUID).toBe(profile.PayloadUUID);
    expect(payload(again, 'com.apple.mdm').PayloadUUID).toBe(mdm.PayloadUUID);
    const elsewhere = parsePlist(buildEnrollmentProfile({ ...base, topic: 'com.apple.mgmt.External.other' }));
    expect(elsewhere.PayloadUUID).not.toBe(profile.PayloadUUID);
  });

  it('carries the optional keys', () => {
    const certUuid = '11111111-2222-3333-4444-555555555555';
    const p = parsePlist(
      buildEnrollmentProfile({
        ...base, organization: 'Acme', identifier: 'com.acme.mdm', displayName: 'Acme MDM', description: 'd', scope: 'User', keysize: 4096, keyUsage: 1,
        scepName: 'acme-ca', subject: [[['CN', 'x']]], caFingerprint: Buffer.from('fp'), accessRights: 1 | 2 | 16,
        signMessage: false, checkOutWhenRemoved: false, serverCapabilities: ['com.apple.mdm.per-user-connections'], useDevelopmentApns: true,
        assignedManagedAppleId: 'ann@acme.example', enrollmentMode: 'ADDE', serverUrlPinningCertificateUuids: [certUuid], pinningRevocationCheckRequired: true,
        profileUuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
        extraPayloads: [{ PayloadType: 'com.apple.security.root', PayloadIdentifier: 'com.acme.mdm.ca', PayloadUUID: certUuid, PayloadVersion: 1, PayloadContent: Buffer.from('der') }],
      }),
    );
    expect(p).toMatchObject({ PayloadIdentifier: 'com.acme.mdm', PayloadOrganization: 'Acme', PayloadDisplayName: 'Acme MDM', PayloadScope: 'User', PayloadUUID: 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE' });
    expect(payload(p, 'com.apple.security.root').PayloadContent).toEqual(Buffer.from('der'));
    expect(payload(p, 'com.apple.security.scep').PayloadContent).toMatchObject({ Keysize: 4096, 'Key Usage': 1, Name: 'acme-ca', Subject: [[['CN', 'x']]], CAFingerprint: Buffer.from('fp') });
    expect(payload(p, 'com.apple.mdm')).toMatchObject({
      AccessRights: 19, SignMessage: false, CheckOutWhenRemoved: false, UseDevelopmentAPNS: true, AssignedManagedAppleID: 'ann@acme.example',
      EnrollmentMode: 'ADDE', ServerURLPinningCertificateUUIDs: [certUuid], PinningRevocationCheckRequired: true, PayloadIdentifier: 'com.acme.mdm.mdm',
    });
  });

  it('leaves AccessRights out of a BYOD (user enrollment) profile, which the device would otherwise cancel', () => {
    const p = parsePlist(buildEnrollmentProfile({ ...base, assignedManagedAppleId: 'ann@acme.example', enrollmentMode: 'BYOD', managedAppleId: 'ann@acme.example' }));
    const m = payload(p, 'com.apple.mdm');
    expect(m).toMatchObject({ AssignedManagedAppleID: 'ann@acme.example', EnrollmentMode: 'BYOD', ManagedAppleID: 'ann@acme.example' });
    expect(m).not.toHaveProperty('AccessRights');
    expect(() => buildEnrollmentProfile({ ...base, enrollmentMode: 'BYOD', accessRights: 1 })).toThrow(/cannot be set for a BYOD/);
  });

  it('allows http for local testing and leaves CheckInURL out when not given', () => {
    const p = parsePlist(buildEnrollmentProfile({ ...base, serverUrl: 'http://127.0.0.1:9000/mdm', checkInUrl: undefined }));
    expect(payload(p, 'com.apple.mdm')).not.toHaveProperty('CheckInURL');
  });

  it.each<[Partial<EnrollmentProfileOptions>, RegExp]>([
    [{ serverUrl: 'ftp://x/mdm' }, /serverUrl must be an http\(s\) URL/],
    [{ checkInUrl: 'not a url' }, /checkInUrl/],
    [{ scepUrl: '' }, /scepUrl/],
    [{ topic: 'com.example.push' }, /topic must start with com.apple.mgmt./],
    [{ keysize: 3072 as 2048 }, /keysize/],
    [{ keyUsage: 2 as 1 }, /keyUsage/],
    [{ challenge: '' }, /challenge/],
    [{ accessRights: 0 }, /accessRights/],
    [{ accessRights: 8192 }, /accessRights/],
    [{ accessRights: 2 }, /requires bit 1/],
    [{ accessRights: 1 | 128 }, /requires bit 64/],
    [{ subject: [[['CN']]] as never }, /subject/],
    [{ serverCapabilities: ['com.apple.mdm.nope' as never] }, /unknown server capability/],
    [{ serverCapabilities: ['com.apple.mdm.token', 'com.apple.mdm.token'] }, /unique/],
    [{ assignedManagedAppleId: 'a@b.c' }, /needs enrollmentMode/],
    [{ identifier: 'has space' }, /identifier/],
    [{ profileUuid: 'nope' }, /profileUuid is not a UUID/],
    [{ scepPayloadUuid: '11111111-2222-3333-4444-555555555555', mdmPayloadUuid: '11111111-2222-3333-4444-555555555555' }, /distinct/],
    [{ serverUrlPinningCertificateUuids: ['x'] }, /pinning/],
    [{ extraPayloads: [{ PayloadType: 'x' }] }, /extra payloads/],
  ])('refuses %o', (override, message) => {
    expect(() => buildEnrollmentProfile({ ...base, ...override })).toThrow(MobileconfigError);
    expect(() => buildEnrollmentProfile({ ...base, ...override })).toThrow(message);
  });

  it('is the Apple XML format', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC')).toBe(true);
    expect(xml).toContain('<key>Key Type</key>');
  });
});
