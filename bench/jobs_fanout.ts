/**
 * notify fan-out with the runner as shipped (bench/jobs.ts, part 2). `users` users whose only
 * channel for "system" is email (preferences: push and SMS off). The runner (default poll interval)
 * listens from the start, as in a running Plaza. `notifyMany` writes the in-app rows and queues one
 * `notify-deliver` job per user (rung 0), which the runner starts at once. Email waits for the
 * escalation delay, set to its minimum (10 s): rung 0 queues the email rung for later. As soon as
 * notifyMany returns, the jobs' run_at and the notifications' created_at are moved back 10 s (as
 * tests/support/notify.ts `advance` does): the queued email rungs are due at once, and the rung-0
 * jobs still queued send the email themselves. (A rung-0 job that was running during the move can
 * queue its email rung unmoved: that one is moved too once it has finished.) The emails land in
 * plaza.outbox (no SMTP_URL).
 */
import { loadConfig } from "@/lib/config.ts";
import { createRunner, type JobHandler, type Runner } from "@/lib/jobs/runner.ts";
import type { Logger } from "@/lib/log.ts";
import { DELIVER_JOB, notifyMany } from "@/lib/notify/notify.ts";
import { createPlatform, type Platform } from "@/lib/platform.ts";
import { workerHandlers } from "@/workers/mod.ts";
import { sleep } from "./proc.ts";
import type { ScratchServer } from "./scratch_db.ts";
import {
  CallCounter,
  countingDb,
  countOf,
  cpuMeter,
  type CpuUse,
  type KindStats,
  QueryStats,
  waitFor,
} from "./jobs_util.ts";

/** The escalation delay the fan-out configures (its minimum), in seconds. */
export const ESCALATION_SECONDS = 10;

/** One fan-out run. */
export interface FanoutSetting {
  /** Users notified. */
  users: number;
  /** The runner's concurrency. */
  concurrency: number;
  /** Longest wait for each phase, in seconds. */
  timeoutS: number;
}

/** What one fan-out run measured; times in seconds from the start of notifyMany unless said. */
export interface FanoutResult extends FanoutSetting {
  /** The database's label in the report. */
  database: string;
  /** The last in-app INSERT done (a). */
  inAppS: number;
  /** notifyMany returned (it queues a job per user after each batch of rows). */
  notifyS: number;
  /** In-app rows written. */
  inApp: number;
  /** Rung-0 jobs done when notifyMany returned (each queued its email rung for later). */
  rung0AtShift: number;
  /** Every email in plaza.outbox (b), the escalation delay skipped. */
  emailS: number;
  /** From the clock move (right after notifyMany) to every email in plaza.outbox. */
  drainS: number;
  /** Emails in plaza.outbox at the end. */
  emails: number;
  /** Handler runs of rung 0: one per user. */
  rung0Jobs: number;
  /** Handler runs of the email rung: one per rung-0 job that ran before the clock move. */
  rung2Jobs: number;
  /** Email deliveries logged as sent. */
  deliveries: number;
  /** Jobs in plaza.jobs at the end. */
  jobsTotal: number;
  /** Jobs whose handler ran twice. */
  twice: number;
  /** Statements during notifyMany, by kind. */
  notifyQueries: Record<string, KindStats>;
  /** Statements from the clock move to the last email, by kind. */
  emailQueries: Record<string, KindStats>;
  /** CPU use during notifyMany (Linux only). */
  notifyCpu?: CpuUse;
  /** CPU use from the clock move to the last email (Linux only). */
  emailCpu?: CpuUse;
}

/** Users with email as their only "system" channel; returns their ids. */
async function seedUsers(platformDb: Platform["db"], users: number): Promise<string[]> {
  // A trigger gives each user a profile.
  const ids = (await platformDb.query<{ id: string }>(
    `insert into auth.users (email, raw_user_meta_data)
     select 'bench-' || g || '@example.test', jsonb_build_object('name', 'Bench ' || g)
     from generate_series(1, $1::int) g
     returning id`,
    [users],
  )).map((r) => r.id);
  await platformDb.query(
    `insert into public.notification_preferences (user_id, category, push, email, sms)
     select id, 'system', false, true, false from auth.users`,
  );
  return ids;
}

