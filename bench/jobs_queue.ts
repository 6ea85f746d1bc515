/**
 * Queue throughput with the runner as shipped (bench/jobs.ts, part 1): N no-op jobs enqueued
 * through the jobs port (`embeddedJobs(db).enqueue`, `callers` at a time, no runner listening), then
 * drained by `createRunner` with its default poll interval until the queue is empty. Handler calls
 * are counted per job id, so a job that ran twice or never is caught; every statement the runners
 * send is counted by kind, for the round trips one job costs.
 */
import { z } from "zod";
import { embeddedJobs } from "@/lib/jobs/embedded.ts";
import { createRunner, defineJob, type Runner } from "@/lib/jobs/runner.ts";
import type { Logger } from "@/lib/log.ts";
import type { ScratchServer } from "./scratch_db.ts";
import {
  CallCounter,
  countingDb,
  countOf,
  cpuMeter,
  type CpuUse,
  inParallel,
  type KindStats,
  QueryStats,
  waitFor,
} from "./jobs_util.ts";

/** The no-op job's name. */
export const NOOP_JOB = "bench-noop";

/** One queue run. */
export interface QueueSetting {
  /** Runners, each with its own connection pool on Postgres. */
  runners: number;
  /** Jobs each runner runs at a time. */
  concurrency: number;
  /** No-op jobs enqueued, then drained. */
  jobs: number;
  /** Concurrent enqueue callers. */
  callers: number;
  /** Longest wait for the queue to drain, in seconds. */
  timeoutS: number;
}

/** What one queue run measured. */
export interface QueueResult extends QueueSetting {
  /** The database's label in the report. */
  database: string;
  /** Seconds to enqueue every job. */
  enqueueS: number;
  /** Jobs with status 'done' when the run ended. */
  done: number;
  /** Runners started to queue empty (or the timeout). */
  seconds: number;
  /** Jobs whose handler ran twice. */
  twice: number;
  /** Jobs enqueued whose handler never ran (counted once the queue is empty). */
  lost: number;
  /** Statements the runners sent while draining, by kind. */
  queries: Record<string, KindStats>;
  /** Statements per job while enqueueing, by kind. */
  enqueueQueries: Record<string, KindStats>;
  /** CPU use while draining (Linux only). */
  cpu?: CpuUse;
}

/** Runs one queue setting on a fresh database of `server`. */
export async function queueScenario(
  server: ScratchServer,
  database: string,
  setting: QueueSetting,
  log: Logger,
): Promise<QueueResult> {
  const scratch = await server.fresh();
  const runners: Runner[] = [];
  try {
    const { jobs } = setting;
    const stats = new QueryStats();
    const port = embeddedJobs(countingDb(scratch.db, stats));
    const ids = new Set<number>();
    const t0 = performance.now();
    await inParallel(jobs, setting.callers, async (i) => {
      const id = await port.enqueue(NOOP_JOB, { i });
      if (id !== null) ids.add(Number(id));
    });
    const enqueueS = (performance.now() - t0) / 1000;
    const enqueueQueries = stats.snapshot();
    stats.reset();

    const counter = new CallCounter();
    const noop = defineJob({
      name: NOOP_JOB,
      payload: z.object({ i: z.number().int() }),
      run: (_payload, ctx) => {
        counter.record(ctx.jobId);
        return Promise.resolve();
      },
    });
    for (let r = 0; r < setting.runners; r++) {
      runners.push(createRunner({
        db: countingDb(scratch.connect(), stats),
        log,
        handlers: [noop],
        concurrency: setting.concurrency,
        // pollMs left out: the shipped default
      }));
    }
    const cpu = cpuMeter();
    const start = performance.now();
    await Promise.all(runners.map((r) => r.start()));
    const { reached, seconds } = await waitFor(
      start,
      setting.timeoutS,
      jobs,
      () => counter.calls.size >= jobs,
      async () =>
        jobs - await countOf(scratch.db, "select count(*)::int as n from plaza.jobs where status <> 'done'"),
    );
    const cpuUse = cpu();
    const queries = stats.snapshot();
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    const lost = reached === jobs ? [...ids].filter((id) => !counter.calls.has(id)).length : 0;
    return {
      ...setting,
      database,
      enqueueS,
      done: reached,
      seconds,
      twice: counter.twice(),
      lost: lost + (jobs - ids.size),
      queries,
      enqueueQueries,
      cpu: cpuUse,
    };
  } finally {
    await Promise.all(runners.map((r) => r.stop().catch(() => {})));
    await scratch.drop();
  }
}
