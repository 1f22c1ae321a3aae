import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  APPLE_DEVICE_TRUST, checkDeviceIdentity, machineInfoFromHeader, MachineInfoError, readMachineInfo, testDeviceTrust,
} from './machine-info.js';
import { SimulatedDeviceCa, signMachineInfo, type DeviceIdentity } from '../sim/device-identity-ca.js';
import { thrownMessage } from '../../test/support/thrown.js';
import { hasOpenssl } from '../../test/support/openssl.js';

const fixture = (path: string) => readFileSync(new URL(`../../test/fixtures/apple/${path}`, import.meta.url));
const sampleDer = fixture('machineinfo-sample/machineinfo.p7s.der');
const sampleHeader = fixture('machineinfo-sample/x-apple-aspen-deviceinfo.header.b64').toString('utf8').trim();
const sampleRoot = fixture('machineinfo-sample/test-root-ca.pem').toString('utf8');
const sampleDeviceCa = fixture('machineinfo-sample/test-device-ca.pem').toString('utf8');
const sampleLeaf = fixture('machineinfo-sample/device-leaf.pem').toString('utf8');
const appleLeaves = ['apple-ca/appleca_signed.pem', 'apple-ca/appleca_signed_newer.pem'].map((f) => fixture(f).toString('utf8'));
const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

const refused = (fn: () => unknown) => thrownMessage(fn, MachineInfoError);

