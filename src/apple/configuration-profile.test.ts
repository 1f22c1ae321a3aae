import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signAttached } from './cms-sign.js';
import { buildBinaryPlist } from './binary-plist.js';
import { buildPlist } from './plist.js';
import { createTestPushCertificate } from './push-certificate.js';
import { ConfigurationProfileError, MAX_CONFIGURATION_PROFILE_BYTES, readConfigurationProfile } from './configuration-profile.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/apple/mdm-samples/profiles/${name}`, import.meta.url));

const profile = (over: Record<string, unknown> = {}) => ({
  PayloadType: 'Configuration',
  PayloadIdentifier: 'com.example.wifi',
  PayloadUUID: '6C1E0D8B-2C8A-4E57-9D55-0D5D7B8E1C11',
  PayloadVersion: 1,
  PayloadDisplayName: 'Office Wi-Fi',
  PayloadContent: [{ PayloadType: 'com.apple.wifi.managed', PayloadIdentifier: 'com.example.wifi.1', PayloadUUID: 'A1', PayloadVersion: 1 }],
  ...over,
});
const xml = (v: Record<string, unknown>) => Buffer.from(buildPlist(v));
const problem = (bytes: Buffer) => {
  try {
    readConfigurationProfile(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationProfileError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('readConfigurationProfile', () => {
  it('reads a real-world profile (nanocmd test.mobileconfig)', () => {
    const info = readConfigurationProfile(fixture('test.mobileconfig'));
    expect(info).toMatchObject({ identifier: '0DA6B871-623D-400A-B0EB-3BE489E39F2A', displayName: 'Google Chrome Default Browser', organization: 'Org', signed: false });
    expect(info.payloadTypes).toEqual(['com.google.Chrome', 'com.apple.Safari']);
  });

  it('reads binary plists and CMS-signed profiles', async () => {
    expect(readConfigurationProfile(buildBinaryPlist(profile() as never)).identifier).toBe('com.example.wifi');
    const cert = await createTestPushCertificate();
    const signed = signAttached(xml(profile()), { certificate: cert.certPem, privateKey: cert.keyPem });
    expect(readConfigurationProfile(signed)).toMatchObject({ identifier: 'com.example.wifi', signed: true, displayName: 'Office Wi-Fi' });
    const tampered = Buffer.from(signed);
    const at = tampered.indexOf('Office Wi-Fi');
    tampered[at] = 'X'.charCodeAt(0);
    expect(problem(tampered)).toMatch(/signed profile whose signature verifies/);
  });

  it('says what is wrong with files that are not profiles', () => {
    expect(problem(Buffer.alloc(0))).toBe('the file is empty');
    expect(problem(Buffer.from('hello'))).toMatch(/not a property list/);
    expect(problem(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toMatch(/DER but not a signed profile/);
    expect(problem(xml(profile({ PayloadType: 'com.apple.wifi.managed' })))).toMatch(/PayloadType must be "Configuration" \(it is "com.apple.wifi.managed"\)/);
    expect(problem(xml(profile({ PayloadIdentifier: ' ' })))).toMatch(/PayloadIdentifier is missing/);
    expect(problem(xml(profile({ PayloadUUID: undefined })))).toMatch(/PayloadUUID is missing/);
    expect(problem(xml(profile({ PayloadContent: undefined })))).toMatch(/PayloadContent .* is missing/);
    expect(problem(xml(profile({ PayloadContent: ['x'] })))).toBe('payload 1 is not a dictionary');
    expect(problem(xml(profile({ PayloadContent: [{ PayloadType: 'com.apple.dock', PayloadUUID: 'B' }] })))).toBe('payload 1 (com.apple.dock) has no PayloadIdentifier');
    expect(problem(xml(profile({ PayloadContent: undefined, EncryptedPayloadContent: Buffer.from('x') })))).toMatch(/encrypted/);
  });

  it('refuses enrollment profiles and oversized files', () => {
    expect(problem(fixture('enroll.mobileconfig'))).toMatch(/MDM payload \(com.apple.mdm\)/);
    expect(problem(Buffer.alloc(MAX_CONFIGURATION_PROFILE_BYTES + 1, 0x20))).toMatch(/at most 4194304 \(4 MiB\)/);
  });
});
