/**
 * The managed macOS administrator account (AccountConfiguration's AutoSetupAdminAccounts) and its
 * password: generated per device, sent only as a SALTED-SHA512-PBKDF2 hash, kept sealed, shown
 * to administrators (the route audits each view), and rotated with SetAutoAdminPassword — by an
 * admin, or some time after someone viewed it. A new password replaces the current one only once
 * the Mac acknowledged it; until then the current one is what unlocks the account.
 */
import { randomUUID } from 'node:crypto';
import type { LocalAdmin } from '../abm/dep-profile.js';
import { setAutoAdminPasswordCommand } from '../apple/account-configuration.js';
import { createPasswordHash } from '../apple/password-hash.js';
import type { SecretBox } from '../pki/secret-box.js';
import { ServiceError } from '../service-error.js';
import { generatePassword } from './managed-admin-password.js';
import type { ManagedAdminRow, ManagedAdminStore } from './managed-admin-store.js';
import type { MdmEventMap } from './mdm-events.js';
import type { SystemCommands } from './system-commands.js';

export class ManagedAdminError extends ServiceError {
  constructor(code: 'not_found' | 'conflict', message: string) {
    super(code, code, message);
  }
}

export interface ManagedAdminStatus {
  shortName: string;
  fullName: string;
  hidden: boolean;
  guid: string | null;
  /** a password the Mac has acknowledged exists */
  hasPassword: boolean;
  passwordSetAt: number | null;
  pendingChange: { kind: 'create' | 'rotate'; reason: string; since: number; waitingFor: string } | null;
  lastError: { message: string; at: number } | null;
  lastViewedAt: number | null;
  rotateAt: number | null;
}

export interface ManagedAdminDeps {
  store: ManagedAdminStore;
  secrets: SecretBox;
  commands: SystemCommands;
  /** PBKDF2 iterations of the hashes sent (tests lower it; default Apple's suggested range) */
  hashIterations?: number;
  now?: () => number;
}

export class ManagedAdminService {
  readonly #now: () => number;