describe('MachineInfo', () => {
  it('reads the signed sample (body form) with its test root trusted', () => {
    const info = readMachineInfo(sampleDer, testDeviceTrust(sampleRoot));
    expect(info).toMatchObject({
      udid: '00008130-000A1B2C3D4E5F60', serial: 'SAMPLE0SER01', product: 'iPhone16,1', build: '22C152', osVersion: '18.2',
      imei: '35 882908 123456 7', meid: '35882908123456', language: 'en-US', canRequestSoftwareUpdate: true, softwareUpdateDeviceId: 'D73AP',
    });
    expect(info.signerSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads the same bytes from the x-apple-aspen-deviceinfo header', () => {
    expect(machineInfoFromHeader(sampleHeader, testDeviceTrust(sampleRoot))).toEqual(readMachineInfo(sampleDer, testDeviceTrust(sampleRoot)));
  });

  it("accepts Apple's real device identities through the pinned Device CA, dates ignored, SHA-1 included", () => {
    for (const leaf of appleLeaves) expect(() => checkDeviceIdentity(der(leaf), [], APPLE_DEVICE_TRUST)).not.toThrow();
  });

  it('refuses a signer that reaches the anchor without passing through the pinned CA', () => {
    // The sample chain leaf → device CA → root, with the root trusted but the root pinned as issuer.
    const pinnedWrong = { ...testDeviceTrust(sampleRoot), pinnedIssuerPem: sampleRoot };
    expect(refused(() => readMachineInfo(sampleDer, pinnedWrong))).toMatch(/not issued by Apple iPhone Device CA/);
    expect(() => readMachineInfo(sampleDer, { ...testDeviceTrust(sampleRoot), pinnedIssuerPem: sampleDeviceCa })).not.toThrow();
  });

  it("refuses the test chain under Apple's trust (test mode off)", () => {
    expect(refused(() => readMachineInfo(sampleDer, APPLE_DEVICE_TRUST))).toMatch(/does not chain to a trusted device CA/);
    expect(refused(() => checkDeviceIdentity(der(sampleLeaf), [der(sampleDeviceCa)], APPLE_DEVICE_TRUST))).toMatch(/does not chain/);
  });

  it('refuses tampered, unsigned, truncated and garbage input with a reason', () => {
    const trust = testDeviceTrust(sampleRoot);
    const tampered = Buffer.from(sampleDer);
    tampered[tampered.indexOf(Buffer.from('SAMPLE0SER01'))] = 0x54;
    expect(refused(() => readMachineInfo(tampered, trust))).toMatch(/signature refused: message digest mismatch/);
    expect(refused(() => readMachineInfo(fixture('machineinfo-sample/machineinfo.plist'), trust))).toMatch(/signature refused/);
    expect(refused(() => readMachineInfo(sampleDer.subarray(0, 300), trust))).toMatch(/signature refused/);
    expect(refused(() => readMachineInfo(Buffer.alloc(0), trust))).toBe('empty MachineInfo');
    expect(refused(() => readMachineInfo(Buffer.alloc(70 * 1024, 0x30), trust))).toBe('MachineInfo is too large');
    expect(refused(() => machineInfoFromHeader(undefined, trust))).toBe('missing x-apple-aspen-deviceinfo header');
    expect(refused(() => machineInfoFromHeader(['a', 'b'], trust))).toBe('more than one x-apple-aspen-deviceinfo header');
    expect(refused(() => machineInfoFromHeader('not base64!', trust))).toBe('x-apple-aspen-deviceinfo is not base64');
  });

  describe('signed by the device simulator', () => {
    let ca: SimulatedDeviceCa;
    let identity: DeviceIdentity;
    beforeAll(async () => {
      ca = await SimulatedDeviceCa.create();
      identity = await ca.issue('0B7C5A2E-1111-4B43-9C2E-4F0B2C3D8E11');
    });
    const base = { UDID: '00008030-001A2B3C4D5E6F70', SERIAL: 'C02SIM000001', PRODUCT: 'iPad13,18', VERSION: '21A329' };

    it('round-trips, and another CA is not trusted', async () => {
      const info = readMachineInfo(signMachineInfo({ ...base, OS_VERSION: '17.0 (a)' }, identity), testDeviceTrust(ca.rootPem));
      expect(info).toMatchObject({ serial: 'C02SIM000001', osVersion: '17.0 (a)', canRequestSoftwareUpdate: false });
      const other = await SimulatedDeviceCa.create();
      expect(refused(() => readMachineInfo(signMachineInfo(base, identity), testDeviceTrust(other.rootPem)))).toMatch(/does not chain/);
    });

    it('names a missing or malformed field', () => {
      const trust = testDeviceTrust(ca.rootPem);
      expect(refused(() => readMachineInfo(signMachineInfo({ ...base, SERIAL: undefined }, identity), trust))).toBe('MachineInfo has no SERIAL');
      expect(refused(() => readMachineInfo(signMachineInfo({ ...base, SERIAL: 'AB<script>' }, identity), trust))).toBe('MachineInfo SERIAL is not a valid value');
      expect(refused(() => readMachineInfo(signMachineInfo({ ...base, UDID: 42 as unknown as string }, identity), trust))).toBe('MachineInfo UDID is not a valid value');
      expect(refused(() => readMachineInfo(signMachineInfo({ ...base, MDM_CAN_REQUEST_SOFTWARE_UPDATE: 'yes' as unknown as boolean }, identity), trust))).toMatch(/not a boolean/);
    });
  });

  it.skipIf(!hasOpenssl)('accepts a SHA-1 signature, as devices make them (signed by openssl)', async () => {
    const ca = await SimulatedDeviceCa.create();
    const identity = await ca.issue('SHA1-DEVICE');
    const dir = mkdtempSync(join(tmpdir(), 'pomona-mi-'));
    try {
      writeFileSync(join(dir, 'leaf.pem'), identity.certPem);
      writeFileSync(join(dir, 'leaf.key'), identity.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(join(dir, 'mi.plist'), '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PRODUCT</key><string>iPhone10,3</string><key>SERIAL</key><string>F17SHA1SER01</string><key>UDID</key><string>abcdef0123456789abcdef0123456789abcdef01</string><key>VERSION</key><string>15E148</string></dict></plist>\n');
      execFileSync('openssl', ['cms', '-sign', '-nodetach', '-binary', '-md', 'sha1', '-outform', 'DER', '-in', join(dir, 'mi.plist'), '-signer', join(dir, 'leaf.pem'), '-inkey', join(dir, 'leaf.key'), '-out', join(dir, 'mi.der')], { stdio: 'ignore' });
      const info = readMachineInfo(readFileSync(join(dir, 'mi.der')), testDeviceTrust(ca.rootPem));
      expect(info).toMatchObject({ serial: 'F17SHA1SER01', product: 'iPhone10,3', build: '15E148' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MachineInfo under several trusts (test mode)', () => {
  it("accepts a signer any of them trusts, and reports Apple's refusal when none does", async () => {
    const trusts = [APPLE_DEVICE_TRUST, testDeviceTrust(sampleRoot)];
    expect(readMachineInfo(sampleDer, trusts).serial).toBe('SAMPLE0SER01');
    const other = await SimulatedDeviceCa.create();
    expect(refused(() => readMachineInfo(sampleDer, [APPLE_DEVICE_TRUST, testDeviceTrust(other.rootPem)]))).toMatch(/does not chain to a trusted device CA/);
    expect(refused(() => readMachineInfo(sampleDer, []))).toMatch(/nothing is trusted/);
  });
});
