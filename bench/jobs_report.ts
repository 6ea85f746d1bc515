/**
 * The Markdown report of bench/jobs.ts: the machine, queue throughput with the figures from before
 * the runner fix, the round trips one job costs, and the notify fan-out.
 */
import type { FanoutResult } from "./jobs_fanout.ts";
import type { QueueResult } from "./jobs_queue.ts";
import type { CpuUse, KindStats } from "./jobs_util.ts";

/**
 * Jobs/s measured before commit 520a3a3 (runner woken only by its 500 ms poll or a NOTIFY), by
 * database kind, runners and concurrency: docs/benchmarks.md, same machine.
 */
const BEFORE_QUEUE: Record<string, number> = {
  "pglite 1×4": 8,
  "pglite 1×16": 32,
  "postgres 2×4": 58,
  "postgres 2×16": 273,
};
/** Emails/s of the fan-out before the fix, on both databases. */
const BEFORE_EMAILS_PER_S = 29;
/** notifyMany start to the 10,000th email before the fix, delay skipped: about 5.9 minutes. */
const BEFORE_FANOUT_S = 354;

/** Everything the report needs besides the results. */
export interface ReportContext {
  /** Users notified in the fan-out. */
  users: number;
  /** Concurrent enqueue callers. */
  callers: number;
  /** The fan-out runner's concurrency. */
  fanoutConcurrency: number;
  /** The escalation delay the fan-out configured and skipped. */
  escalationSeconds: number;
  /** "Postgres 15.20", or undefined when DATABASE_URL was not set. */
  pgVersion?: string;
  /** Mean `select 1` round trip by database label. */
  roundTrips: Record<string, number>;
  /** Seconds the whole bench took. */
  totalS: number;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const rate = (count: number, seconds: number) => seconds > 0 ? int(count / seconds) : "—";
const kindOf = (database: string) => database.startsWith("PGlite") ? "pglite" : "postgres";
const statements = (q: Record<string, KindStats>) =>
  Object.entries(q).filter(([k]) => k !== "transaction").reduce((a, [, v]) => a + v.n, 0);
const perJob = (q: Record<string, KindStats>, kind: string, jobs: number) =>
  (q[kind]?.n ?? 0) / Math.max(jobs, 1);
const meanMs = (q: Record<string, KindStats>, kind: string) =>
  q[kind]?.n ? (q[kind].ms / q[kind].n).toFixed(2) : "—";
const cpuCell = (c?: CpuUse) =>
  c ? `${c.process.toFixed(2)} / ${c.postgres.toFixed(2)} / ${c.other.toFixed(2)}` : "—";

/** "kind n (mean ms), …" per job, most frequent first. */
function breakdown(q: Record<string, KindStats>, jobs: number): string {
  return Object.entries(q)
    .filter(([k]) => k !== "transaction")
    .sort((a, b) => b[1].n - a[1].n)
    .map(([k, v]) => `${k} ${(v.n / jobs).toFixed(2)} (${(v.ms / v.n).toFixed(2)} ms)`)
    .join(", ");
}

async function machine(pgVersion?: string): Promise<string> {
  const read = (path: string) => Deno.readTextFile(path).catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(await read("/proc/cpuinfo"))?.[1].trim() ?? "unknown CPU";
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(await read("/proc/meminfo"))?.[1] ?? 0);
  return `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch}), ${navigator.hardwareConcurrency} ` +
    `logical CPUs (${model}), ${(memKb / 1024 / 1024).toFixed(1)} GiB; Deno ${Deno.version.deno}; ` +
    (pgVersion ? `${pgVersion} on the same machine` : "Postgres skipped (DATABASE_URL not set)");
}

function queueRow(r: QueueResult): string {
  const before = BEFORE_QUEUE[`${kindOf(r.database)} ${r.runners}×${r.concurrency}`];
  const jobsPerS = r.done / r.seconds;
  const done = r.done === r.jobs ? int(r.done) : `${int(r.done)} of ${int(r.jobs)}`;
  return `| ${r.database} | ${r.runners} × ${r.concurrency} | ${int(r.jobs)} | ${
    rate(r.jobs, r.enqueueS)
  } | ` +
    `${done} | ${r.seconds.toFixed(2)} | ${int(jobsPerS)} | ${before ?? "—"} | ` +
    `${before ? `${(jobsPerS / before).toFixed(0)} ×` : "—"} | ${r.twice} | ${r.lost} |`;
}

