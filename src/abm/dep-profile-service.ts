/**
 * Pomona's enrollment (DEP) profiles. Apple's profiles are immutable, so a saved change Apple
 * would see defines a new Apple profile; the profile's devices then differ from it and the
 * assigner moves them over. A change only Pomona uses (authentication, OS rules, …) does not.
 * One profile per server is the default (the first one created); the default cannot be
 * deleted, and deleting another moves its devices to the default.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import { DepError } from './dep-errors.js';
import { appleProfileChanged, DepProfileError, resolveDepProfile, toAppleProfile, validateDepProfile, type DepProfile, type DepProfileProblem, type DepProfileSettings } from './dep-profile.js';
import type { AbmServerService } from './abm-server-service.js';
import type { AbmDeviceStore } from './abm-device-store.js';
import type { DepProfileRow, DepProfileStore } from './dep-profile-store.js';

const DEFINE_BACKOFF_MS = 15 * 60_000;

export class DepProfileServiceError extends ServiceError {
  constructor(code: 'not_found' | 'conflict' | 'invalid', message: string, problems: DepProfileProblem[] = []) {
    super(code, code, message, problems);
  }
}

const STALE_SAVE = 'the profile was changed by someone else meanwhile; reload it and save again';

export interface DepProfileView {
  id: string;
  abmServerId: string;
  name: string;
  isDefault: boolean;
  version: number;
  /** bumped by every save; send it back with an edit so a save over someone else's is refused */
  revision: number;
  settings: DepProfileSettings;
  apple: { profileUuid: string | null; definedVersion: number | null; definedAt: number | null; upToDate: boolean; defineError: string | null };
  devices: number;
  warnings: DepProfileProblem[];
  createdAt: number;
  updatedAt: number;
}

export interface EnrollmentProfileRef {
  id: string;
  abmServerId: string;
  name: string;
  settings: DepProfile;
}

export interface DepProfileServiceOptions {
  profiles: DepProfileStore;
  devices: AbmDeviceStore;
  servers: AbmServerService;
  /** Pomona's public base URL: the profiles' `url` and web view point there */
  publicUrl: string;
  now?: () => number;
}

export class DepProfileService {
  readonly #now: () => number;

  constructor(private readonly o: DepProfileServiceOptions) {
    this.#now = o.now ?? Date.now;
  }

