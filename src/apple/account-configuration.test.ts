import { describe, expect, it } from 'vitest';
import { accountConfigurationCommand, macOSShortName, setAutoAdminPasswordCommand } from './account-configuration.js';
import { buildCommand } from './commands.js';
import { parsePlist } from './plist.js';

const admin = { shortName: '_pomona', fullName: 'Pomona Admin', hidden: true, passwordHash: Buffer.from('hash') };

describe('AccountConfiguration', () => {
  it('creates the managed admin and skips the primary account', () => {
    const c = accountConfigurationCommand({ primaryAccount: 'skip', managedAdmin: admin, prefill: { fullName: 'Jane', locked: true } });
    expect(c).toEqual({
      RequestType: 'AccountConfiguration',
      SkipPrimarySetupAccountCreation: true,
      SetPrimarySetupAccountAsRegularUser: false,
      AutoSetupAdminAccounts: [{ shortName: '_pomona', fullName: 'Pomona Admin', passwordHash: Buffer.from('hash'), hidden: true }],
    });
  });

  it('makes the primary account a standard user, prefilled and locked', () => {
    const c = accountConfigurationCommand({ primaryAccount: 'standard', managedAdmin: { ...admin, fullName: '', hidden: false }, prefill: { fullName: 'Jane Appleseed', shortName: 'jane', locked: true } });
    expect(c).toMatchObject({
      SkipPrimarySetupAccountCreation: false,
      SetPrimarySetupAccountAsRegularUser: true,
      AutoSetupAdminAccounts: [{ shortName: '_pomona', fullName: '_pomona', hidden: false }],
      PrimaryAccountFullName: 'Jane Appleseed',
      PrimaryAccountUserName: 'jane',
      DontAutoPopulatePrimaryAccountInfo: false,
      LockPrimaryAccountInfo: true,
    });
  });

  it('prefills an administrator primary account without any managed admin', () => {
    const c = accountConfigurationCommand({ primaryAccount: 'admin', prefill: { fullName: 'Jane', locked: false } });
    expect(c).toEqual({ RequestType: 'AccountConfiguration', SkipPrimarySetupAccountCreation: false, SetPrimarySetupAccountAsRegularUser: false, PrimaryAccountFullName: 'Jane', DontAutoPopulatePrimaryAccountInfo: false, LockPrimaryAccountInfo: false });
  });

  it('refuses a primary account setup that would leave the Mac without an administrator', () => {
    expect(() => accountConfigurationCommand({ primaryAccount: 'skip' })).toThrow('needs a managed administrator');
    expect(() => accountConfigurationCommand({ primaryAccount: 'standard' })).toThrow('needs a managed administrator');
  });

  it('goes into a command envelope with the hash as <data>', () => {
    const built = buildCommand(accountConfigurationCommand({ primaryAccount: 'admin', managedAdmin: admin }));
    const cmd = parsePlist(built.plist).Command as Record<string, unknown>;
    expect(built.requestType).toBe('AccountConfiguration');
    expect((cmd.AutoSetupAdminAccounts as Array<Record<string, unknown>>)[0]!.passwordHash).toEqual(Buffer.from('hash'));
  });
});

describe('SetAutoAdminPassword', () => {
  it('names the account by GUID', () => {
    expect(setAutoAdminPasswordCommand('ABC-123', Buffer.from('h'))).toEqual({ RequestType: 'SetAutoAdminPassword', GUID: 'ABC-123', passwordHash: Buffer.from('h') });
    expect(() => setAutoAdminPasswordCommand('', Buffer.from('h'))).toThrow('GUID');
  });
});

describe('macOSShortName', () => {
  it('derives a short name from account names', () => {
    expect(macOSShortName('Jane.Doe@example.com')).toBe('jane.doe');
    expect(macOSShortName('CORP\\jdoe')).toBe('jdoe');
    expect(macOSShortName('Zoë Müller')).toBe('zoemuller');
    expect(macOSShortName('42-admin')).toBe('admin');
    expect(macOSShortName('x'.repeat(40))).toHaveLength(31);
    expect(macOSShortName('東京')).toBeUndefined();
  });
});
