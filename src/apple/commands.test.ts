import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { readFileSync } from 'node:fs';
import { KeyObject, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { buildCommand, buildRawCommand, CommandError, commandSchemas, DEFAULT_DEVICE_INFORMATION_QUERIES, RawCommandSchema } from './commands.js';
import { signAttached, signDetached } from './cms-sign.js';
import { parsePlist, type PlistDict } from './plist.js';

const FIXTURES = new URL('../../test/fixtures/apple/', import.meta.url);
const fixture = (p: string) => readFileSync(new URL(p, FIXTURES));
const profileXml = fixture('mdm-samples/profiles/enroll.mobileconfig');

const commandOf = (plist: string) => parsePlist(plist).Command as PlistDict;

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).statusCode).toBe(400);
    return (err as Error).message;
  }
  throw new Error('expected a CommandError');
}

async function profileSigner() {
  x509.cryptoProvider.set(webcrypto as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=profile signer', keys, signingAlgorithm: alg });
  return { certificate: Buffer.from(cert.rawData), privateKey: KeyObject.from(keys.privateKey) };
}

describe('the envelope', () => {
  it('puts CommandUUID and Command side by side, like the recorded NanoMDM responses', () => {
    const session = [
      ['03-Idle.response.plist', 'DeviceInformation'],
      ['04-DeviceInformation-Acknowledged.response.plist', 'ProfileList'],
      ['05-ProfileList-Acknowledged.response.plist', 'DeviceConfigured'],
    ];
    for (const [file, requestType] of session) {
      const recorded = parsePlist(fixture(`third-party-client-session/mdm/${file}`));
      const built = buildRawCommand({ RequestType: requestType! }, recorded.CommandUUID as string);
      expect(parsePlist(built.plist)).toEqual(recorded);
      expect(built).toMatchObject({ uuid: recorded.CommandUUID, requestType });
    }
  });

  it("matches MicroMDM's InstallProfile sample byte for byte in content", () => {
    const sample = parsePlist(fixture('mdm-samples/commands/InstallProfile.plist'));
    const built = buildRawCommand({ RequestType: 'InstallProfile', Payload: Buffer.from('foobarbaz') }, sample.CommandUUID as string);
    expect(parsePlist(built.plist)).toEqual(sample);
  });

  it('generates an upper-case UUID unless given one, and checks a given one', () => {
    const a = buildCommand({ RequestType: 'SecurityInfo' });
    const b = buildCommand({ RequestType: 'SecurityInfo' });
    expect(a.uuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(a.uuid).not.toBe(b.uuid);
    expect(parsePlist(a.plist)).toEqual({ CommandUUID: a.uuid, Command: { RequestType: 'SecurityInfo' } });
    expect(buildCommand({ RequestType: 'SecurityInfo' }, 'my-id.1').uuid).toBe('my-id.1');
    expect(error(() => buildCommand({ RequestType: 'SecurityInfo' }, 'has space'))).toMatch(/CommandUUID/);
  });
});

describe('raw commands', () => {
  it('pass any RequestType and plist-able keys through', () => {
    const when = new Date('2026-01-01T00:00:00Z');
    const built = buildCommand({ RequestType: 'InstallApplication', ManifestURL: 'https://x/m.plist', Options: { PurchaseMethod: 1 }, Ratio: 0.5, Blob: Buffer.from([1]), At: when, Flags: [true, false] });
    expect(commandOf(built.plist)).toEqual({ RequestType: 'InstallApplication', ManifestURL: 'https://x/m.plist', Options: { PurchaseMethod: 1 }, Ratio: 0.5, Blob: Buffer.from([1]), At: when, Flags: [true, false] });
    expect(built.plist).toContain('<real>0.5</real>');
  });

  it.each<[unknown, RegExp]>([
    [{}, /RequestType must be a name/],
    [{ RequestType: '' }, /RequestType/],
    [{ RequestType: 'Bad Name' }, /RequestType/],
    [{ RequestType: 5 }, /RequestType/],
    [null, /must be an object/],
    [[], /must be an object/],
    [{ RequestType: 'Foo', Bar: null }, /^Foo\.Bar: null is not a plist value$/],
    [{ RequestType: 'Foo', Bar: { Baz: [1, NaN] } }, /^Foo\.Bar\.Baz\[1\]: NaN/],
  ])('refuses %o', (command, message) => {
    expect(error(() => buildCommand(command as Record<string, unknown>))).toMatch(message);
  });

  it('buildRawCommand skips the typed checks (for keys we do not know yet)', () => {
    expect(commandOf(buildRawCommand({ RequestType: 'DeviceLock', NewKey: 1 }).plist)).toEqual({ RequestType: 'DeviceLock', NewKey: 1 });
    expect(error(() => buildCommand({ RequestType: 'DeviceLock', NewKey: 1 }))).toMatch(/NewKey is not a known key/);
  });
});

describe('typed commands', () => {
  it('DeviceInformation: default Queries, explicit Queries, nonce as data', () => {
    expect(commandOf(buildCommand({ RequestType: 'DeviceInformation' }).plist).Queries).toEqual(DEFAULT_DEVICE_INFORMATION_QUERIES);
    expect(commandOf(buildCommand({ RequestType: 'DeviceInformation', Queries: ['UDID'], DeviceAttestationNonce: 'AAEC' }).plist)).toEqual({
      RequestType: 'DeviceInformation', Queries: ['UDID'], DeviceAttestationNonce: Buffer.from([0, 1, 2]),
    });
    expect(error(() => buildCommand({ RequestType: 'DeviceInformation', Queries: [] }))).toMatch(/^DeviceInformation\.Queries must not have fewer than 1/);
    expect(error(() => buildCommand({ RequestType: 'DeviceInformation', Queries: 'UDID' }))).toMatch(/^DeviceInformation\.Queries must be array/);
    expect(error(() => buildCommand({ RequestType: 'DeviceInformation', Queries: ['UDID', 3] }))).toMatch(/^DeviceInformation\.Queries\[1\] must be string/);
  });

  it('SecurityInfo, ShutDownDevice and DeviceConfigured take no keys', () => {
    for (const t of ['SecurityInfo', 'ShutDownDevice', 'DeviceConfigured']) {
      expect(commandOf(buildCommand({ RequestType: t }).plist)).toEqual({ RequestType: t });
      expect(error(() => buildCommand({ RequestType: t, X: 1 }))).toBe(`${t}.X is not a known key here (known: none)`);
    }
  });

  it('ProfileList and InstalledApplicationList', () => {
    expect(commandOf(buildCommand({ RequestType: 'ProfileList', ManagedOnly: true }).plist)).toEqual({ RequestType: 'ProfileList', ManagedOnly: true });
    expect(error(() => buildCommand({ RequestType: 'ProfileList', ManagedOnly: 'yes' }))).toBe('ProfileList.ManagedOnly must be boolean');
    expect(commandOf(buildCommand({ RequestType: 'InstalledApplicationList', Identifiers: ['com.apple.Safari'], ManagedAppsOnly: false }).plist)).toEqual({
      RequestType: 'InstalledApplicationList', Identifiers: ['com.apple.Safari'], ManagedAppsOnly: false,
    });
    expect(error(() => buildCommand({ RequestType: 'InstalledApplicationList', Identifiers: [''] }))).toMatch(/Identifiers\[0\]/);
  });

  it('InstallProfile: base64 from JSON or a Buffer, XML or signed, never garbage', async () => {
    const fromJson = commandOf(buildCommand({ RequestType: 'InstallProfile', Payload: profileXml.toString('base64') }).plist);
    expect(fromJson.Payload).toEqual(profileXml);
    expect(commandOf(buildCommand({ RequestType: 'InstallProfile', Payload: profileXml }).plist).Payload).toEqual(profileXml);
    const signer = await profileSigner();
    const signed = signAttached(profileXml, signer);
    expect(commandOf(buildCommand({ RequestType: 'InstallProfile', Payload: signed }).plist).Payload).toEqual(signed);
    expect(error(() => buildCommand({ RequestType: 'InstallProfile', Payload: signDetached(profileXml, signer) }))).toMatch(/not a CMS SignedData with the profile attached/);
    expect(error(() => buildCommand({ RequestType: 'InstallProfile', Payload: 'Zm9vYmFyYmF6' }))).toMatch(/not a configuration profile/);
    expect(error(() => buildCommand({ RequestType: 'InstallProfile', Payload: 'not base64!' }))).toMatch(/^InstallProfile\.Payload must match pattern/);
    expect(error(() => buildCommand({ RequestType: 'InstallProfile', Payload: '' }))).toMatch(/^InstallProfile\.Payload must not have fewer than 1/);
    expect(error(() => buildCommand({ RequestType: 'InstallProfile' }))).toBe('InstallProfile.Payload is required');
    expect(error(() => buildCommand({ RequestType: 'InstallProfile', Payload: 42 }))).toBe('InstallProfile.Payload must be string');
  });

  it('RemoveProfile', () => {
    expect(commandOf(buildCommand({ RequestType: 'RemoveProfile', Identifier: 'com.example.wifi' }).plist).Identifier).toBe('com.example.wifi');
    expect(error(() => buildCommand({ RequestType: 'RemoveProfile' }))).toBe('RemoveProfile.Identifier is required');
    expect(error(() => buildCommand({ RequestType: 'RemoveProfile', Identifier: '' }))).toMatch(/^RemoveProfile\.Identifier/);
  });

  it('DeviceLock: six-digit PIN, Message, PhoneNumber', () => {
    expect(commandOf(buildCommand({ RequestType: 'DeviceLock', PIN: '123456', Message: 'Call us', PhoneNumber: '+1 555' }).plist)).toEqual({
      RequestType: 'DeviceLock', PIN: '123456', Message: 'Call us', PhoneNumber: '+1 555',
    });
    for (const pin of ['1234', '12345a', '1234567', 123456]) expect(error(() => buildCommand({ RequestType: 'DeviceLock', PIN: pin }))).toMatch(/^DeviceLock\.PIN must/);
  });

  it('EraseDevice: PIN, flags, ObliterationBehavior, ReturnToService with data', () => {
    const built = commandOf(
      buildCommand({
        RequestType: 'EraseDevice', PIN: '000000', PreserveDataPlan: true, DisallowProximitySetup: true, ObliterationBehavior: 'DoNotObliterate',
        ReturnToService: { Enabled: true, WiFiProfileData: Buffer.from('wifi'), MDMProfileData: profileXml.toString('base64') },
      }).plist,
    );
    expect(built.ReturnToService).toEqual({ Enabled: true, WiFiProfileData: Buffer.from('wifi'), MDMProfileData: profileXml });
    expect(error(() => buildCommand({ RequestType: 'EraseDevice', ObliterationBehavior: 'Never' }))).toBe(
      'EraseDevice.ObliterationBehavior must be one of "Default", "DoNotObliterate", "ObliterateWithWarning", "Always"',
    );
    expect(error(() => buildCommand({ RequestType: 'EraseDevice', ReturnToService: {} }))).toBe('EraseDevice.ReturnToService.Enabled is required');
    expect(error(() => buildCommand({ RequestType: 'EraseDevice', ReturnToService: { Enabled: true, MDMProfileData: 7 } }))).toBe('EraseDevice.ReturnToService.MDMProfileData must be string');
  });

  it('RestartDevice', () => {
    expect(commandOf(buildCommand({ RequestType: 'RestartDevice', NotifyUser: true, RebuildKernelCache: true, KextPaths: ['/Library/Extensions/x.kext'] }).plist)).toMatchObject({
      NotifyUser: true, KextPaths: ['/Library/Extensions/x.kext'],
    });
    expect(error(() => buildCommand({ RequestType: 'RestartDevice', KextPaths: '/x' }))).toMatch(/^RestartDevice\.KextPaths must be array/);
  });

  it('Settings: every known Item, data in Wallpaper, errors naming the item key', () => {
    const settings = [
      { Item: 'Wallpaper', Image: Buffer.from('png'), Where: 3 },
      { Item: 'DataRoaming', Enabled: true },
      { Item: 'VoiceRoaming', Enabled: false },
      { Item: 'PersonalHotspot', Enabled: true },
      { Item: 'Bluetooth', Enabled: true },
      { Item: 'ApplicationConfiguration', Identifier: 'com.example.app', Configuration: { ServerURL: 'https://x', Nested: { N: 1 } } },
      { Item: 'ApplicationAttributes', Identifier: 'com.example.app', Attributes: { VPNUUID: 'v', AssociatedDomains: ['example.com'], Removable: false } },
      { Item: 'DeviceName', DeviceName: 'Kiosk 1' },
      { Item: 'HostName', HostName: 'kiosk-1' },
      { Item: 'OrganizationInfo', OrganizationInfo: { OrganizationName: 'Acme', OrganizationEmail: 'it@acme.example' } },
      { Item: 'MDMOptions', MDMOptions: { ActivationLockAllowedWhileSupervised: true } },
      { Item: 'MaximumResidentUsers', MaximumResidentUsers: 4 },
      { Item: 'SharedDeviceConfiguration', QuotaSize: 1024, UserSessionTimeout: 600, ManagedAppleIDDefaultDomains: ['acme.example'] },
      { Item: 'DiagnosticSubmission', Enabled: false },
      { Item: 'AppAnalytics', Enabled: false },
      { Item: 'PasscodeLockGracePeriod', PasscodeLockGracePeriod: 300 },
      { Item: 'TimeZone', TimeZone: 'Europe/Paris' },
      { Item: 'SoftwareUpdateSettings', RecommendationCadence: 2 },
      { Item: 'AccessibilitySettings', BoldTextEnabled: true, TextSize: 7 },
    ];
    const built = commandOf(buildCommand({ RequestType: 'Settings', Settings: settings }).plist);
    expect(built.Settings).toEqual(settings);
    const bad = (item: Record<string, unknown>) => error(() => buildCommand({ RequestType: 'Settings', Settings: [{ Item: 'TimeZone', TimeZone: 'UTC' }, item] }));
    expect(bad({ Item: 'DataRoaming', Enabled: 'yes' })).toBe('Settings.Settings[1].Enabled must be boolean');
    expect(bad({ Item: 'Wallpaper', Image: 'cG5n', Where: 4 })).toBe('Settings.Settings[1].Where must be one of 1, 2, 3');
    expect(bad({ Item: 'PasscodeLockGracePeriod', PasscodeLockGracePeriod: 20000 })).toMatch(/^Settings\.Settings\[1\]\.PasscodeLockGracePeriod must be/);
    expect(bad({ Item: 'OrganizationInfo', OrganizationInfo: {} })).toBe('Settings.Settings[1].OrganizationInfo.OrganizationName is required');
    expect(bad({ Item: 'HostName', HostName: 'x', Extra: 1 })).toBe('Settings.Settings[1].Extra is not a known key here (known: Item, HostName)');
    expect(bad({ Item: 'Teleport' })).toMatch(/^Settings\.Settings\[1\]\.Item must be one of Wallpaper, DataRoaming/);
    expect(bad({ Enabled: true })).toMatch(/^Settings\.Settings\[1\]\.Item must be one of/);
    expect(error(() => buildCommand({ RequestType: 'Settings', Settings: [] }))).toMatch(/^Settings\.Settings must not have fewer than 1/);
    expect(error(() => buildCommand({ RequestType: 'Settings', Settings: [{ Item: 'ApplicationConfiguration', Identifier: 'a', Configuration: { X: null } }] }))).toBe(
      'Settings.Settings[0].Configuration.X: null is not a plist value',
    );
  });
});

describe('schemas for OpenAPI', () => {
  it('describe each typed command completely, data keys as base64 strings', () => {
    for (const [name, schema] of Object.entries(commandSchemas)) {
      const json = JSON.parse(JSON.stringify(schema)) as { title: string; properties: { RequestType: { const: string } }; additionalProperties: boolean };
      expect(json.title).toBe(name);
      expect(json.properties.RequestType.const).toBe(name);
      expect(json.additionalProperties).toBe(false);
    }
    expect(commandSchemas.InstallProfile.properties.Payload).toMatchObject({ type: 'string', contentEncoding: 'base64' });
    expect((RawCommandSchema as unknown as { additionalProperties: boolean }).additionalProperties).toBe(true);
  });
});
