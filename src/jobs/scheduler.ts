/**
 * Runs periodic jobs on every node. A job decides what is due and does each piece of work under
 * a lease (`withLease`), so with many nodes every piece runs once, and moves to another node
 * within one lease period when its node dies. Ticks never overlap for the same job.
 *
 * Each timed tick is given its due time: the start of the current period of `everyMs`, the same
 * on every node. A job that passes it to `withLease` runs once per period across the cluster
 * (recorded in `job_runs`), however many nodes tick in it; `runNow` gives none, so an explicit
 * run always runs.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from './lease-store.js';
import type { JobRunStore } from './job-run-store.js';

export interface Job {
  name: string;
  /** time between the end of one tick and the start of the next */
  everyMs: number;
  /** `due`: the period this timed tick belongs to; undefined when run on demand */
  tick(due?: number): Promise<void>;
}

/** The start of the period of `everyMs` that `now` falls in — every node computes the same. */
export const periodStart = (now: number, everyMs: number): number => now - (now % everyMs);

export class LeaseLost extends Error {
  constructor(name: string) {
    super(`lease ${name} was lost to another node`);
  }
}

/**
 * Runs `fn` once for `job`'s due time `dueAt`, recorded in `job_runs`: not at all when that run
 * already finished on some node; as a further attempt when its node died mid-run. Call it only
 * while holding the job's lease. The outcome is recorded whether `fn` returns or throws (a
 * failed run is retried at the job's next due time, not again for this one).
 */
export async function runOnce<T>(
  runs: JobRunStore,
  o: { job: string; dueAt: number; holder: string; now?: () => number; log?: Logger },
  fn: () => Promise<T>,
): Promise<{ value: T } | undefined> {
  const now = o.now ?? Date.now;
  const attempt = await runs.claim(o.job, o.dueAt, o.holder, now());
  if (attempt === undefined) {
    o.log?.debug({ job: o.job, dueAt: o.dueAt }, 'job run skipped: already ran');
    return undefined;
  }
  const run = { job: o.job, dueAt: o.dueAt, attempt };
  o.log?.debug(run, 'job run started');
  let outcome: 'ok' | 'failed' = 'failed';
  try {
    const value = await fn();
    outcome = 'ok';
    return { value };
  } finally {
    const mine = await runs.finish(o.job, o.dueAt, o.holder, outcome, now());
    if (mine) o.log?.debug({ ...run, outcome }, 'job run finished');
    else o.log?.warn(run, 'job run taken over by another node before it finished (lease lost)');
  }
}

/**
 * Runs `fn` while holding the lease, renewed on a timer (every third of its lifetime) for as long
 * as `fn` runs — one slow call to Apple must not let another node take over mid-run. `heartbeat`
 * throws LeaseLost once a renewal found the lease gone, so `fn` stops at its next checkpoint.
 * Returns undefined without running when another node holds it — or, given `dueAt`, when that
 * due time of the job already ran (`runOnce`, under the lease's name).
 */
export async function withLease<T>(
  leases: LeaseStore,
  o: { name: string; holder: string; ttlMs: number; now?: () => number; dueAt?: number; log?: Logger },
  fn: (heartbeat: () => Promise<void>) => Promise<T>,
): Promise<{ value: T } | undefined> {
  const now = o.now ?? Date.now;
  if (o.dueAt !== undefined) {
    const dueAt = o.dueAt;
    return withLease(leases, { ...o, dueAt: undefined }, async (heartbeat) =>
      runOnce(leases.runs, { job: o.name, dueAt, holder: o.holder, now, log: o.log }, () => fn(heartbeat)),
    ).then((r) => r?.value);
  }
  if (!(await leases.acquire(o.name, o.holder, o.ttlMs, now()))) return undefined;
  let lost = false;
  const renew = async () => {
    if (!lost && !(await leases.acquire(o.name, o.holder, o.ttlMs, now()).catch(() => false))) lost = true;
  };
  const timer = setInterval(() => void renew(), Math.max(1000, Math.floor(o.ttlMs / 3)));
  timer.unref();
  const heartbeat = async () => {
    if (lost) throw new LeaseLost(o.name);
  };
  try {
    return { value: await fn(heartbeat) };
  } finally {
    clearInterval(timer);
    if (!lost) await leases.release(o.name, o.holder).catch(() => {});
  }
}

export class Scheduler {
  readonly #jobs: Job[] = [];
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Map<string, Promise<void>>();
  #stopped = true;

  /** `onRun`: each tick's end, for metrics */
  constructor(
    private readonly log: Logger,
    private readonly opts: { onRun?: (e: { job: string; outcome: 'ok' | 'failed'; ms: number }) => void } = {},
  ) {}

  add(job: Job): this {
    this.#jobs.push(job);
    return this;
  }

  start(): void {
    this.#stopped = false;
    // A little jitter keeps nodes started together from ticking in lock-step.
    for (const job of this.#jobs) this.#schedule(job, Math.floor(Math.random() * Math.min(job.everyMs, 2000)));
  }

  /** Stops scheduling and waits for ticks under way to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Promise.allSettled(this.#running.values());
  }

  /** Runs one tick of a job now (and waits), unless one is under way — then waits for that. */
  async runNow(name: string): Promise<void> {
    const job = this.#jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no job ${name}`);
    await this.#tick(job);
  }

  #schedule(job: Job, delay: number) {
    if (this.#stopped) return;
    const t = setTimeout(async () => {
      await this.#tick(job, periodStart(Date.now(), job.everyMs));
      this.#schedule(job, job.everyMs);
    }, delay);
    t.unref();
    this.#timers.set(job.name, t);
  }

  #tick(job: Job, due?: number): Promise<void> {
    const under = this.#running.get(job.name);
    if (under) return under;
    const started = performance.now();
    const ran = (outcome: 'ok' | 'failed') => this.opts.onRun?.({ job: job.name, outcome, ms: performance.now() - started });
    const p = job
      .tick(due)
      .then(() => ran('ok'))
      .catch((err) => {
        ran('failed');
        this.log.error({ err, job: job.name }, 'job tick failed');
      })
      .finally(() => this.#running.delete(job.name));
    this.#running.set(job.name, p);
    return p;
  }
}
