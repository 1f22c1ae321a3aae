/**
 * The simulated device's Setup Assistant while it awaits configuration (ADE with
 * await_device_configured): what it accepts in that state — AccountConfiguration (macOS; the
 * password hash must be a well-formed SALTED-SHA512-PBKDF2 plist), Settings, DeviceConfigured
 * (after which it goes on and leaves the state) — and, once set up, SetAutoAdminPassword and
 * the bootstrap token a Mac escrows. It records what it received so tests can look.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parsePasswordHash, PasswordHashError, verifyPassword, type PasswordHash } from '../apple/password-hash.js';
import { isPlistDict, type PlistDict } from '../apple/plist.js';

export interface CreatedAccount {
  shortName: string;
  fullName: string;
  hidden: boolean;
  /** the GUID the Mac gives the account (DeviceInformation AutoSetupAdminAccounts) */
  guid: string;
  hash: PasswordHash;
}

export interface ReceivedAccountConfiguration {
  skipPrimaryAccount: boolean;
  primaryAsRegularUser: boolean;
  prefill?: { fullName?: string; shortName?: string; locked: boolean };
  managedAdmin?: CreatedAccount;
}

// The simulator's own error codes (Apple does not document the ones for these cases).
const error = (code: number, text: string) => ({
  Status: 'Error',
  ErrorChain: [{ ErrorCode: code, ErrorDomain: 'MCMDMErrorDomain', LocalizedDescription: text, USEnglishDescription: text }],
});
const notAwaiting = (what: string) => error(12099, `${what} is accepted only while the device awaits configuration`);

export class SetupAssistant {
  /** Setup Assistant waits on the Remote Management pane for DeviceConfigured */
  awaiting = false;
  /** DeviceConfigured arrived while awaiting: Setup Assistant went on */
  configured = false;
  accountConfiguration?: ReceivedAccountConfiguration;
  /** every Settings item applied, in order */
  readonly settingsApplied: PlistDict[] = [];
  /** the bootstrap token a Mac creates once set up, and whether it still has to escrow it */
  bootstrapToken?: Buffer;
  escrowDue = false;

  constructor(private readonly device: { platform: 'iOS' | 'macOS'; productName: () => string }) {}

  /** A fresh enrollment (after an erase): Setup Assistant starts over, awaiting configuration or not. */
  restart(awaiting: boolean): void {
    this.awaiting = awaiting;
    this.configured = false;
    this.accountConfiguration = undefined;
    this.settingsApplied.length = 0;
    this.bootstrapToken = undefined;
    this.escrowDue = false;
  }

  /** The managed administrator's password check, as the Mac's login window does it. */
  verifyAdminPassword(password: string): boolean {
    const admin = this.accountConfiguration?.managedAdmin;
    return admin ? verifyPassword(password, admin.hash) : false;
  }

  /** Facts DeviceInformation reports about this state. */
  facts(): Record<string, unknown> {
    const admin = this.configured ? this.accountConfiguration?.managedAdmin : undefined;
    return {
      AwaitingConfiguration: this.awaiting,
      ...(this.device.platform === 'macOS' && { AutoSetupAdminAccounts: admin ? [{ GUID: admin.guid, shortName: admin.shortName }] : [] }),
    };
  }

