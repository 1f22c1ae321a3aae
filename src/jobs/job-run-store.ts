/**
 * The durable record of periodic job runs (`job_runs`), one row per job and due time, so that
 * across the nodes each due time runs once: the lease keeps two nodes from running a job at the
 * same moment, this record keeps a node from running again what another already finished.
 * Only the holder of the job's lease calls `claim`, so an unfinished row it finds belongs to a
 * node that died (or lost the lease) mid-run, and is taken over.
 */
import type { Db } from '../db/database.js';

/** Finished runs are kept this long behind the newest due time of their job, then pruned. */
const KEEP_MS = 86_400_000;

export class JobRunStore {
  constructor(private readonly db: Db) {}

  /**
   * Claims the run of `job` for `dueAt`: the attempt number (1, or more when taking over a run
   * whose node died), or undefined when that run already finished.
   */
  async claim(job: string, dueAt: number, holder: string, now: number): Promise<number | undefined> {
    const row = await this.db
      .insertInto('job_runs')
      .values({ job, due_at: dueAt, holder, attempts: 1, started_at: now, finished_at: null, outcome: null })
      .onConflict((oc) =>
        oc
          .columns(['job', 'due_at'])
          .doUpdateSet((eb) => ({ holder, started_at: now, attempts: eb('job_runs.attempts', '+', 1) }))
          .where('job_runs.finished_at', 'is', null),
      )
      .returning('attempts')
      .executeTakeFirst();
    return row?.attempts;
  }

  /**
   * Marks the run finished; false when another node took it over meanwhile (this node's lease
   * lapsed), in which case that node's outcome is the one recorded. Prunes the job's old runs.
   */
  async finish(job: string, dueAt: number, holder: string, outcome: 'ok' | 'failed', now: number): Promise<boolean> {
    const done = await this.db
      .updateTable('job_runs')
      .set({ finished_at: now, outcome })
      .where('job', '=', job)
      .where('due_at', '=', dueAt)
      .where('holder', '=', holder)
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    await this.db.deleteFrom('job_runs').where('job', '=', job).where('due_at', '<', dueAt - KEEP_MS).execute();
    return Number(done.numUpdatedRows) === 1;
  }
}
