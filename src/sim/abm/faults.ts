/**
 * Fault injection for the Apple-facing endpoints. A rule matches requests by method and path
 * (exact, or a prefix ending in `*`), lets the first `skip` matches through, then fires `times`
 * times (default once; Infinity for a storm), optionally only with a probability (seeded).
 *
 * Actions:
 * - `status`         answer this status (and an Apple-style code body) instead — 5xx storms, 429, any 4xx
 * - `delay`          answer normally, `ms` later (slow service; combine with others)
 * - `hang`           never answer (the connection stays open until the client gives up or we close)
 * - `reset`          destroy the connection without answering
 * - `invalid-json`   200 with a body that is not JSON
 * - `wrong-shape`    200 with JSON of the wrong shape (types and keys Apple never sends)
 * - `truncate`       the real answer, cut after `bytes` (default half) with the full Content-Length, then the connection closes
 * - `enormous`       the real answer padded to about `bytes` with a huge unknown field, chunked (no Content-Length) unless `contentLength`
 * - `expire-session` the caller's session expires just before this request (→ 401 mid-sync)
 * - `stuck-cursor`   a fetch/sync page that returns the cursor it was given, with more_to_follow true
 */
import type { Rng } from './rng.js';

export type FaultAction =
  | { kind: 'status'; status: number; code?: string; body?: string; headers?: Record<string, string> }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'invalid-json' }
  | { kind: 'wrong-shape' }
  | { kind: 'truncate'; bytes?: number }
  | { kind: 'enormous'; bytes: number; contentLength?: boolean }
  | { kind: 'expire-session' }
  | { kind: 'stuck-cursor' };

export interface FaultRule {
  id?: string;
  method?: string;
  /** exact path, or a prefix ending in `*` (`*` alone: every Apple endpoint) */
  path?: string;
  /** let this many matching requests through first */
  skip?: number;
  /** fire this many times (default 1; Infinity = until cleared) */
  times?: number;
  /** fire with this probability once eligible (default 1) */
  probability?: number;
  action: FaultAction;
}

interface LiveRule extends FaultRule {
  id: string;
  seen: number;
  fired: number;
}

export class FaultInjector {
  private rules: LiveRule[] = [];
  private nextId = 1;

  constructor(private readonly rng: Rng) {}

  add(rule: FaultRule): string {
    const id = rule.id ?? `f${this.nextId++}`;
    this.rules.push({ ...rule, id, seen: 0, fired: 0 });
    return id;
  }

  remove(id: string): boolean {
    const n = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== n;
  }

  clear(): void {
    this.rules = [];
  }

  list(): (FaultRule & { id: string; seen: number; fired: number })[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** The actions that fire for this request (each matching rule counts the request). */
  take(method: string, path: string): FaultAction[] {
    const out: FaultAction[] = [];
    for (const r of this.rules) {
      if (r.method && r.method.toUpperCase() !== method) continue;
      if (r.path && r.path !== '*' && !(r.path.endsWith('*') ? path.startsWith(r.path.slice(0, -1)) : path === r.path)) continue;
      r.seen++;
      if (r.seen <= (r.skip ?? 0)) continue;
      if (r.fired >= (r.times ?? 1)) continue;
      if (r.probability !== undefined && this.rng.next() >= r.probability) continue;
      r.fired++;
      out.push(r.action);
    }
    this.rules = this.rules.filter((r) => r.fired < (r.times ?? 1));
    return out;
  }
}

/** A body that is valid JSON but nothing like what Apple sends. */
export const WRONG_SHAPE_BODY = '{"devices":{"not":"an array"},"cursor":12345,"more_to_follow":"yes","fetched_until":null,"auth_session_token":false}';
export const INVALID_JSON_BODY = '{"devices":[{"serial_number":"C02XXXXXXXXX","model":"MacBook Pro",';
