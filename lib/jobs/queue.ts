/**
 * The Postgres-backed job queue of embedded mode: enqueue with dedup ids and delays, claim with
 * `FOR UPDATE SKIP LOCKED` (several processes share it, no job runs twice at once), visibility
 * timeouts (a job held by a process that died is claimed again), retries with backoff, and a
 * dead-letter table.
 */
import type { Db } from "../db/port.ts";
import { retryDelaySeconds } from "./backoff.ts";
import type { EnqueueOptions } from "./port.ts";

/** A claimed job. */
export interface Job {
  id: number;
  name: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  dedupId: string | null;
}

/** What happened to a failed job. */
export type FailOutcome = { retried: true; delaySeconds: number } | { retried: false };

interface JobRow {
  id: string | number;
  name: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  dedup_id: string | null;
}

const toJob = (r: JobRow): Job => ({
  id: Number(r.id),
  name: r.name,
  payload: r.payload,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  dedupId: r.dedup_id,
});

/** Creates the queue over `db`. */
export function createQueue(db: Db) {
  return {
    /** Queues a job; returns its id, or null when the dedup id was taken. */
    async enqueue(name: string, payload: unknown, options: EnqueueOptions = {}): Promise<number | null> {
      const runAt = options.notBefore ?? new Date(Date.now() + (options.delaySeconds ?? 0) * 1000);
      const rows = await db.query<{ id: string | number }>(
        `insert into plaza.jobs (name, payload, run_at, max_attempts, dedup_id)
         values ($1, $2::text::jsonb, $3, $4, $5)
         on conflict (dedup_id) do nothing
         returning id`,
        [
          name,
          JSON.stringify(payload ?? {}),
          runAt.toISOString(),
          (options.retries ?? 5) + 1,
          options.dedupId ?? null,
        ],
      );
      if (!rows.length) return null;
      // Wake idle runners for work due now; later jobs are found by the runners' polls.
      if (runAt.getTime() <= Date.now()) await db.notify("plaza_jobs", name).catch(() => {});
      return Number(rows[0].id);
    },

    /**
     * Claims up to `limit` due jobs for `node`, hiding them for `visibilitySeconds`: queued jobs in
     * order of their due time (an index scan, however long the queue), then, to fill the rest,
     * running jobs whose claim expired (their process died).
     */
    async claim(node: string, limit: number, visibilitySeconds: number): Promise<Job[]> {
      const claimWhere = async (where: string, order: string, n: number) =>
        await db.query<JobRow>(
          `update plaza.jobs j
              set status = 'running', attempts = j.attempts + 1, locked_by = $1,
                  locked_until = now() + make_interval(secs => $3)
            where j.id in (
              select id from plaza.jobs where ${where} order by ${order} limit $2 for update skip locked)
           returning j.id, j.name, j.payload, j.attempts, j.max_attempts, j.dedup_id`,
          [node, n, visibilitySeconds],
        );
      const due = await claimWhere("status = 'queued' and run_at <= now()", "run_at, id", limit);
      const expired = due.length < limit
        ? await claimWhere("status = 'running' and locked_until < now()", "locked_until", limit - due.length)
        : [];
      return [...due, ...expired].map(toJob);
    },

    /** Marks a job done (kept for 7 days so its dedup id stays taken). */
    async complete(job: Job, node: string): Promise<void> {
      await db.query(
        `update plaza.jobs set status = 'done', finished_at = now(), locked_by = null, locked_until = null
         where id = $1 and locked_by = $2`,
        [job.id, node],
      );
    },

    /** Schedules a retry with backoff, or moves an exhausted (or unrunnable) job to the dead letters. */
    async fail(
      job: Job,
      node: string,
      error: string,
      options: { permanent?: boolean } = {},
    ): Promise<FailOutcome> {
      const message = error.slice(0, 2000);
      if (!options.permanent && job.attempts < job.maxAttempts) {
        const delaySeconds = retryDelaySeconds(job.attempts);
        await db.query(
          `update plaza.jobs set status = 'queued', run_at = now() + make_interval(secs => $3), last_error = $4,
                  locked_by = null, locked_until = null
           where id = $1 and locked_by = $2`,
          [job.id, node, delaySeconds, message],
        );
        return { retried: true, delaySeconds };
      }
      await db.transaction(async (tx) => {
        const moved = await tx.query(
          `delete from plaza.jobs where id = $1 and locked_by = $2
           returning id, name, payload, attempts, dedup_id, created_at`,
          [job.id, node],
        );
        if (!moved.length) return;
        await tx.query(
          `insert into plaza.dead_jobs (id, name, payload, attempts, dedup_id, last_error, created_at)
           select $1, $2, $3::text::jsonb, $4, $5, $6, now()`,
          [job.id, job.name, JSON.stringify(job.payload ?? {}), job.attempts, job.dedupId, message],
        );
      });
      return { retried: false };
    },

    /** Cancels a queued job by dedup id (a reminder for someone who left); true when one was queued. */
    async cancel(dedupId: string): Promise<boolean> {
      const rows = await db.query(
        "delete from plaza.jobs where dedup_id = $1 and status = 'queued' returning id",
        [
          dedupId,
        ],
      );
      return rows.length > 0;
    },

    /** Puts a dead job back in the queue, due now, with a fresh attempt budget. */
    async retryDead(id: number): Promise<boolean> {
      return await db.transaction(async (tx) => {
        const [dead] = await tx.query<{ name: string; payload: unknown; dedup_id: string | null }>(
          "delete from plaza.dead_jobs where id = $1 returning name, payload, dedup_id",
          [id],
        );
        if (!dead) return false;
        await tx.query(
          `insert into plaza.jobs (name, payload, dedup_id) values ($1, $2::text::jsonb, $3)
           on conflict (dedup_id) do nothing`,
          [dead.name, JSON.stringify(dead.payload), dead.dedup_id],
        );
        return true;
      });
    },

    /** Deletes a dead job for good. */
    async deleteDead(id: number): Promise<boolean> {
      return (await db.query("delete from plaza.dead_jobs where id = $1 returning id", [id])).length > 0;
    },

    /** Forgets done jobs older than `days` (their dedup ids become free again). */
    async purgeDone(days = 7): Promise<void> {
      await db.query(
        "delete from plaza.jobs where status = 'done' and finished_at < now() - make_interval(days => $1)",
        [
          days,
        ],
      );
    },
  };
}

/** The queue's interface. */
export type Queue = ReturnType<typeof createQueue>;
