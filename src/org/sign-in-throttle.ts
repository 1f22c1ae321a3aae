/**
 * The failed sign-in throttle kept in the database, so guesses spread over many nodes share one
 * budget: after `maxFailures` failures for a key (a source address, a user name) within
 * `windowMs`, that key waits until the oldest of them leaves the window.
 */
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';

// Asked before every sign-in (see src/db/prepared.ts): the `offset`-th most recent failure of a key since `since`.
const failureAt = prepared((db, key: string, since: number, offset: number) =>
  db.selectFrom('sign_in_failures').select('at').where('key', '=', key).where('at', '>', since).orderBy('at', 'desc').limit(1).offset(offset),
);

export interface SignInThrottle {
  /** milliseconds until another attempt is allowed for all keys; 0 when allowed now */
  retryAfterMs(keys: string[]): number | Promise<number>;
  recordFailure(keys: string[]): void | Promise<void>;
  reset(keys: string[]): void | Promise<void>;
}

export class DbSignInThrottle implements SignInThrottle {
  readonly #max: number;
  readonly #window: number;
  readonly #now: () => number;

  constructor(private readonly db: Db, opts: { maxFailures?: number; windowMs?: number; now?: () => number } = {}) {
    this.#max = opts.maxFailures ?? 5;
    this.#window = opts.windowMs ?? 5 * 60_000;
    this.#now = opts.now ?? Date.now;
  }

  async retryAfterMs(keys: string[]): Promise<number> {
    const now = this.#now();
    let wait = 0;
    for (const key of keys) {
      // The max-th most recent failure inside the window decides when the key is free again.
      const row = (await failureAt(this.db, key, now - this.#window, this.#max - 1)).rows[0];
      if (row) wait = Math.max(wait, Number(row.at) + this.#window - now);
    }
    return wait;
  }

  async recordFailure(keys: string[]): Promise<void> {
    const now = this.#now();
    await this.db.insertInto('sign_in_failures').values(keys.map((key) => ({ key, at: now }))).execute();
    // Old failures no longer count; dropping them here keeps the table at the size of the window.
    await this.db.deleteFrom('sign_in_failures').where('key', 'in', keys).where('at', '<=', now - this.#window).execute();
  }

  async reset(keys: string[]): Promise<void> {
    await this.db.deleteFrom('sign_in_failures').where('key', 'in', keys).execute();
  }
}
