/**
 * The assigner: keeps every live ABM device on the Apple profile Pomona intends for it (its own
 * profile, or its server's default). It sends only devices whose Apple-reported profile differs,
 * in batches of at most 1,000 serials, stores each device's answer, and lets failing or
 * throttled serials cool down instead of re-sending them on every tick.
 *
 * Manual assign and remove go through the same store, so a device an admin moved is picked up
 * by the next automatic run too, and one whose profile was removed is left alone.
 */
import { DepError } from './dep-errors.js';
import { ServiceError } from '../service-error.js';
import type { AssignProfileResponse } from './dep-types.js';
import type { AbmServerService } from './abm-server-service.js';
import type { AbmDeviceStore } from './abm-device-store.js';
import type { DepProfileRow, DepProfileStore } from './dep-profile-store.js';

export const ASSIGN_BATCH = 1000;

export interface DeviceOutcome {
  serial: string;
  result: string;
  error?: string;
}

export interface AssignRunResult {
  sent: number;
  succeeded: number;
  failed: number;
  throttled: number;
  notAccessible: number;
  errors: string[];
}

export class AssignError extends ServiceError {
  constructor(code: 'not_found' | 'invalid', message: string) {
    super(code, code, message);
  }
}

export interface AssignServiceOptions {
  servers: AbmServerService;
  devices: AbmDeviceStore;
  profiles: DepProfileStore;
  /** defines the profile's current version at Apple if needed; returns its Apple UUID */
  ensureDefined: (profile: DepProfileRow) => Promise<string>;
  now?: () => number;
  /** how long a FAILED or NOT_ACCESSIBLE serial waits before it is sent again (default 24 h) */
  cooldownMs?: number;
  /** a claim older than this is taken to belong to a dead node */
  claimTimeoutMs?: number;
}

const DAY = 86_400_000;
/** after a whole request failed (Apple down, network), try again on a later tick, not at once */
const REQUEST_FAILURE_BACKOFF = 15 * 60_000;

export class AssignService {
  readonly #now: () => number;

  constructor(private readonly o: AssignServiceOptions) {
    this.#now = o.now ?? Date.now;
  }

