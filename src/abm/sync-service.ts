/**
 * Device sync for one ABM server: a full fetch first, then incremental syncs from the stored
 * cursor. Each page is stored in the same transaction as the cursor that follows it, so a
 * crash or an error resumes from the last committed page and loses or repeats nothing.
 *
 * Apple's cursor errors steer the loop: EXHAUSTED_CURSOR on fetch → sync with the same cursor;
 * EXPIRED_CURSOR / INVALID_CURSOR → a full fetch from the start. After a full fetch from the
 * start, devices of this server it did not return are marked removed from ABM.
 */
import { DepError } from './dep-errors.js';
import type { Device } from './dep-types.js';
import type { AbmServerService } from './abm-server-service.js';
import type { AbmServerStore } from './abm-server-store.js';
import type { AbmDeviceRecord, AbmDeviceStore } from './abm-device-store.js';
import type { DepProfileStore } from './dep-profile-store.js';
import { columnValue, extrasJson } from './apple-device-record.js';

export interface SyncResult {
  kind: 'full' | 'incremental';
  pages: number;
  /** records Apple sent (before de-duplication) */
  records: number;
  added: number;
  modified: number;
  deleted: number;
  /** devices a complete full fetch did not return, now marked removed */
  missing: number;
  restartedFullFetch: boolean;
  durationMs: number;
}

export interface SyncServiceOptions {
  servers: AbmServerService;
  serverStore: AbmServerStore;
  devices: AbmDeviceStore;
  profiles: DepProfileStore;
  now?: () => number;
  /** page size when Apple's /account does not say (Apple's documented default maximum) */
  defaultPageLimit?: number;
  /** every run's end, for metrics: its result, or undefined when it failed */
  onRun?: (e: { serverId: string; result?: SyncResult; durationMs: number }) => void;
}

export class SyncService {
  readonly #now: () => number;

  constructor(private readonly o: SyncServiceOptions) {
    this.#now = o.now ?? Date.now;
  }

