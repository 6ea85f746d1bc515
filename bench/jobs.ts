/**
 * Job queue and notification fan-out benchmark (`deno task bench:jobs`), in process, with the job
 * runner as shipped (lib/jobs/runner.ts, default poll interval):
 *
 * 1. Queue throughput (bench/jobs_queue.ts): no-op jobs enqueued by `--callers` concurrent callers,
 *    then drained until the queue is empty at concurrency 4, 8 (the server's) and 16. PGlite in
 *    memory: one runner, `--pglite-jobs`; Postgres: two runners with a pool each, `--postgres-jobs`.
 *    Every statement the runners send is counted by kind: the round trips one job costs.
 * 2. notify fan-out (bench/jobs_fanout.ts): `notifyMany` to `--users` users whose only channel is
 *    email; (a) time to the in-app rows, (b) time to every email in plaza.outbox, the escalation
 *    delay skipped by moving the clock. One runner at `--fanout-concurrency`.
 *
 * Postgres runs only when DATABASE_URL is set, on scratch databases `plaza_bench_<random>` created
 * on that server and dropped at the end (the database in the URL is never written). A job that ran
 * twice or was lost, or a queue that did not drain, exits 1. Progress goes to stderr; the Markdown
 * report (bench/jobs_report.ts), for docs/benchmarks.md, to stdout.
 */
import postgres from "postgres";
import { createLogger } from "@/lib/log.ts";
import { ESCALATION_SECONDS, type FanoutResult, fanoutScenario } from "./jobs_fanout.ts";
import { type QueueResult, queueScenario } from "./jobs_queue.ts";
import { renderReport } from "./jobs_report.ts";
import { progress, roundTripMs } from "./jobs_util.ts";
import { pgliteScratch, postgresScratch, type ScratchServer } from "./scratch_db.ts";

const DEFAULTS = {
  pgliteJobs: 5_000,
  postgresJobs: 20_000,
  users: 10_000,
  callers: 16,
  fanoutConcurrency: 16,
  timeout: 120,
};
type Options = typeof DEFAULTS;
const BOUNDS: Record<keyof Options, [number, number]> = {
  pgliteJobs: [100, 100_000],
  postgresJobs: [100, 200_000],
  users: [100, 100_000],
  callers: [1, 256],
  fanoutConcurrency: [1, 64],
  timeout: [10, 600],
};
/** Runner concurrencies of the queue runs: 8 is what the server uses (main.ts). */
const CONCURRENCIES = [4, 8, 16];

const usage = `Usage: deno task bench:jobs [--pglite-jobs=5000] [--postgres-jobs=20000] [--users=10000]
                            [--callers=16] [--fanout-concurrency=16] [--timeout=120]
  --pglite-jobs         no-op jobs per queue run on PGlite (100-100000)
  --postgres-jobs       no-op jobs per queue run on Postgres (100-200000)
  --users               users notified in the fan-out (100-100000)
  --callers             concurrent enqueue callers (1-256)
  --fanout-concurrency  the fan-out runner's concurrency (1-64)
  --timeout             longest wait for a queue or fan-out phase, in seconds (10-600)
Postgres runs when DATABASE_URL is set (scratch databases on its server, dropped at the end).`;

function parseOptions(args: string[]): Options {
  const options = { ...DEFAULTS };
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    const m = /^--([a-z-]+)=(.+)$/.exec(arg);
    const key = m?.[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Options | undefined;
    if (!m || !key || !(key in DEFAULTS)) {
      console.error(`Unknown argument: ${arg}\n${usage}`);
      Deno.exit(64);
    }
    const value = Number(m[2]);
    const [min, max] = BOUNDS[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      console.error(`--${m[1]} must be an integer from ${min} to ${max}`);
      Deno.exit(64);
    }
    options[key] = value;
  }
  return options;
}

const options = parseOptions(Deno.args);
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const log = createLogger("error");

async function postgresVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`show server_version`;
    return `Postgres ${String(row.server_version).split(" ")[0]}`;
  } finally {
    await sql.end();
  }
}

const queue: QueueResult[] = [];
const fanout: FanoutResult[] = [];
const roundTrips: Record<string, number> = {};

