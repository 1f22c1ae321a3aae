/**
 * Cursors that encode a position instead of naming stored state, so a 100,000-device fetch
 * costs no per-cursor memory. The text is base64 of colon-separated fields (Apple's cursors
 * look the same: `MTY1NzI2ODE5Ny0x` → `1657268197-1`) with a MAC, so a tampered or foreign
 * cursor is INVALID_CURSOR rather than a wrong position.
 *
 * Phases: `F` a full fetch in progress (position in the server's membership list, snapshot =
 * change-log length when the fetch began), `D` a drained fetch (fetch with it → EXHAUSTED_CURSOR,
 * sync continues from the snapshot), `S` a sync position in the change log.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type CursorPhase = 'F' | 'D' | 'S';

export interface CursorState {
  /** the server's index in the organisation (cursors do not travel between servers) */
  server: number;
  phase: CursorPhase;
  /** F: index into the membership list; D/S: change-log index to continue from */
  pos: number;
  /** F: change-log length at the start of the fetch */
  snap: number;
  /** when the cursor was issued (simulated clock, ms) — EXPIRED_CURSOR after 7 days */
  created: number;
}

export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  encode(c: CursorState): string {
    const payload = `${c.server}:${c.phase}:${c.pos}:${c.snap}:${c.created}`;
    return Buffer.from(`${payload}:${this.mac(payload)}`).toString('base64').replace(/=+$/, '');
  }

  decode(text: string): CursorState | undefined {
    if (typeof text !== 'string' || text.length === 0 || text.length > 1000 || !/^[A-Za-z0-9+/]+$/.test(text)) return undefined;
    const parts = Buffer.from(text, 'base64').toString('latin1').split(':');
    if (parts.length !== 6) return undefined;
    const [server, phase, pos, snap, created, mac] = parts;
    const payload = parts.slice(0, 5).join(':');
    const want = Buffer.from(this.mac(payload));
    const got = Buffer.from(mac);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    if (phase !== 'F' && phase !== 'D' && phase !== 'S') return undefined;
    const n = [server, pos, snap, created].map(Number);
    if (n.some((x) => !Number.isSafeInteger(x) || x < 0)) return undefined;
    return { server: n[0], phase, pos: n[1], snap: n[2], created: n[3] };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('hex').slice(0, 16);
  }
}