  constructor(private readonly deps: ManagedAdminDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /**
   * A new account for the AccountConfiguration `commandUuid` about to be queued: generates its
   * password, keeps it sealed as pending, and returns the hash to send.
   */
  async prepareAccount(o: { deviceId: string; enrollmentId: string; admin: LocalAdmin; commandUuid: string }): Promise<Buffer> {
    const password = generatePassword(o.admin.password.length);
    const hash = await this.#hash(password);
    const now = this.#now();
    await this.deps.store.replace({
      device_id: o.deviceId, enrollment_id: o.enrollmentId, short_name: o.admin.shortName, full_name: o.admin.fullName || o.admin.shortName,
      hidden: o.admin.hidden ? 1 : 0, guid: null, password_enc: null, password_set_at: null,
      pending_password_enc: this.deps.secrets.seal(password), pending_command_uuid: o.commandUuid, pending_request_type: 'AccountConfiguration',
      pending_reason: 'created', pending_since: now, last_error: null, last_error_at: null,
      password_length: o.admin.password.length, rotate_after_view_minutes: o.admin.password.rotateAfterViewingMinutes,
      last_viewed_at: null, rotate_at: null, created_at: now, updated_at: now,
    });
    return hash;
  }

  async status(deviceId: string): Promise<ManagedAdminStatus> {
    return statusOf(await this.#row(deviceId));
  }

  /**
   * The current password, for an administrator (the caller audits the view). Viewing schedules a
   * rotation when the profile asks for one some minutes after a view.
   */
  async reveal(deviceId: string): Promise<{ status: ManagedAdminStatus; password: string }> {
    const row = await this.#row(deviceId);
    if (!row.password_enc) {
      throw new ManagedAdminError('not_found', `the Mac has not acknowledged the account "${row.short_name}" yet, so it has no password to show`);
    }
    const now = this.#now();
    const rotateAt = row.rotate_after_view_minutes > 0 ? now + row.rotate_after_view_minutes * 60_000 : null;
    await this.deps.store.viewed(deviceId, now, rotateAt);
    return { status: statusOf((await this.deps.store.get(deviceId))!), password: this.deps.secrets.openString(row.password_enc) };
  }

  /**
   * Starts a rotation: a new password goes to the Mac with SetAutoAdminPassword, named by the
   * account's GUID — asked of the Mac first (DeviceInformation AutoSetupAdminAccounts) when not
   * known yet. The current password stays until the Mac acknowledges.
   */
  async rotate(deviceId: string, reason: string): Promise<ManagedAdminStatus> {
    const row = await this.#row(deviceId);
    if (!row.password_enc) throw new ManagedAdminError('conflict', `the account "${row.short_name}" has no acknowledged password yet; nothing to rotate`);
    if (row.pending_command_uuid) throw new ManagedAdminError('conflict', `a password change is already under way (since ${new Date(row.pending_since ?? 0).toISOString()})`);
    const password = generatePassword(row.password_length);
    const uuid = randomUUID().toUpperCase();
    const started = await this.deps.store.startChange(deviceId, {
      passwordEnc: this.deps.secrets.seal(password), commandUuid: uuid, requestType: row.guid ? 'SetAutoAdminPassword' : 'DeviceInformation', reason, now: this.#now(),
    });
    if (!started) throw new ManagedAdminError('conflict', 'a password change is already under way');
    const command = row.guid ? setAutoAdminPasswordCommand(row.guid, await this.#hash(password)) : { RequestType: 'DeviceInformation', Queries: ['AutoSetupAdminAccounts'] };
    await this.deps.commands.queue(row.enrollment_id, command, { uuid, actor: 'system:managed-admin' });
    await this.deps.commands.push([row.enrollment_id]);
    return this.status(deviceId);
  }

  /** Rotations due some time after a view (the periodic job); returns the devices rotated. */
  async rotateDue(now = this.#now()): Promise<string[]> {
    const done: string[] = [];
    for (const row of await this.deps.store.dueForRotation(now, 100)) {
      try {
        await this.rotate(row.device_id, 'after-view');
        done.push(row.device_id);
      } catch (err) {
        if (!(err instanceof ManagedAdminError)) throw err;
      }
    }
    return done;
  }

  /** Follows the Mac's answers to the commands a pending change waits for. */
  async onCommandResult(e: MdmEventMap['commandResult']): Promise<void> {
    if (e.status === 'NotNow') return; // offered again at the next check-in
    const row = await this.deps.store.byPendingCommand(e.commandUuid);
    if (!row) return;
    const now = this.#now();
    const result = await this.deps.commands.result(e.commandUuid, e.enrollmentId);
    if (e.status !== 'Acknowledged') {
      await this.deps.store.abandon(row.device_id, e.commandUuid, `${e.requestType} failed: ${describeError(result)}`, now);
      return;
    }
    if (row.pending_request_type !== 'DeviceInformation') {
      await this.deps.store.promote(row.device_id, e.commandUuid, now);
      return;
    }
    const accounts = (result?.QueryResponses as { AutoSetupAdminAccounts?: Array<{ GUID?: string; shortName?: string }> } | undefined)?.AutoSetupAdminAccounts ?? [];
    const guid = accounts.find((a) => a.shortName === row.short_name)?.GUID;
    if (!guid) {
      await this.deps.store.abandon(row.device_id, e.commandUuid, `the Mac reports no managed administrator named "${row.short_name}" (AutoSetupAdminAccounts)`, now);
      return;
    }
    const uuid = randomUUID().toUpperCase();
    const hash = await this.#hash(this.deps.secrets.openString(row.pending_password_enc!));
    if (!(await this.deps.store.continueChange(row.device_id, e.commandUuid, guid, uuid, now))) return;
    await this.deps.commands.queue(row.enrollment_id, setAutoAdminPasswordCommand(guid, hash), { uuid, actor: 'system:managed-admin' });
    await this.deps.commands.push([row.enrollment_id]);
  }

  #hash(password: string): Promise<Buffer> {
    return createPasswordHash(password, this.deps.hashIterations ? { iterations: this.deps.hashIterations } : {});
  }

  async #row(deviceId: string): Promise<ManagedAdminRow> {
    const row = await this.deps.store.get(deviceId);
    if (!row) throw new ManagedAdminError('not_found', 'the device has no managed administrator account (none was set up while it awaited configuration)');
    return row;
  }
}

function statusOf(r: ManagedAdminRow): ManagedAdminStatus {
  return {
    shortName: r.short_name,
    fullName: r.full_name,
    hidden: r.hidden === 1,
    guid: r.guid,
    hasPassword: r.password_enc !== null,
    passwordSetAt: r.password_set_at,
    pendingChange: r.pending_command_uuid
      ? { kind: r.pending_request_type === 'AccountConfiguration' ? 'create' : 'rotate', reason: r.pending_reason ?? '', since: r.pending_since ?? 0, waitingFor: r.pending_request_type ?? '' }
      : null,
    lastError: r.last_error ? { message: r.last_error, at: r.last_error_at ?? 0 } : null,
    lastViewedAt: r.last_viewed_at,
    rotateAt: r.rotate_at,
  };
}

/** Apple's ErrorChain in a line: "MCMDMErrorDomain 12021: description; …". */
export function describeError(result: Record<string, unknown> | undefined): string {
  const chain = Array.isArray(result?.ErrorChain) ? (result!.ErrorChain as Array<Record<string, unknown>>) : [];
  if (!chain.length) return String(result?.Status ?? 'no details');
  return chain.map((e) => `${String(e.ErrorDomain ?? '?')} ${String(e.ErrorCode ?? '?')}: ${String(e.USEnglishDescription ?? e.LocalizedDescription ?? '')}`.trim()).join('; ');
}