  get #cooldown() {
    return this.o.cooldownMs ?? DAY;
  }

  get #staleBefore() {
    return this.#now() - (this.o.claimTimeoutMs ?? 10 * 60_000);
  }

  /** Sends every device of the server that needs its profile, profile by profile. */
  async run(serverId: string, heartbeat?: () => Promise<void>): Promise<AssignRunResult> {
    const total: AssignRunResult = { sent: 0, succeeded: 0, failed: 0, throttled: 0, notAccessible: 0, errors: [] };
    const profiles = await this.o.profiles.listForServer(serverId);
    for (const profile of profiles) {
      let appleUuid: string;
      try {
        appleUuid = await this.o.ensureDefined(profile);
      } catch (err) {
        total.errors.push(`${profile.name}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      for (;;) {
        const serials = await this.o.devices.needingAssignment({
          serverId, profileId: profile.id, isDefault: profile.is_default === 1, appleUuid, now: this.#now(), staleBefore: this.#staleBefore, limit: ASSIGN_BATCH,
        });
        if (serials.length === 0) break;
        const outcomes = await this.#send(serverId, appleUuid, serials);
        if (outcomes.length === 0) break; // another node claimed them first
        tally(total, outcomes);
        await heartbeat?.();
        // A whole-request failure leaves the batch backing off; do not spin on it.
        if (outcomes.length > 0 && outcomes.every((o) => o.result === 'ERROR')) {
          total.errors.push(outcomes[0]?.error ?? 'assignment failed');
          break;
        }
      }
    }
    return total;
  }

  /** Moves devices to a profile (null = the server's default) and assigns them now; per-device results. */
  async assign(serverId: string, serials: string[], profileId: string | null): Promise<DeviceOutcome[]> {
    const profile = profileId ? await this.o.profiles.get(profileId) : await this.o.profiles.defaultFor(serverId);
    if (!profile || profile.abm_server_id !== serverId) throw new AssignError('not_found', profileId ? 'no such profile on this ABM server' : 'this ABM server has no default profile yet');
    const unique = checkSerials(serials);
    const now = this.#now();
    const moved = new Set(await this.o.devices.setProfile(serverId, unique, profileId, 'auto', now));
    const appleUuid = await this.o.ensureDefined(profile);
    const outcomes: DeviceOutcome[] = unique.filter((s) => !moved.has(s)).map((serial) => ({ serial, result: 'NOT_FOUND', error: 'not a device of this ABM server' }));
    const live = (await this.o.devices.getMany([...moved])).filter((d) => d.removed_at === null);
    const removed = [...moved].filter((s) => !live.some((d) => d.serial_number === s));
    outcomes.push(...removed.map((serial) => ({ serial, result: 'NOT_ACCESSIBLE', error: 'removed from Apple Business Manager' })));
    for (let i = 0; i < live.length; i += ASSIGN_BATCH) {
      const batch = live.slice(i, i + ASSIGN_BATCH).map((d) => d.serial_number);
      const sent = await this.#send(serverId, appleUuid, batch);
      // Serials an automatic assignment (maybe of the previous profile) holds: the admin is told to retry.
      outcomes.push(...sent, ...batch.filter((s) => !sent.some((o) => o.serial === s)).map(busy));
    }
    return outcomes;
  }

  /** Removes the Apple profile from devices and stops assigning them until an admin assigns again. */
  async remove(serverId: string, serials: string[]): Promise<DeviceOutcome[]> {
    const unique = checkSerials(serials);
    const now = this.#now();
    const mine = new Set(await this.o.devices.setProfile(serverId, unique, null, 'none', now));
    const outcomes: DeviceOutcome[] = unique.filter((s) => !mine.has(s)).map((serial) => ({ serial, result: 'NOT_FOUND', error: 'not a device of this ABM server' }));
    const client = await this.o.servers.client(serverId);
    // Claimed like an assignment, so an automatic one in flight cannot land after the removal.
    const list = await this.o.devices.claimForAssignment([...mine], now, this.#staleBefore);
    outcomes.push(...[...mine].filter((s) => !list.includes(s)).map(busy));
    for (let i = 0; i < list.length; i += ASSIGN_BATCH) {
      const batch = list.slice(i, i + ASSIGN_BATCH);
      let answer: Record<string, string>;
      try {
        answer = (await client.removeProfile(batch)).devices ?? {};
      } catch (err) {
        if (!(err instanceof DepError)) throw err;
        await this.o.devices.recordAssignment(batch, { result: 'ERROR', error: err.message, retryAt: null, now: this.#now() });
        outcomes.push(...batch.map((serial) => ({ serial, result: 'ERROR', error: err.message })));
        continue;
      }
      const groups = groupBy(batch, (s) => answer[s] ?? 'FAILED');
      for (const [result, group] of groups) {
        const ok = result === 'SUCCESS';
        await this.o.devices.recordAssignment(group, {
          result, error: ok ? null : explain(result), retryAt: null, now: this.#now(), ...(ok ? { appleUuid: null, profileStatus: 'removed' } : {}),
        });
        outcomes.push(...group.map((serial) => ({ serial, result, ...(ok ? {} : { error: explain(result) }) })));
      }
    }
    return outcomes;
  }

  /** One assign call for claimed serials; every serial gets a stored outcome. */
  async #send(serverId: string, appleUuid: string, serials: string[]): Promise<DeviceOutcome[]> {
    const claimed = await this.o.devices.claimForAssignment(serials, this.#now(), this.#staleBefore);
    if (claimed.length === 0) return [];
    const client = await this.o.servers.client(serverId);
    let answer: AssignProfileResponse;
    try {
      answer = await client.assignProfile(appleUuid, claimed);
    } catch (err) {
      if (!(err instanceof DepError)) {
        await this.o.devices.recordAssignment(claimed, { result: 'ERROR', error: 'assignment interrupted', retryAt: this.#now() + REQUEST_FAILURE_BACKOFF, now: this.#now() });
        throw err;
      }
      await this.o.devices.recordAssignment(claimed, { result: 'ERROR', error: err.message, retryAt: this.#now() + REQUEST_FAILURE_BACKOFF, now: this.#now() });
      return claimed.map((serial) => ({ serial, result: 'ERROR', error: err.message }));
    }
    const now = this.#now();
    const retryAfterMs = typeof answer.retry_after_seconds === 'number' && answer.retry_after_seconds > 0 ? answer.retry_after_seconds * 1000 : this.#cooldown;
    const outcomes: DeviceOutcome[] = [];
    for (const [result, group] of groupBy(claimed, (s) => answer.devices?.[s] ?? 'FAILED')) {
      const ok = result === 'SUCCESS';
      const retryAt = ok ? null : now + (result === 'THROTTLED' ? retryAfterMs : this.#cooldown);
      await this.o.devices.recordAssignment(group, { result, error: ok ? null : explain(result), retryAt, now, ...(ok ? { appleUuid } : {}) });
      outcomes.push(...group.map((serial) => ({ serial, result, ...(ok ? {} : { error: explain(result) }) })));
    }
    return outcomes;
  }
}

const busy = (serial: string): DeviceOutcome => ({ serial, result: 'BUSY', error: 'an assignment of this device is under way; try again in a moment' });

function tally(t: AssignRunResult, outcomes: DeviceOutcome[]) {
  for (const o of outcomes) {
    t.sent++;
    if (o.result === 'SUCCESS') t.succeeded++;
    else if (o.result === 'THROTTLED') t.throttled++;
    else if (o.result === 'NOT_ACCESSIBLE') t.notAccessible++;
    else t.failed++;
  }
}

function explain(result: string): string {
  switch (result) {
    case 'NOT_ACCESSIBLE':
      return 'Apple says this device is not assigned to this MDM server (NOT_ACCESSIBLE)';
    case 'THROTTLED':
      return 'Apple is throttling assignments for this device (THROTTLED); it will be retried later';
    case 'FAILED':
      return 'Apple could not assign the profile (FAILED); it will be retried after the cool-down';
    default:
      return `Apple answered ${result}`;
  }
}

function checkSerials(serials: string[]): string[] {
  const unique = [...new Set(serials.map((s) => s.trim()).filter(Boolean))];
  if (unique.length === 0) throw new AssignError('invalid', 'name at least one serial number');
  if (unique.length > 10_000) throw new AssignError('invalid', 'at most 10,000 serial numbers per request');
  return unique;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const list = out.get(k);
    if (list) list.push(i);
    else out.set(k, [i]);
  }
  return out;
}