/** Runs the fan-out on a fresh database of `server`. */
export async function fanoutScenario(
  server: ScratchServer,
  database: string,
  setting: FanoutSetting,
  log: Logger,
): Promise<FanoutResult> {
  const scratch = await server.fresh();
  const dataDir = await Deno.makeTempDir({ prefix: "plaza-jobs-bench-" });
  let platform: Platform | undefined;
  let runner: Runner | undefined;
  try {
    const { users, timeoutS } = setting;
    const userIds = await seedUsers(scratch.db, users);
    const stats = new QueryStats();
    const db = countingDb(scratch.db, stats);
    platform = await createPlatform(
      loadConfig({
        PLAZA_DATA_DIR: dataDir,
        LOG_LEVEL: "error",
        PLAZA_SECRET: "bench-secret-bench-secret-bench-secret-0123",
        PLAZA_ESCALATION_DELAY_SECONDS: String(ESCALATION_SECONDS),
      }),
      { db, log },
    );
    const counter = new CallCounter();
    const finished = [0, 0, 0]; // per rung
    const inFlight = new Set<number>();
    const handlers = workerHandlers(platform).map((h): JobHandler =>
      h.name !== DELIVER_JOB ? h : {
        ...h,
        run: async (payload, ctx) => {
          counter.record(ctx.jobId);
          inFlight.add(ctx.jobId);
          try {
            await h.run(payload, ctx);
          } finally {
            inFlight.delete(ctx.jobId);
          }
          finished[(payload as { from: number }).from]++;
        },
      }
    );
    runner = createRunner({ db, log, handlers, concurrency: setting.concurrency });
    await runner.start();
    stats.reset();

    const notifyCpu = cpuMeter();
    const t0 = performance.now();
    await notifyMany(platform, userIds, {
      category: "system",
      template: "system.announcement",
      data: { title: "Bench" },
      dedupKey: "bench",
    });
    const notifyS = (performance.now() - t0) / 1000;
    const inAppS = ((stats.lastDone.get("in-app insert") ?? t0) - t0) / 1000;
    const notifyUse = notifyCpu();
    const notifyQueries = stats.snapshot();
    const rung0AtShift = finished[0];
    const early = notifyQueries["outbox insert"]?.n ?? 0;

    // Email goes out only after the escalation delay: move the clock instead of waiting for it.
    const shift = async (onlyLater: boolean) => {
      await scratch.db.query(
        `update plaza.jobs set run_at = run_at - make_interval(secs => $1)
         where status = 'queued' ${onlyLater ? "and run_at > now()" : ""}`,
        [ESCALATION_SECONDS],
      );
      if (onlyLater) return;
      await scratch.db.query(
        "update public.notifications set created_at = created_at - make_interval(secs => $1)",
        [ESCALATION_SECONDS],
      );
    };
    const shiftAt = performance.now();
    await shift(false);
    stats.reset();
    const emailCpu = cpuMeter();
    // Rung-0 jobs that read their notification before the move queue the email rung unmoved.
    const running = [...inFlight];
    while (running.some((id) => inFlight.has(id))) await sleep(1);
    await shift(true);
    const emails = await waitFor(
      t0,
      timeoutS,
      users,
      () => early + (stats.snapshot()["outbox insert"]?.n ?? 0) >= users,
      () => countOf(scratch.db, "select count(*)::int as n from plaza.outbox where channel = 'email'"),
    );
    const drainS = (performance.now() - shiftAt) / 1000;
    const emailUse = emailCpu();
    const emailQueries = stats.snapshot();
    await runner.stop();
    runner = undefined;
    return {
      ...setting,
      database,
      inAppS,
      notifyS,
      inApp: await countOf(scratch.db, "select count(*)::int as n from public.notifications"),
      rung0AtShift,
      emailS: emails.seconds,
      drainS,
      emails: emails.reached,
      rung0Jobs: finished[0],
      rung2Jobs: finished[2],
      deliveries: await countOf(
        scratch.db,
        "select count(*)::int as n from plaza.deliveries where channel = 'email' and status = 'sent'",
      ),
      jobsTotal: await countOf(scratch.db, "select count(*)::int as n from plaza.jobs"),
      twice: counter.twice(),
      notifyQueries,
      emailQueries,
      notifyCpu: notifyUse,
      emailCpu: emailUse,
    };
  } finally {
    await runner?.stop().catch(() => {});
    await platform?.close().catch(() => {});
    await scratch.drop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}
