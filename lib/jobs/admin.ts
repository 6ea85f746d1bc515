/**
 * What `/admin/jobs` shows and does: jobs by state (queued, running, failed and waiting to retry,
 * dead-lettered), the cron schedules, and the admin actions retry and delete. Server-side only: the
 * routes check that the caller is an admin before calling these.
 */
import type { Db } from "../db/port.ts";
import { createQueue } from "./queue.ts";
import { isoOrNull } from "../dates.ts";

/** The states the page filters by. */
export const JOB_STATES = ["queued", "running", "failed", "dead", "done"] as const;
/** One of {@link JOB_STATES}. */
export type JobState = typeof JOB_STATES[number];

/** A job row as the page shows it. */
export interface JobView {
  id: number;
  name: string;
  state: JobState;
  payload: string;
  attempts: number;
  max_attempts: number | null;
  dedup_id: string | null;
  run_at: string | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

/** Counts per state. */
export async function jobCounts(db: Db): Promise<Record<JobState, number>> {
  const rows = await db.query<{ state: JobState; n: number }>(
    `select case when status = 'queued' and last_error is not null then 'failed' else status end as state,
            count(*)::int as n
     from plaza.jobs group by 1
     union all select 'dead', count(*)::int from plaza.dead_jobs`,
  );
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const r of rows) counts[r.state] += Number(r.n);
  return counts;
}

/** Up to `limit` jobs in `state`, newest first, before the id `before`. */
export async function listJobs(
  db: Db,
  state: JobState,
  opts: { before?: number; limit: number },
): Promise<JobView[]> {
  const params = [opts.before ?? null, opts.limit];
  const rows = state === "dead"
    ? await db.query<Record<string, unknown>>(
      `select id, name, payload::text as payload, attempts, null::int as max_attempts, dedup_id,
              null::timestamptz as run_at, last_error, created_at, failed_at as finished_at
       from plaza.dead_jobs where ($1::bigint is null or id < $1) order by id desc limit $2`,
      params,
    )
    : await db.query<Record<string, unknown>>(
      `select id, name, payload::text as payload, attempts, max_attempts, dedup_id, run_at, last_error,
              created_at, finished_at
       from plaza.jobs
       where ($1::bigint is null or id < $1) and ${
        state === "failed"
          ? "status = 'queued' and last_error is not null"
          : state === "queued"
          ? "status = 'queued' and last_error is null"
          : `status = '${state}'`
      }
       order by id desc limit $2`,
      params,
    );
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name as string,
    state,
    payload: (r.payload as string).slice(0, 500),
    attempts: Number(r.attempts),
    max_attempts: r.max_attempts === null ? null : Number(r.max_attempts),
    dedup_id: (r.dedup_id as string | null) ?? null,
    run_at: isoOrNull(r.run_at),
    last_error: (r.last_error as string | null) ?? null,
    created_at: isoOrNull(r.created_at)!,
    finished_at: isoOrNull(r.finished_at),
  }));
}

/** The cron schedules with their next and last slots. */
export async function listSchedules(db: Db) {
  const rows = await db.query<Record<string, unknown>>(
    "select name, cron, timezone, next_run_at, last_run_at from plaza.schedules order by name",
  );
  return rows.map((r) => ({
    name: r.name as string,
    cron: r.cron as string,
    timezone: r.timezone as string,
    next_run_at: isoOrNull(r.next_run_at)!,
    last_run_at: isoOrNull(r.last_run_at),
  }));
}

/** Retries a dead job (back in the queue) or a failed one (due now); false when there is none. */
export async function retryJob(db: Db, state: "dead" | "failed", id: number): Promise<boolean> {
  if (state === "dead") return await createQueue(db).retryDead(id);
  const rows = await db.query(
    "update plaza.jobs set run_at = now() where id = $1 and status = 'queued' returning id",
    [id],
  );
  return rows.length > 0;
}

/** Deletes a dead job, or a job that is queued (not one running right now). */
export async function deleteJob(db: Db, state: "dead" | "queued" | "failed", id: number): Promise<boolean> {
  if (state === "dead") return await createQueue(db).deleteDead(id);
  const rows = await db.query("delete from plaza.jobs where id = $1 and status = 'queued' returning id", [
    id,
  ]);
  return rows.length > 0;
}
