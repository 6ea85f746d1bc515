/**
 * Events benchmark (`deno run -A bench/events.ts`), on embedded PGlite, or on Postgres when
 * DATABASE_URL is set (a scratch database `plaza_bench_chat_<random>` on that server, dropped at the
 * end; the database named in the URL is only used to create and drop it). Plaza is served in process
 * with Deno.serve on 127.0.0.1 (a free port) and called with real fetch.
 *
 * 1. RSVPs (bench/events_rsvp.ts): `--clients` people (200) RSVP `going` at once to one event with
 *    `--capacity` seats (100); then half leave while the other half answer again; then the leavers
 *    come back. Throughput and latency per wave, then a correctness check: exactly `capacity` seats
 *    going, waitlist positions 1..N without gaps, counters equal to a recount ("correct: yes/no").
 * 2. The event list (bench/events_list.ts): `--events` (10,000) events bulk-loaded with SQL, then
 *    `--list` (300) requests of `GET /api/v1/events` for a 7-day window near the city
 *    (radius_km=10), signed out and signed in. Target p99 <= 20 ms.
 *
 * `--explain` adds EXPLAIN ANALYZE of the list query. Progress goes to stderr; the report to stdout.
 */
import { benchRun } from "./harness.ts";
import { loadConfig } from "@/lib/config.ts";
import { createLogger } from "@/lib/log.ts";
import { createPlatform, type Platform } from "@/lib/platform.ts";
import { type BenchDatabase, createBenchDatabase, createUsers } from "./chat_data.ts";
import { int, ms, verdict } from "./chat_stats.ts";
import { explainList, type ListMeasured, listScenario, seedEvents } from "./events_list.ts";
import { type RsvpResult, rsvpScenario } from "./events_rsvp.ts";
import { parseBenchOptions } from "./options.ts";

const DEFAULTS = { clients: 200, capacity: 100, events: 10_000, list: 300, warmup: 30 };
type Options = typeof DEFAULTS & { explain: boolean };
const BOUNDS: Record<keyof typeof DEFAULTS, [number, number]> = {
  clients: [2, 1000],
  capacity: [1, 1000],
  events: [100, 200_000],
  list: [10, 5000],
  warmup: [0, 500],
};
const usage = `Usage: deno run -A bench/events.ts [--clients=200] [--capacity=100] [--events=10000]
                                    [--list=300] [--warmup=30] [--explain]
  --clients   people RSVPing at once (1), 2-1000
  --capacity  seats of the event (1), 1-1000
  --events    events bulk-loaded for the list (2), 100-200000
  --list      list requests per kind (2), 10-5000
  --warmup    unmeasured list requests first, 0-500
  --explain   EXPLAIN ANALYZE of the list query, after the figures
Postgres when DATABASE_URL is set (a scratch database on its server, dropped at the end).`;
const LIST_BUDGET_MS = 20;

interface Report {
  database: string;
  rsvp: RsvpResult;
  seeded: { events: number; seconds: number };
  list: ListMeasured[];
  explain?: { who: string; plan: string }[];
  totalSeconds: number;
}

function render(o: Options, r: Report): string {
  const lines = [
    `# Events benchmark`,
    ``,
    `Database: ${r.database}. Plaza in process, Deno.serve on 127.0.0.1, real fetch.`,
    ``,
    `## 1. RSVPs: ${r.rsvp.clients} people at once, capacity ${r.rsvp.capacity}`,
    ``,
    `| wave | requests | wall s | req/s | p50 ms | p99 ms | max ms | failed |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|`,
    ...r.rsvp.waves.map((w) =>
      `| ${w.label} | ${w.requests} | ${w.seconds.toFixed(2)} | ${w.perSecond.toFixed(0)} | ${
        ms(w.latency.p50)
      } | ${ms(w.latency.p99)} | ${ms(w.latency.max)} | ${w.failed} |`
    ),
    `| all | ${r.rsvp.all.n} | | | ${ms(r.rsvp.all.p50)} | ${ms(r.rsvp.all.p99)} | ${ms(r.rsvp.all.max)} | |`,
    ``,
    `After the run: ${r.rsvp.going} going (${r.rsvp.goingSeats} seats), ${r.rsvp.waitlisted} waitlisted.`,
    `correct: ${r.rsvp.correct ? "yes" : "no"}${
      r.rsvp.problems.length ? ` (${r.rsvp.problems.join("; ")})` : ""
    }`,
    ``,
    `## 2. Event list: ${int(r.seeded.events)} events (loaded in ${
      r.seeded.seconds.toFixed(1)
    } s), 7-day window, ` +
    `near + radius_km=10, ${o.list} requests each`,
    ``,
    `| who | p50 ms | p95 ms | p99 ms | max ms | events/response | errors | p99 <= ${LIST_BUDGET_MS} ms |`,
    `|---|---:|---:|---:|---:|---:|---:|---|`,
    ...r.list.map((l) =>
      `| ${l.label} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ${
        l.rows.toFixed(1)
      } | ${l.errors} | ${verdict(l.p99, LIST_BUDGET_MS)} |`
    ),
    ``,
    `List budget (p99 <= ${LIST_BUDGET_MS} ms): ${
      r.list.every((l) => l.p99 <= LIST_BUDGET_MS) ? "met" : "not met"
    }`,
  ];
  for (const e of r.explain ?? []) {
    lines.push(``, `### EXPLAIN ANALYZE of the list query as ${e.who}`, ``, "```", e.plan, "```");
  }
  lines.push(``, `Total ${r.totalSeconds.toFixed(1)} s.`);
  return lines.join("\n");
}

