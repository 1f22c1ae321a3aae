import { describe, expect, it } from 'vitest';
import { accountConfigurationCommand, setAutoAdminPasswordCommand } from '../apple/account-configuration.js';
import { buildPlist } from '../apple/plist.js';
import { createPasswordHash } from '../apple/password-hash.js';
import { SetupAssistant } from './setup-assistant.js';

const mac = () => new SetupAssistant({ platform: 'macOS', productName: () => 'Mac16,10' });
const errorText = (a: Record<string, unknown> | undefined) => ((a?.ErrorChain as Array<{ USEnglishDescription: string }>)[0]!).USEnglishDescription;

describe('simulated Setup Assistant', () => {
  it('creates the managed admin from a well-formed hash, and checks passwords against it', async () => {
    const s = mac();
    s.restart(true);
    const hash = await createPasswordHash('s3cret', { iterations: 100 });
    const answer = s.answer('AccountConfiguration', accountConfigurationCommand({ primaryAccount: 'skip', managedAdmin: { shortName: '_it', fullName: '', hidden: false, passwordHash: hash } }) as never);
    expect(answer).toEqual({ Status: 'Acknowledged', RequestType: 'AccountConfiguration' });
    expect(s.accountConfiguration).toMatchObject({ skipPrimaryAccount: true, managedAdmin: { shortName: '_it', fullName: '_it', hidden: false } });
    expect(s.verifyAdminPassword('s3cret')).toBe(true);
    expect(s.verifyAdminPassword('other')).toBe(false);
    expect(s.facts()).toEqual({ AwaitingConfiguration: true, AutoSetupAdminAccounts: [] }); // created once Setup Assistant goes on
    expect(s.answer('DeviceConfigured', {})).toMatchObject({ Status: 'Acknowledged' });
    expect(s).toMatchObject({ awaiting: false, configured: true, escrowDue: true });
    expect(s.facts()).toEqual({ AwaitingConfiguration: false, AutoSetupAdminAccounts: [{ GUID: s.accountConfiguration!.managedAdmin!.guid, shortName: '_it' }] });
  });

  it('refuses what a device refuses', async () => {
    const s = mac();
    expect(errorText(s.answer('AccountConfiguration', {}))).toMatch(/only while the device awaits configuration/);
    expect(errorText(s.answer('DeviceConfigured', {}))).toMatch(/only while the device awaits configuration/);
    s.restart(true);
    expect(errorText(s.answer('AccountConfiguration', { SkipPrimarySetupAccountCreation: true }))).toMatch(/AutoSetupAdminAccounts is required/);
    const bad = Buffer.from(buildPlist({ 'SALTED-SHA512-PBKDF2': { entropy: Buffer.alloc(128), salt: Buffer.alloc(8), iterations: 1 } }));
    expect(errorText(s.answer('AccountConfiguration', { AutoSetupAdminAccounts: [{ shortName: 'x', passwordHash: bad }] }))).toBe('malformed passwordHash: salt must be 32 bytes of data');
    expect(errorText(s.answer('SetAutoAdminPassword', setAutoAdminPasswordCommand('G', bad) as never))).toMatch(/no administrator account was created/);
    const iphone = new SetupAssistant({ platform: 'iOS', productName: () => 'iPhone17,1' });
    iphone.restart(true);
    expect(errorText(iphone.answer('AccountConfiguration', {}))).toBe('Unknown command AccountConfiguration');
    expect(iphone.answer('InstallProfile', {})).toBeUndefined(); // not this part's business
  });

  it('applies settings where they apply, item by item', () => {
    const s = mac();
    const answer = s.answer('Settings', { Settings: [{ Item: 'TimeZone', TimeZone: 'Europe/Paris' }, { Item: 'DeviceName', DeviceName: 'Mac 1' }, { Item: 'SharedDeviceConfiguration', ResidentUsers: 2 }] });
    expect((answer!.Settings as Array<{ Status: string }>).map((x) => x.Status)).toEqual(['Error', 'Acknowledged', 'Error']);
    expect(s.settingsApplied).toEqual([{ Item: 'DeviceName', DeviceName: 'Mac 1' }]);
    const ipad = new SetupAssistant({ platform: 'iOS', productName: () => 'iPad13,4' });
    expect((ipad.answer('Settings', { Settings: [{ Item: 'SharedDeviceConfiguration', ResidentUsers: 2 }] })!.Settings as Array<{ Status: string }>)[0]!.Status).toBe('Acknowledged');
  });
});
