/**
 * `X-ADM-Auth-Session` tokens. Apple documents only that a session stops working "after a
 * period of time" (401) and that any response may hand out a replacement in the
 * `X-ADM-Auth-Session` response header. Here: a fixed lifetime from creation (default
 * 30 minutes on the simulated clock), optional rotation every N requests or after an age, the
 * replaced token dying after a grace period (default at once: a client must switch), an
 * optional cap on concurrent sessions per token, and expiry on demand.
 */
import { randomBytes } from 'node:crypto';

export interface SessionOptions {
  /** lifetime from creation; default 30 min */
  ttlMs?: number;
  /** hand out a new token in the response header every N authenticated requests (0 = never) */
  rotateEveryRequests?: number;
  /** …or once a session is older than this (0 = never) */
  rotateAfterMs?: number;
  /** how long a rotated-away token keeps working; default 0 */
  rotationGraceMs?: number;
  /** at most this many live sessions per access token; the oldest dies first (0 = unlimited) */
  maxPerToken?: number;
}

export interface Session {
  token: string;
  serverUuid: string;
  accessToken: string;
  createdAt: number;
  expiresAt: number;
  requests: number;
}

export type SessionCheck = { ok: true; session: Session } | { ok: false; reason: 'missing' | 'unknown' | 'expired' };

export class SessionStore {
  private readonly byToken = new Map<string, Session>();
  readonly opts: Required<SessionOptions>;

  constructor(private readonly now: () => number, opts: SessionOptions = {}) {
    this.opts = { ttlMs: 30 * 60_000, rotateEveryRequests: 0, rotateAfterMs: 0, rotationGraceMs: 0, maxPerToken: 0, ...opts };
  }

  create(serverUuid: string, accessToken: string): Session {
    const now = this.now();
    const s: Session = { token: `${now}O${randomBytes(24).toString('hex').toUpperCase()}`, serverUuid, accessToken, createdAt: now, expiresAt: now + this.opts.ttlMs, requests: 0 };
    this.byToken.set(s.token, s);
    if (this.opts.maxPerToken > 0) {
      const mine = [...this.byToken.values()].filter((x) => x.accessToken === accessToken && x.expiresAt > now);
      for (const old of mine.slice(0, Math.max(0, mine.length - this.opts.maxPerToken))) this.byToken.delete(old.token);
    }
    this.prune(now);
    return s;
  }

  check(token: string | undefined): SessionCheck {
    if (!token) return { ok: false, reason: 'missing' };
    const s = this.byToken.get(token);
    if (!s) return { ok: false, reason: 'unknown' };
    if (this.now() >= s.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, session: s };
  }

  /** Counts a request; returns the replacement token when this response should rotate it. */
  touch(s: Session): string | undefined {
    s.requests++;
    const now = this.now();
    const due = (this.opts.rotateEveryRequests > 0 && s.requests % this.opts.rotateEveryRequests === 0) || (this.opts.rotateAfterMs > 0 && now - s.createdAt >= this.opts.rotateAfterMs);
    if (!due) return undefined;
    return this.rotate(s).token;
  }

  rotate(s: Session): Session {
    const now = this.now();
    const next = this.create(s.serverUuid, s.accessToken);
    s.expiresAt = Math.min(s.expiresAt, now + this.opts.rotationGraceMs);
    if (this.opts.rotationGraceMs === 0) this.byToken.delete(s.token);
    return next;
  }

  /** Expires sessions now (all, or those of one server / one token). */
  expire(filter: { serverUuid?: string; token?: string } = {}): number {
    let n = 0;
    const now = this.now();
    for (const s of this.byToken.values()) {
      if ((filter.serverUuid && s.serverUuid !== filter.serverUuid) || (filter.token && s.token !== filter.token)) continue;
      s.expiresAt = Math.min(s.expiresAt, now);
      n++;
    }
    return n;
  }

  /** Forgets sessions entirely (a restart): their tokens become unknown. */
  forget(): void {
    this.byToken.clear();
  }

  get size(): number {
    return this.byToken.size;
  }

  private prune(now: number): void {
    if (this.byToken.size < 1000) return;
    for (const [k, s] of this.byToken) if (s.expiresAt + 3600_000 < now) this.byToken.delete(k);
  }

  /** Configure rotation/expiry at run time (control API). */
  configure(o: SessionOptions): void {
    Object.assign(this.opts, o);
  }
}