  /** The answer to a command this part handles, or undefined for any other. */
  answer(requestType: string, command: PlistDict): Record<string, unknown> | undefined {
    const ack = { Status: 'Acknowledged', RequestType: requestType };
    switch (requestType) {
      case 'AccountConfiguration':
        if (this.device.platform !== 'macOS') return error(12021, 'Unknown command AccountConfiguration');
        if (!this.awaiting) return notAwaiting('AccountConfiguration');
        return this.#accountConfiguration(command) ?? ack;
      case 'SetAutoAdminPassword':
        if (this.device.platform !== 'macOS') return error(12021, 'Unknown command SetAutoAdminPassword');
        return this.#setAutoAdminPassword(command) ?? ack;
      case 'Settings':
        return { ...ack, Settings: ((command.Settings as PlistDict[] | undefined) ?? []).map((s) => this.#setting(s)) };
      case 'DeviceConfigured':
        if (!this.awaiting) return notAwaiting('DeviceConfigured');
        this.awaiting = false;
        this.configured = true;
        // Setup Assistant creates the accounts; a Mac then makes a bootstrap token and escrows it.
        if (this.device.platform === 'macOS') {
          this.bootstrapToken = randomBytes(48);
          this.escrowDue = true;
        }
        return ack;
      default:
        return undefined;
    }
  }

  #accountConfiguration(c: PlistDict): Record<string, unknown> | undefined {
    const accounts = Array.isArray(c.AutoSetupAdminAccounts) ? c.AutoSetupAdminAccounts : [];
    const skip = c.SkipPrimarySetupAccountCreation === true;
    const regular = c.SetPrimarySetupAccountAsRegularUser === true;
    if ((skip || regular) && accounts.length === 0) return error(12098, 'AutoSetupAdminAccounts is required to skip the primary account or make it a regular user');
    let managedAdmin: CreatedAccount | undefined;
    const first = accounts[0];
    if (first !== undefined) {
      if (!isPlistDict(first) || typeof first.shortName !== 'string' || !first.shortName) return error(12098, 'AutoSetupAdminAccounts[0].shortName is required');
      if (!Buffer.isBuffer(first.passwordHash)) return error(12098, 'AutoSetupAdminAccounts[0].passwordHash must be data');
      let hash: PasswordHash;
      try {
        hash = parsePasswordHash(first.passwordHash);
      } catch (err) {
        if (err instanceof PasswordHashError) return error(12098, `malformed passwordHash: ${err.message}`);
        throw err;
      }
      const fullName = typeof first.fullName === 'string' && first.fullName ? first.fullName : first.shortName;
      managedAdmin = { shortName: first.shortName, fullName, hidden: first.hidden === true, guid: randomUUID().toUpperCase(), hash };
    }
    const str = (k: string) => (typeof c[k] === 'string' ? (c[k] as string) : undefined);
    const prefilled = str('PrimaryAccountFullName') !== undefined || str('PrimaryAccountUserName') !== undefined;
    this.accountConfiguration = {
      skipPrimaryAccount: skip,
      primaryAsRegularUser: regular,
      ...(prefilled && c.DontAutoPopulatePrimaryAccountInfo !== true && {
        prefill: { fullName: str('PrimaryAccountFullName'), shortName: str('PrimaryAccountUserName'), locked: c.LockPrimaryAccountInfo === true },
      }),
      ...(managedAdmin && { managedAdmin }),
    };
    return undefined;
  }

  #setAutoAdminPassword(c: PlistDict): Record<string, unknown> | undefined {
    const admin = this.accountConfiguration?.managedAdmin;
    if (!admin || !this.configured) return error(12097, 'no administrator account was created by AccountConfiguration');
    if (c.GUID !== admin.guid) return error(12097, `no administrator account created by AccountConfiguration has GUID ${String(c.GUID)}`);
    if (!Buffer.isBuffer(c.passwordHash)) return error(12098, 'passwordHash must be data');
    try {
      admin.hash = parsePasswordHash(c.passwordHash);
    } catch (err) {
      if (err instanceof PasswordHashError) return error(12098, `malformed passwordHash: ${err.message}`);
      throw err;
    }
    return undefined;
  }

  /** One Settings item: applied, or refused where Apple's schema says it does not apply. */
  #setting(s: PlistDict): Record<string, unknown> {
    const item = String(s.Item);
    const fail = (text: string) => ({ Item: item, Status: 'Error', ErrorChain: error(12096, text).ErrorChain });
    if (item === 'TimeZone' && this.device.platform === 'macOS') return fail('TimeZone is not supported on macOS');
    if (item === 'SharedDeviceConfiguration' && !this.device.productName().startsWith('iPad')) return fail('SharedDeviceConfiguration applies to Shared iPad only');
    this.settingsApplied.push(s);
    return { Item: item, Status: 'Acknowledged' };
  }
}
