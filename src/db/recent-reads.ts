/**
 * Reads kept for a moment. Every enrollment request reads its organization group and a few of
 * its settings — the same handful of rows for every device of a batch — so a node keeps what it
 * read for `ttlMs` (one second by default). The node's own writes clear it at once; another
 * node's writes are seen here within `ttlMs`. A failed read is not kept, and concurrent reads of
 * one key share one query.
 */
export class RecentReads {
  readonly #kept = new Map<string, { until: number; value: Promise<unknown> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** more keys than this (a very large tree) and everything is dropped rather than scanned */
    private readonly maxKeys = 2000,
  ) {}

  read<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = this.now();
    const kept = this.#kept.get(key);
    if (kept && kept.until > now) return kept.value as Promise<T>;
    if (this.#kept.size >= this.maxKeys) this.#kept.clear();
    const value = load();
    this.#kept.set(key, { until: now + this.ttlMs, value });
    value.catch(() => {
      if (this.#kept.get(key)?.value === value) this.#kept.delete(key);
    });
    return value;
  }

  clear(): void {
    this.#kept.clear();
  }
}