/** Warm-up, the queue runs and the fan-out on one database. */
async function runDatabase(server: ScratchServer, database: string, jobs: number, runners: number) {
  const scratch = await server.fresh();
  try {
    roundTrips[database] = await roundTripMs(scratch.db);
  } finally {
    await scratch.drop();
  }
  // Not reported: lets V8 compile the hot paths and the database warm its caches.
  progress(`${database}: warm-up...`);
  const base = { runners, callers: options.callers, timeoutS: options.timeout };
  await queueScenario(server, database, { ...base, concurrency: 16, jobs: Math.min(1_000, jobs) }, log);
  for (const concurrency of CONCURRENCIES) {
    progress(`${database}: ${jobs} jobs, ${runners} runner(s) × concurrency ${concurrency}...`);
    const r = await queueScenario(server, database, { ...base, concurrency, jobs }, log);
    queue.push(r);
    progress(
      `  enqueue ${Math.round(jobs / r.enqueueS)}/s; ${r.done} done in ${r.seconds.toFixed(2)} s = ` +
        `${Math.round(r.done / r.seconds)}/s; twice ${r.twice}, lost ${r.lost}`,
    );
  }
  progress(`${database}: notify fan-out to ${options.users} users...`);
  const f = await fanoutScenario(server, database, {
    users: options.users,
    concurrency: options.fanoutConcurrency,
    timeoutS: options.timeout,
  }, log);
  fanout.push(f);
  progress(
    `  in-app ${f.inAppS.toFixed(2)} s; notifyMany ${f.notifyS.toFixed(2)} s; ${f.emails} emails at ` +
      `${f.emailS.toFixed(2)} s (${Math.round(f.emails / f.drainS)}/s after the clock move)`,
  );
}

const servers: ScratchServer[] = [];
const began = performance.now();
let failure: unknown;
let pgVersion: string | undefined;

const cleanUp = async () => {
  for (const s of servers.splice(0)) await s.close().catch(() => {});
};
// Bounds the whole run: whatever hangs, the scratch databases are dropped and the bench exits.
const watchdogMs = 600_000;
const watchdog = setTimeout(async () => {
  progress(`watchdog: still running after ${watchdogMs / 1000} s, stopping`);
  await cleanUp();
  Deno.exit(2);
}, watchdogMs);
const onSignal = async () => {
  progress("interrupted, dropping the scratch databases");
  await cleanUp();
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);

try {
  progress("PGlite in memory: migrating the template...");
  servers.push(await pgliteScratch());
  await runDatabase(servers[0], "PGlite (memory)", options.pgliteJobs, 1);
  await cleanUp();
  if (databaseUrl) {
    pgVersion = await postgresVersion(databaseUrl);
    progress(`${pgVersion} (DATABASE_URL): creating and migrating a scratch database...`);
    servers.push(await postgresScratch(databaseUrl));
    await runDatabase(servers[0], pgVersion, options.postgresJobs, 2);
    await cleanUp();
  } else {
    progress("DATABASE_URL is not set: Postgres skipped");
  }
} catch (err) {
  failure = err;
} finally {
  await cleanUp();
  clearTimeout(watchdog);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

console.log(
  await renderReport(queue, fanout, {
    users: options.users,
    callers: options.callers,
    fanoutConcurrency: options.fanoutConcurrency,
    escalationSeconds: ESCALATION_SECONDS,
    pgVersion,
    roundTrips,
    totalS: (performance.now() - began) / 1000,
  }),
);

const problems = [
  ...queue.filter((r) => r.twice || r.lost || r.done < r.jobs).map((r) =>
    `${r.database} ${r.runners} × ${r.concurrency}: ${r.done} of ${r.jobs} done, ${r.twice} ran twice, ` +
    `${r.lost} lost`
  ),
  ...fanout.filter((r) =>
    r.twice || r.inApp !== r.users || r.emails !== r.users || r.deliveries !== r.users ||
    r.rung0Jobs !== r.users || r.jobsTotal !== r.rung0Jobs + r.rung2Jobs
  ).map((r) =>
    `${r.database} fan-out: ${r.inApp} in-app rows, ${r.emails} emails, ${r.deliveries} email deliveries, ` +
    `${r.jobsTotal} jobs (ran ${r.rung0Jobs} rung 0 + ${r.rung2Jobs} email rung), ${r.twice} jobs ran twice`
  ),
];
if (failure) {
  progress(`failed: ${failure instanceof Error ? failure.stack ?? failure.message : failure}`);
  Deno.exit(1);
}
if (problems.length) {
  progress(`problems:\n  ${problems.join("\n  ")}`);
  Deno.exit(1);
}