  /**
   * Runs one sync to the end of Apple's changes. The caller holds the server's lease and
   * renews it through `heartbeat`, called after every committed page.
   */
  async run(serverId: string, opts: { full?: boolean; heartbeat?: () => Promise<void> } = {}): Promise<SyncResult> {
    const started = this.#now();
    const row = await this.o.serverStore.get(serverId);
    if (!row) throw new Error(`no ABM server ${serverId}`);
    // Every outcome — including a failure before the first page — is recorded and schedules the
    // next run, so a failing server is retried at its interval, not on every tick.
    try {
      const result = await this.#run(row, started, opts);
      await this.#finish(serverId, row.sync_interval_minutes, { last_sync_json: JSON.stringify(result), last_sync_error: null });
      this.o.onRun?.({ serverId, result, durationMs: result.durationMs });
      return result;
    } catch (err) {
      await this.#finish(serverId, row.sync_interval_minutes, { last_sync_error: err instanceof Error ? err.message : String(err) });
      this.o.onRun?.({ serverId, durationMs: this.#now() - started });
      throw err;
    }
  }

  async #run(first: NonNullable<Awaited<ReturnType<AbmServerStore['get']>>>, started: number, opts: { full?: boolean; heartbeat?: () => Promise<void> }): Promise<SyncResult> {
    const serverId = first.id;
    let row = first;
    const client = await this.o.servers.client(serverId);
    if (row.page_limit === null) {
      await this.o.servers.testConnection(serverId);
      row = (await this.o.serverStore.get(serverId))!;
    }
    const limit = row.page_limit ?? this.o.defaultPageLimit ?? 1000;
    let cursor = opts.full ? null : row.cursor;
    let phase: 'fetch' | 'sync' = cursor && row.fetch_complete ? 'sync' : 'fetch';
    let fullFrom = phase === 'fetch' ? (cursor ? row.full_fetch_started_at : started) : null;
    const result: SyncResult = {
      kind: phase === 'fetch' ? 'full' : 'incremental', pages: 0, records: 0, added: 0, modified: 0, deleted: 0, missing: 0, restartedFullFetch: false, durationMs: 0,
    };
    await this.o.serverStore.update(serverId, {
      sync_started_at: started, sync_kind: result.kind, sync_pages: 0, sync_devices: 0, ...(phase === 'fetch' ? { full_fetch_started_at: fullFrom } : {}),
    });
    const adopt = await this.o.profiles.adoptionMap(serverId);
    // Pages are fetched one ahead: Apple (or the network) works on the next while this one commits.
    const request = (c: string | null, p: 'fetch' | 'sync') =>
      p === 'fetch' ? client.fetchDevices(c ? { cursor: c, limit } : { limit }) : client.syncDevices({ cursor: c!, limit });
    let ahead: { cursor: string; phase: 'fetch' | 'sync'; page: ReturnType<typeof request> } | undefined;
    for (;;) {
      let page;
      try {
        if (ahead && ahead.cursor === cursor && ahead.phase === phase) page = await ahead.page;
        else page = await request(cursor, phase);
      } catch (err) {
        if (!(err instanceof DepError)) throw err;
        if (err.kind === 'cursor-exhausted' && phase === 'fetch' && cursor) {
          phase = 'sync';
          continue;
        }
        // EXHAUSTED_CURSOR on sync (documented, never seen) has no way forward but a new fetch either.
        if ((err.kind === 'cursor-expired' || err.kind === 'cursor-invalid' || err.kind === 'cursor-exhausted') && !result.restartedFullFetch) {
          // Start over; the stored cursor is replaced only when the first new page commits.
          result.restartedFullFetch = true;
          result.kind = 'full';
          cursor = null;
          phase = 'fetch';
          fullFrom = this.#now();
          await this.o.serverStore.update(serverId, { full_fetch_started_at: fullFrom, sync_kind: 'full' });
          continue;
        }
        throw err;
      } finally {
        ahead = undefined;
      }
      const drained = !page.more_to_follow;
      if (!drained && page.cursor !== cursor) {
        ahead = { cursor: page.cursor, phase, page: request(page.cursor, phase) };
        ahead.page.catch(() => {}); // a failure surfaces when the page is awaited
      }
      const records = latestPerSerial(page.devices);
      const lastOfFullFetch = phase === 'fetch' && drained && fullFrom !== null;
      const { added, missing } = await this.o.devices.commitPage({
        serverId, now: this.#now(), devices: records, adopt, cursor: page.cursor, fetchComplete: phase === 'sync' || drained, ...(lastOfFullFetch ? { markMissingBefore: fullFrom! } : {}),
      });
      result.missing += missing;
      const deleted = records.filter((r) => r.deleted).length;
      result.added += added;
      result.modified += records.length - deleted - added;
      result.deleted += deleted;
      result.pages++;
      result.records += page.devices.length;
      await opts.heartbeat?.();
      if (phase === 'fetch' && drained) {
        phase = 'sync';
      } else if (drained || page.cursor === cursor) {
        // Done — or Apple says there is more but handed back the same cursor: stop rather than spin.
        break;
      }
      cursor = page.cursor;
    }
    result.durationMs = this.#now() - started;
    return result;
  }

  async #finish(serverId: string, intervalMinutes: number, outcome: { last_sync_json?: string; last_sync_error: string | null }) {
    const now = this.#now();
    await this.o.serverStore.update(serverId, {
      ...outcome,
      sync_started_at: null,
      last_sync_at: now,
      next_sync_at: now + intervalMinutes * 60_000,
      updated_at: now,
    });
  }
}

/** Apple may list a serial several times in one page; its latest record (by op_date, then position) wins. */
export function latestPerSerial(devices: Device[]): AbmDeviceRecord[] {
  const latest = new Map<string, { d: Device; at: number }>();
  for (const d of devices) {
    if (typeof d?.serial_number !== 'string' || d.serial_number === '' || d.serial_number.length > 64) continue;
    const at = time(d.op_date) ?? 0;
    const prev = latest.get(d.serial_number);
    if (!prev || at >= prev.at) latest.set(d.serial_number, { d, at });
  }
  return [...latest.values()].map(({ d }) => toRecord(d));
}

function toRecord(d: Device): AbmDeviceRecord {
  const op = typeof d.op_type === 'string' ? d.op_type.toLowerCase() : null;
  return {
    serial_number: d.serial_number,
    model: columnValue(d.model),
    description: columnValue(d.description),
    color: columnValue(d.color),
    asset_tag: columnValue(d.asset_tag),
    os: columnValue(d.os),
    device_family: columnValue(d.device_family),
    profile_status: columnValue(d.profile_status),
    profile_uuid: columnValue(d.profile_uuid),
    profile_assign_time: time(d.profile_assign_time),
    profile_push_time: time(d.profile_push_time),
    device_assigned_date: time(d.device_assigned_date),
    device_assigned_by: columnValue(d.device_assigned_by),
    op_type: columnValue(d.op_type),
    op_date: time(d.op_date),
    apple_json: extrasJson(d as unknown as Record<string, unknown>),
    deleted: op === 'deleted',
  };
}


function time(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}