  async list(serverId: string): Promise<DepProfileView[]> {
    await this.o.servers.view(serverId); // 404 for an unknown server
    const counts = await this.o.devices.countsByProfile(serverId);
    return (await this.o.profiles.listForServer(serverId)).map((p) => this.#view(p, counts));
  }

  async get(id: string): Promise<DepProfileView> {
    const row = await this.#row(id);
    return this.#view(row, await this.o.devices.countsByProfile(row.abm_server_id));
  }

  /**
   * A profile as an enrollment needs it — its settings resolved — by id, or the server's default:
   * without the device counts of the admin view, which cost a scan of the server's ABM devices
   * on every Setup Assistant request.
   */
  async forEnrollment(ref: { id: string } | { defaultOf: string }): Promise<EnrollmentProfileRef | undefined> {
    const row = 'id' in ref ? await this.o.profiles.get(ref.id) : (await this.o.profiles.listForServer(ref.defaultOf)).find((p) => p.is_default === 1);
    if (!row) return undefined;
    return { id: row.id, abmServerId: row.abm_server_id, name: row.name, settings: resolveDepProfile(JSON.parse(row.settings_json) as DepProfileSettings) };
  }

  async history(id: string) {
    await this.#row(id);
    return (await this.o.profiles.definitions(id)).map((d) => ({ appleProfileUuid: d.apple_profile_uuid, version: d.version, definedAt: d.defined_at, body: JSON.parse(d.body_json) as unknown }));
  }

  /** Creates the profile and defines it at Apple when the server has a token (else on the next run). */
  async create(serverId: string, settings: unknown, opts: { name?: string } = {}): Promise<DepProfileView> {
    await this.o.servers.view(serverId);
    const value = this.#validate(settings);
    const now = this.#now();
    const name = (opts.name ?? value.apple.profile_name).trim();
    if ((await this.o.profiles.listForServer(serverId)).some((p) => p.name === name)) {
      throw new DepProfileServiceError('conflict', `a profile named "${name}" already exists on this ABM server`);
    }
    const row = await this.o.profiles.insert({
      id: randomUUID(), abm_server_id: serverId, name, is_default: 0, settings_json: JSON.stringify(settings), version: 1, created_at: now, updated_at: now,
    });
    await this.#tryDefine(row);
    return this.get(row.id);
  }

  /** Saves new settings; a change Apple sees defines a new Apple profile and moves the devices to it. */
  async update(id: string, settings: unknown, opts: { name?: string; revision?: number } = {}): Promise<DepProfileView> {
    const row = await this.#row(id);
    // The revision the admin edited, when given, must still be current; the store re-checks it
    // in the write itself, which also catches a save racing this one.
    const expected = opts.revision ?? row.revision;
    if (expected !== row.revision) throw new DepProfileServiceError('conflict', STALE_SAVE);
    const value = this.#validate(settings);
    const name = (opts.name ?? value.apple.profile_name).trim();
    if (name !== row.name && (await this.o.profiles.listForServer(row.abm_server_id)).some((p) => p.name === name)) {
      throw new DepProfileServiceError('conflict', `a profile named "${name}" already exists on this ABM server`);
    }
    const changed = appleProfileChanged(JSON.parse(row.settings_json) as DepProfileSettings, settings as DepProfileSettings);
    const version = changed ? row.version + 1 : row.version;
    const saved = await this.o.profiles.updateSettings(id, expected, { name, settings_json: JSON.stringify(settings), version, updated_at: this.#now() });
    if (!saved) throw new DepProfileServiceError('conflict', STALE_SAVE);
    if (changed) await this.#tryDefine((await this.o.profiles.get(id))!);
    return this.get(id);
  }

  async setDefault(id: string): Promise<DepProfileView> {
    const row = await this.#row(id);
    await this.o.profiles.setDefault(row.abm_server_id, id);
    return this.get(id);
  }

  /** Deletes a non-default profile; its devices go back to the default (and are re-assigned). */
  async delete(id: string): Promise<{ movedDevices: number }> {
    const row = await this.#row(id);
    if (row.is_default) throw new DepProfileServiceError('conflict', 'the default profile cannot be deleted: make another profile the default first');
    const movedDevices = await this.o.devices.moveProfileDevicesToDefault(id, this.#now());
    await this.o.profiles.delete(id);
    return { movedDevices };
  }

  /**
   * The Apple UUID of the profile's current version, defining it first if needed. After a failed
   * definition the assigner waits (15 minutes) instead of asking Apple again on every tick;
   * saving the profile tries again at once.
   */
  async ensureDefined(row: DepProfileRow): Promise<string> {
    if (row.apple_profile_uuid && row.apple_version === row.version) return row.apple_profile_uuid;
    if (row.define_failed_at !== null && this.#now() - row.define_failed_at < DEFINE_BACKOFF_MS) {
      throw new DepProfileServiceError('conflict', `"${row.name}" could not be defined at Apple (${row.define_error ?? 'unknown error'}); it is tried again after a pause, or when the profile is saved`);
    }
    return this.#define(row);
  }

  // The URLs name the Pomona profile, so a device's request says which profile Apple served it
  // (and a serial that has since moved to another ABM server is caught).
  async #define(row: DepProfileRow): Promise<string> {
    const base = this.o.publicUrl.replace(/\/$/, '');
    const body = toAppleProfile(JSON.parse(row.settings_json) as DepProfileSettings, { url: `${base}/enroll/ade?profile=${row.id}`, configurationWebUrl: `${base}/enroll/ade/webview?profile=${row.id}` });
    const client = await this.o.servers.client(row.abm_server_id);
    try {
      const { profile_uuid } = await client.defineProfile(body);
      await this.o.profiles.recordDefinition({
        apple_profile_uuid: profile_uuid, profile_id: row.id, abm_server_id: row.abm_server_id, version: row.version, body_json: JSON.stringify(body), defined_at: this.#now(),
      });
      return profile_uuid;
    } catch (err) {
      if (err instanceof DepError) await this.o.profiles.update(row.id, { define_error: err.message, define_failed_at: this.#now() });
      throw err;
    }
  }

  /** Defines now if possible; a failure is kept on the profile and retried by the assigner. */
  async #tryDefine(row: DepProfileRow): Promise<void> {
    const server = await this.o.servers.view(row.abm_server_id);
    if (server.tokenState === 'no-token') return;
    try {
      await this.#define(row);
    } catch (err) {
      if (!(err instanceof DepError)) throw err;
    }
  }

  #validate(settings: unknown) {
    const checked = validateDepProfile(settings);
    if (!checked.ok) throw new DepProfileServiceError('invalid', new DepProfileError(checked.problems).message, checked.problems);
    return checked.value;
  }

  async #row(id: string): Promise<DepProfileRow> {
    const row = await this.o.profiles.get(id);
    if (!row) throw new DepProfileServiceError('not_found', 'no such enrollment profile');
    return row;
  }

  #view(p: DepProfileRow, counts: Map<string | null, number>): DepProfileView {
    const settings = JSON.parse(p.settings_json) as DepProfileSettings;
    const checked = validateDepProfile(settings);
    return {
      id: p.id,
      abmServerId: p.abm_server_id,
      name: p.name,
      isDefault: p.is_default === 1,
      version: p.version,
      revision: p.revision,
      settings,
      apple: {
        profileUuid: p.apple_profile_uuid,
        definedVersion: p.apple_version,
        definedAt: p.apple_defined_at,
        upToDate: p.apple_profile_uuid !== null && p.apple_version === p.version,
        defineError: p.define_error,
      },
      devices: (counts.get(p.id) ?? 0) + (p.is_default ? (counts.get(null) ?? 0) : 0),
      warnings: checked.warnings,
      createdAt: p.created_at,
      updatedAt: p.updated_at,
    };
  }
}
