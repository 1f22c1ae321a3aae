/**
 * Fetch (`POST /server/devices`) and sync (`POST /devices/sync`) pages: the cursor state machine.
 *
 * - fetch without a cursor starts a full fetch of the devices assigned to the server now
 *   (current state, no op_type), oldest assignment first, `limit` per page, `more_to_follow`
 *   exact; the last page returns a drained cursor.
 * - fetch with a drained or a sync cursor → EXHAUSTED_CURSOR (NanoDEP then switches to sync).
 * - sync without a cursor → CURSOR_REQUIRED; with a fetch cursor it continues from the fetch's
 *   snapshot; it returns every change since, in change order (a serial may appear more than
 *   once), each with op_type / op_date.
 * - a cursor that does not decode, belongs to another server, or points past the log →
 *   INVALID_CURSOR; one issued more than `cursorTtlMs` (7 days) ago → EXPIRED_CURSOR.
 *
 * Pages are assembled from each revision's cached JSON text, so a page costs a string join.
 */
import type { CursorCodec, CursorState } from './cursor.js';
import type { Organisation, SimServer } from './organisation.js';
import { isoSeconds } from './wire.js';

export const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

export type PageResult =
  | { ok: true; body: string; count: number; cursor: string; more: boolean }
  | { ok: false; code: 'CURSOR_REQUIRED' | 'INVALID_CURSOR' | 'EXHAUSTED_CURSOR' | 'EXPIRED_CURSOR' };

export interface PageOptions {
  limit: number;
  /** device JSON bucket (deviceVariant of the protocol version) */
  variant: number;
  /** fault: answer with the cursor we were given and more_to_follow true */
  stuck?: boolean;
}

export class DeviceFeed {
  constructor(
    private readonly org: Organisation,
    private readonly codec: CursorCodec,
    private readonly cursorTtlMs: number = SEVEN_DAYS_MS,
  ) {}

  fetch(server: SimServer, cursorText: string | undefined, o: PageOptions): PageResult {
    const now = this.org.now;
    let c: CursorState;
    if (!cursorText) c = { server: server.index, phase: 'F', pos: 0, snap: server.log.length, created: now };
    else {
      const d = this.read(server, cursorText, now);
      if ('code' in d) return { ok: false, code: d.code };
      if (d.phase !== 'F') return { ok: false, code: 'EXHAUSTED_CURSOR' };
      if (d.pos > server.members.length) return { ok: false, code: 'INVALID_CURSOR' };
      c = d;
    }
    const { members, log } = server;
    const parts: string[] = [];
    let lastAt = now;
    let i = c.pos;
    for (; i < members.length; i++) {
      const idx = members[i];
      if (idx >= c.snap) {
        i = members.length; // members are in log order: nothing further belongs to this snapshot
        break;
      }
      const e = log[idx];
      const dev = e.device;
      if (dev.server !== server || dev.memberIdx !== idx) continue; // moved, deleted or re-added since
      if (parts.length === o.limit) break; // i is the next device: more to follow
      parts.push(dev.rev.json(o.variant));
      lastAt = e.at;
    }
    const more = i < members.length;
    const next: CursorState = more ? { ...c, pos: i, created: now } : { server: server.index, phase: 'D', pos: c.snap, snap: c.snap, created: now };
    const cursor = o.stuck && cursorText ? cursorText : this.codec.encode(next);
    return this.page(parts, cursor, more ? lastAt : now, more || !!o.stuck);
  }

  sync(server: SimServer, cursorText: string | undefined, o: PageOptions): PageResult {
    if (!cursorText) return { ok: false, code: 'CURSOR_REQUIRED' };
    const now = this.org.now;
    const c = this.read(server, cursorText, now);
    if ('code' in c) return { ok: false, code: c.code };
    const start = c.phase === 'F' ? c.snap : c.pos;
    const { log } = server;
    if (start > log.length) return { ok: false, code: 'INVALID_CURSOR' };
    const end = Math.min(start + o.limit, log.length);
    const parts: string[] = new Array(end - start);
    for (let i = start; i < end; i++) {
      const e = log[i];
      parts[i - start] = e.rev.opJson(o.variant, e.op, e.at, e.releasedByReplacement);
    }
    const more = end < log.length;
    const cursor = o.stuck ? cursorText : this.codec.encode({ server: server.index, phase: 'S', pos: end, snap: 0, created: now });
    return this.page(parts, cursor, more && end > start ? log[end - 1].at : now, more || !!o.stuck);
  }

  private read(server: SimServer, text: string, now: number): CursorState | { code: 'INVALID_CURSOR' | 'EXPIRED_CURSOR' } {
    const c = this.codec.decode(text);
    if (!c || c.server !== server.index || c.snap > server.log.length || (c.phase !== 'F' && c.pos > server.log.length)) return { code: 'INVALID_CURSOR' };
    if (now - c.created > this.cursorTtlMs) return { code: 'EXPIRED_CURSOR' };
    return c;
  }

  private page(parts: string[], cursor: string, fetchedUntil: number, more: boolean): PageResult {
    const body = `{"devices":[${parts.join(',')}],"cursor":"${cursor}","fetched_until":"${isoSeconds(fetchedUntil)}","more_to_follow":${more}}`;
    return { ok: true, body, count: parts.length, cursor, more };
  }
}