const options: Options = parseBenchOptions(Deno.args, DEFAULTS, BOUNDS, usage);
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const secret = `events-bench-${crypto.randomUUID()}`;
let bdb: BenchDatabase | undefined;
let platform: Platform | undefined;
let server: Deno.HttpServer<Deno.NetAddr> | undefined;
const run = await benchRun("events", {
  watchdogSeconds: 300,
  cleanUp: async () => {
    await server?.shutdown().catch(() => {});
    await platform?.close().catch(() => {});
    await bdb?.drop();
  },
});
const { tmp, began, progress } = run;

let report: Report | undefined;
let failure: unknown;
try {
  progress(`creating and migrating the database (${databaseUrl ? "Postgres, DATABASE_URL" : "PGlite"})...`);
  bdb = await createBenchDatabase(`${tmp}/data`, databaseUrl);
  platform = await createPlatform(
    loadConfig({
      PLAZA_DATA_DIR: bdb.dataDir,
      PLAZA_SECRET: secret,
      DATABASE_URL: bdb.databaseUrl,
      LOG_LEVEL: "error",
      PLAZA_SEED: "never",
    }),
    { log: createLogger("error") },
  );
  const { createApp } = await import("@/routes/app.ts");
  const app = await createApp(platform);
  server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req, info) => app.fetch(req, info));
  const base = `http://127.0.0.1:${server.addr.port}`;
  const db = platform.db;
  const [organizer] = await createUsers(db, secret, "organizer", 1);
  const users = await createUsers(db, secret, "fan", options.clients);

  progress(`RSVPs: ${options.clients} people, capacity ${options.capacity}...`);
  const rsvp = await rsvpScenario(base, db, organizer, users, options.capacity, progress);
  progress(
    `  correct: ${rsvp.correct ? "yes" : "no"}; all p50 ${ms(rsvp.all.p50)} ms, p99 ${ms(rsvp.all.p99)} ms`,
  );

  progress(`loading ${options.events} events...`);
  const seconds = await seedEvents(db, organizer.id, options.events);
  progress(`  loaded in ${seconds.toFixed(1)} s; list requests...`);
  const list = [
    await listScenario(base, "signed out", null, options.list, options.warmup, 1),
    await listScenario(base, "signed in (member)", users[0].token, options.list, options.warmup, 2),
  ];
  for (const l of list) {
    progress(`  ${l.label}: p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, ${l.rows.toFixed(1)} events`);
  }
  const explain = options.explain || list.some((l) => l.p99 > LIST_BUDGET_MS)
    ? await explainList(db, users[0].id)
    : undefined;
  report = {
    database: bdb.label,
    rsvp,
    seeded: { events: options.events, seconds },
    list,
    explain,
    totalSeconds: 0,
  };
} catch (err) {
  failure = err;
} finally {
  await run.close();
}

if (failure || !report) {
  progress(`failed: ${failure instanceof Error ? failure.stack ?? failure.message : failure}`);
  Deno.exit(1);
}
report.totalSeconds = (performance.now() - began) / 1000;
console.log(render(options, report));
if (!report.rsvp.correct || report.list.some((l) => l.errors)) Deno.exit(1);