function tripsRow(r: QueueResult): string {
  const q = r.queries;
  const claims = perJob(q, "claim (queued)", r.done);
  return `| ${r.database} | ${r.runners} × ${r.concurrency} | ${claims.toFixed(2)} (${
    (1 / claims).toFixed(1)
  }) | ` +
    `${perJob(q, "claim (expired locks)", r.done).toFixed(3)} | ${
      perJob(q, "complete", r.done).toFixed(2)
    } | ` +
    `${q.transaction?.n ?? 0} | ${(statements(q) / r.done).toFixed(2)} | ${meanMs(q, "claim (queued)")} | ` +
    `${meanMs(q, "complete")} | ${cpuCell(r.cpu)} |`;
}

function fanoutRow(r: FanoutResult): string {
  const perS = r.emails / r.drainS;
  const emails = r.emails === r.users ? `${r.emailS.toFixed(2)} s` : `${int(r.emails)} of ${int(r.users)}`;
  return `| ${r.database} | ${r.inAppS.toFixed(2)} s | ${r.notifyS.toFixed(2)} s | ${
    int(r.rung0AtShift)
  } | ` +
    `${emails} | ${r.drainS.toFixed(2)} s | ${int(perS)} | ${(perS / BEFORE_EMAILS_PER_S).toFixed(0)} × | ` +
    `${(BEFORE_FANOUT_S / r.emailS).toFixed(0)} × | ${int(r.rung0Jobs)} + ${int(r.rung2Jobs)} | ` +
    `${cpuCell(r.notifyCpu)} | ${cpuCell(r.emailCpu)} |`;
}

/** The report, for docs/benchmarks.md. */
export async function renderReport(
  queue: QueueResult[],
  fanout: FanoutResult[],
  ctx: ReportContext,
): Promise<string> {
  const lines = [
    `## Job queue and notify fan-out, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- Machine: ${await machine(ctx.pgVersion)}`,
    `- Runner as shipped (default poll interval, woken by NOTIFY and by each finished job). Queue: no-op ` +
    `jobs enqueued with \`embeddedJobs(db).enqueue\`, ${ctx.callers} callers, no runner listening; then ` +
    "drained until no job is left (PGlite: 1 runner; Postgres: 2 runners, a pool of 10 connections each)",
    `- Fan-out: \`notifyMany\` to ${int(ctx.users)} users (email their only "system" channel), one runner ` +
    `listening throughout, concurrency ${ctx.fanoutConcurrency}; escalation delay ${ctx.escalationSeconds} s, ` +
    "skipped by moving run_at/created_at back as soon as notifyMany returns; times from the start of notifyMany",
    `- Round trip (\`select 1\`, sequential): ${
      Object.entries(ctx.roundTrips).map(([db, ms]) => `${db} ${ms.toFixed(3)} ms`).join("; ")
    }`,
    ...(ctx.pgVersion ? [] : ["- **Postgres skipped**: set DATABASE_URL to run it (on scratch databases)"]),
    "",
    "### Queue throughput",
    "",
    "| Database | Runners × concurrency | Jobs | Enqueue (jobs/s) | Claimed + completed | Seconds | Jobs/s | Before fix (jobs/s) | After / before | Ran twice | Lost |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...queue.map(queueRow),
    "",
    "### Round trips per job while draining",
    "",
    "| Database | Runners × concurrency | Claims per job (jobs per claim) | Expired-lock claims per job | Completes per job | Schedule transactions | Statements per job | Claim mean (ms) | Complete mean (ms) | CPU cores: bench / Postgres / other programs |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...queue.map(tripsRow),
    "",
    "Enqueue statements per job: " +
    (queue[0] ? breakdown(queue[0].enqueueQueries, queue[0].jobs) : "—") +
    ". Means are as the caller sees them (waiting for a connection, or for PGlite, included). CPU " +
    "cores: this process (PGlite runs in it), the Postgres server processes, anything else on the machine.",
    "",
    `### notify fan-out to ${int(ctx.users)} users`,
    "",
    "| Database | (a) All in-app rows | notifyMany returns | Rung-0 jobs done by then | (b) All emails in plaza.outbox | Clock move to last email | Emails/s | Emails/s after / before | (b) before / after | Jobs: rung 0 + email rung | CPU cores during notifyMany | CPU cores after the move |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...fanout.map(fanoutRow),
    "",
    ...fanout.flatMap((r) => [
      `- ${r.database}, statements per user during notifyMany: ${breakdown(r.notifyQueries, r.users)}`,
      `- ${r.database}, statements per email after the clock move: ${
        breakdown(r.emailQueries, r.emails || 1)
      }`,
    ]),
    "",
    `Total bench time: ${ctx.totalS.toFixed(1)} s.`,
  ];
  return lines.join("\n");
}
