/**
 * The in-process job runner of embedded mode (also usable next to a shared Postgres): claims due
 * jobs, validates their payloads, runs their handlers with a bounded concurrency, retries failures
 * with backoff, dead-letters exhausted or unrunnable jobs, and fires cron schedules exactly once per
 * slot (the slot is the job's dedup id). Stops cleanly: claimed jobs finish first.
 */
import type { z } from "zod";
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import { nextSlot } from "./cron.ts";
import { embeddedJobs } from "./embedded.ts";
import type { Jobs } from "./port.ts";
import { createQueue, type Job } from "./queue.ts";

/** What a handler gets besides its payload. */
export interface JobContext {
  jobId: number;
  attempt: number;
  /** True on the last attempt the job gets (a handler may then settle for less than success). */
  final?: boolean;
  /** The slot a scheduled job fires for, when it is one. */
  slot?: string;
}

/** A job handler: a name, a zod schema for its payload, and an idempotent function. */
export interface JobHandler<T = unknown> {
  name: string;
  payload: z.ZodType<T>;
  run(payload: T, ctx: JobContext): Promise<void>;
}

/** Declares a handler with its payload type inferred from the schema. */
export function defineJob<S extends z.ZodType>(
  h: { name: string; payload: S; run(payload: z.output<S>, ctx: JobContext): Promise<void> },
): JobHandler {
  return h as unknown as JobHandler;
}

/** Options for {@link createRunner}. */
export interface RunnerOptions {
  db: Db;
  log: Logger;
  handlers: JobHandler[];
  concurrency?: number;
  pollMs?: number;
  visibilitySeconds?: number;
}

/** Creates the runner; `start()` begins polling, `stop()` drains. */
export function createRunner(options: RunnerOptions) {
  const { db, log } = options;
  const queue = createQueue(db);
  const node = crypto.randomUUID();
  const handlers = new Map(options.handlers.map((h) => [h.name, h]));
  const concurrency = options.concurrency ?? 4;
  const pollMs = options.pollMs ?? 500;
  const visibility = options.visibilitySeconds ?? 300;
  const active = new Set<Promise<void>>();
  let running = false;
  let lastTick = 0;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  async function runOne(job: Job) {
    const handler = handlers.get(job.name);
    const jlog = log.child({ job: job.name, job_id: job.id, attempt: job.attempts });
    if (!handler) {
      jlog.error("no handler for job; dead-lettered");
      await queue.fail(job, node, `no handler named ${job.name}`, { permanent: true });
      return;
    }
    const parsed = handler.payload.safeParse(job.payload);
    if (!parsed.success) {
      jlog.error("invalid job payload; dead-lettered", { issues: parsed.error.issues.slice(0, 5) });
      await queue.fail(job, node, `invalid payload: ${parsed.error.message}`, { permanent: true });
      return;
    }
    const slot = (job.payload as { slot?: unknown })?.slot;
    try {
      await handler.run(parsed.data, {
        jobId: job.id,
        attempt: job.attempts,
        final: job.attempts >= job.maxAttempts,
        slot: typeof slot === "string" ? slot : undefined,
      });
      await queue.complete(job, node);
    } catch (err) {
      const outcome = await queue.fail(job, node, err instanceof Error ? err.message : String(err));
      if (outcome.retried) jlog.warn("job failed; will retry", { err, delay_s: outcome.delaySeconds });
      else jlog.error("job failed for the last time; dead-lettered", { err });
    }
  }

  /** Fires due cron schedules: one job per slot, whatever the number of processes. */
  async function tickSchedules() {
    await db.transaction(async (tx) => {
      const due = await tx.query<{ name: string; cron: string; timezone: string; next_run_at: Date }>(
        `select name, cron, timezone, next_run_at from plaza.schedules
         where next_run_at <= now() for update skip locked`,
      );
      for (const s of due) {
        const slot = new Date(s.next_run_at);
        await tx.query(
          `insert into plaza.jobs (name, payload, dedup_id) values ($1, $2::text::jsonb, $3)
           on conflict (dedup_id) do nothing`,
          [s.name, JSON.stringify({ slot: slot.toISOString() }), `cron:${s.name}:${slot.toISOString()}`],
        );
        // Missed slots (downtime) fire once, not once each.
        const next = nextSlot(s.cron, s.timezone, new Date(Math.max(Date.now(), slot.getTime())));
        await tx.query(
          "update plaza.schedules set next_run_at = $2, last_run_at = $3, updated_at = now() where name = $1",
          [
            s.name,
            next.toISOString(),
            slot.toISOString(),
          ],
        );
      }
    });
  }

  async function poll() {
    while (running) {
      try {
        // Schedules fire on whole minutes: looking once a second is plenty, however busy the queue.
        if (Date.now() - lastTick >= 1000) {
          lastTick = Date.now();
          await tickSchedules();
        }
        const free = concurrency - active.size;
        const jobs = free > 0 ? await queue.claim(node, free, visibility) : [];
        for (const job of jobs) {
          const p = runOne(job).catch((err) => log.error("job bookkeeping failed", { err })).finally(() => {
            active.delete(p);
            wake?.(); // a slot is free: claim the next due job now, not at the next poll
          });
          active.add(p);
        }
        if (jobs.length === free && free > 0) continue; // more may be due
      } catch (err) {
        log.error("job runner poll failed", { err });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  const jobs: Jobs = embeddedJobs(db);

  return {
    node,
    jobs,
    queue,
    async start() {
      if (running) return;
      running = true;
      unlisten = await db.listen("plaza_jobs", () => wake?.());
      loop = poll();
    },
    /** Stops claiming, waits for running jobs (at most `timeoutMs`). */
    async stop(timeoutMs = 10_000) {
      running = false;
      wake?.();
      await loop;
      await Promise.race([Promise.all(active), new Promise((r) => setTimeout(r, timeoutMs))]);
      await unlisten?.().catch(() => {});
    },
    /** Runs one poll cycle and waits for the jobs it started (tests). */
    async drain() {
      await tickSchedules();
      for (;;) {
        const claimed = await queue.claim(node, concurrency, visibility);
        if (!claimed.length) break;
        await Promise.all(claimed.map(runOne));
      }
    },
  };
}

/** The runner's interface. */
export type Runner = ReturnType<typeof createRunner>;
