// macOS account commands of the await-configuration phase (apple/device-management
// `mdm/commands/account.configuration.yaml`, `set.auto.admin.password.yaml`). Both are device
// channel only, for ADE Macs; AccountConfiguration works only while the Mac awaits configuration.

export class AccountConfigurationError extends Error {
  override name = 'AccountConfigurationError';
}

export interface ManagedAdminAccount {
  shortName: string;
  /** Apple: defaults to the short name */
  fullName: string;
  hidden: boolean;
  /** the binary-plist SALTED-SHA512-PBKDF2 hash (password-hash.ts) */
  passwordHash: Buffer;
}

export interface PrimaryAccountPrefill {
  fullName?: string;
  shortName?: string;
  /** the user cannot edit the prefilled fields (LockPrimaryAccountInfo) */
  locked: boolean;
}

export interface AccountConfigurationInput {
  /** the account the user creates in Setup Assistant: an administrator, a standard user, or none */
  primaryAccount: 'admin' | 'standard' | 'skip';
  managedAdmin?: ManagedAdminAccount;
  /** macOS 10.15+; ignored when the primary account is skipped */
  prefill?: PrimaryAccountPrefill;
}

/** The AccountConfiguration command (RequestType and keys), ready for buildCommand. */
export function accountConfigurationCommand(input: AccountConfigurationInput): Record<string, unknown> {
  // Apple: both SkipPrimarySetupAccountCreation and SetPrimarySetupAccountAsRegularUser need an
  // AutoSetupAdminAccounts entry, or the Mac would end up without an administrator.
  if (input.primaryAccount !== 'admin' && !input.managedAdmin) {
    throw new AccountConfigurationError(`a ${input.primaryAccount === 'skip' ? 'skipped' : 'standard'} primary account needs a managed administrator account`);
  }
  const command: Record<string, unknown> = {
    RequestType: 'AccountConfiguration',
    SkipPrimarySetupAccountCreation: input.primaryAccount === 'skip',
    SetPrimarySetupAccountAsRegularUser: input.primaryAccount === 'standard',
  };
  if (input.managedAdmin) {
    const a = input.managedAdmin;
    command.AutoSetupAdminAccounts = [{ shortName: a.shortName, fullName: a.fullName || a.shortName, passwordHash: a.passwordHash, hidden: a.hidden }];
  }
  const p = input.prefill;
  if (p && input.primaryAccount !== 'skip' && (p.fullName || p.shortName)) {
    if (p.fullName) command.PrimaryAccountFullName = p.fullName;
    if (p.shortName) command.PrimaryAccountUserName = p.shortName;
    command.DontAutoPopulatePrimaryAccountInfo = false;
    command.LockPrimaryAccountInfo = p.locked;
  }
  return command;
}

/** SetAutoAdminPassword for the account AccountConfiguration created, named by its GUID. */
export function setAutoAdminPasswordCommand(guid: string, passwordHash: Buffer): Record<string, unknown> {
  if (!guid) throw new AccountConfigurationError('SetAutoAdminPassword needs the GUID of the managed administrator account');
  return { RequestType: 'SetAutoAdminPassword', GUID: guid, passwordHash };
}

const SHORT_NAME_MAX = 31;

/**
 * A macOS short name from a user's account name, for prefilling: the part before an "@" or after
 * a "DOMAIN\", lower-cased, with only letters, digits, "_", "-" and "." kept, starting with a
 * letter or "_". Undefined when nothing usable is left (the user then types one).
 */
export function macOSShortName(username: string): string | undefined {
  let name = username.trim();
  if (name.includes('\\')) name = name.slice(name.lastIndexOf('\\') + 1);
  if (name.includes('@')) name = name.slice(0, name.indexOf('@'));
  name = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9_.-]/g, '');
  name = name.replace(/^[^a-z_]+/, '').slice(0, SHORT_NAME_MAX);
  return name || undefined;
}
