/**
 * The jobs port (DESIGN section 5): the embedded Postgres queue and QStash both implement it, and
 * everything that defers work (notifications, reminders, rollups) talks only to it.
 */

/** Options for {@link Jobs.enqueue}. */
export interface EnqueueOptions {
  delaySeconds?: number;
  notBefore?: Date;
  /** A job with this id queued, running or done recently suppresses this one. */
  dedupId?: string;
  /** Retries after the first attempt (default 5, so 6 attempts). */
  retries?: number;
}

/** Deferred work by name; handlers live in workers/. */
export interface Jobs {
  /** Which adapter runs the jobs. */
  readonly kind: "embedded" | "qstash";
  /** Queues a job; resolves to an id, or null when the dedup id was already taken. */
  enqueue(name: string, payload: unknown, options?: EnqueueOptions): Promise<string | null>;
  /** Declares a cron schedule (idempotent: re-declaring it keeps its next slot). */
  schedule(name: string, cron: string, options?: { timezone?: string }): Promise<void>;
  /** Cancels a job that has not run yet, by dedup id; true when one was cancelled. */
  cancel(dedupId: string): Promise<boolean>;
}
