/**
 * Runs periodic jobs on every node. A job decides what is due and does each piece of work under
 * a lease (`withLease`), so with many nodes every piece runs once, and moves to another node
 * within one lease period when its node dies. Ticks never overlap for the same job.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from './lease-store.js';

export interface Job {
  name: string;
  /** time between the end of one tick and the start of the next */
  everyMs: number;
  tick(): Promise<void>;
}

export class LeaseLost extends Error {
  constructor(name: string) {
    super(`lease ${name} was lost to another node`);
  }
}

/**
 * Runs `fn` while holding the lease, renewed on a timer (every third of its lifetime) for as long
 * as `fn` runs — one slow call to Apple must not let another node take over mid-run. `heartbeat`
 * throws LeaseLost once a renewal found the lease gone, so `fn` stops at its next checkpoint.
 * Returns undefined without running when another node holds it.
 */
export async function withLease<T>(
  leases: LeaseStore,
  o: { name: string; holder: string; ttlMs: number; now?: () => number },
  fn: (heartbeat: () => Promise<void>) => Promise<T>,
): Promise<{ value: T } | undefined> {
  const now = o.now ?? Date.now;
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
      await this.#tick(job);
      this.#schedule(job, job.everyMs);
    }, delay);
    t.unref();
    this.#timers.set(job.name, t);
  }

  #tick(job: Job): Promise<void> {
    const under = this.#running.get(job.name);
    if (under) return under;
    const started = performance.now();
    const ran = (outcome: 'ok' | 'failed') => this.opts.onRun?.({ job: job.name, outcome, ms: performance.now() - started });
    const p = job
      .tick()
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
