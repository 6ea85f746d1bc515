/**
 * Analytics benchmark (`deno task bench:analytics`), on PGlite, on Postgres, or both (`--db`).
 * Postgres is the server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test): only
 * scratch databases made by bench/scratch_db.ts are touched (created and dropped here); the
 * database named in the URL is used to issue CREATE and DROP. Everything runs on 127.0.0.1.
 *
 * 1. Rollup of one day (bench/analytics_rollup.ts): `--rows` activity rows inserted for one UTC day
 *    with one set-based statement; `analytics_rollup_day` and the 24 `analytics_rollup_hour` calls
 *    timed separately; the day rolled up again (about as long, identical tables).
 * 2. Dashboard (bench/analytics_http.ts): `--days` days of rollups, Plaza's app in its own process
 *    (bench/media_server.ts: the app without the job runner, so no scheduled rollup rewrites the
 *    seeded day), an admin signed in through the API; `--requests` sequential requests of
 *    `/admin/analytics` and `/api/v1/analytics/summary` per section over the whole range, and the
 *    30-day default page for comparison.
 * 3. CSV export: a saved report of `--csv-rows` rows streamed from `run.csv` (rows/s, MB/s, the
 *    server's RSS every 100 ms); then a slow reader for `--slow` seconds that cancels.
 *
 * Progress goes to stderr; the report (Markdown) to stdout.
 */
import { benchRun } from "./harness.ts";
import { envSchema } from "@/lib/config.ts";
import { migrate } from "@/lib/db/migrate.ts";
import { openPglite } from "@/lib/db/pglite.ts";
import type { Db } from "@/lib/db/port.ts";
import { type RollupResult, rollupScenario } from "./analytics_rollup.ts";
import {
  createAdmin,
  csvExport,
  type CsvMeasured,
  type PageMeasured,
  seedDailyMetrics,
  sequential,
  signIn,
} from "./analytics_http.ts";
import { renderReport } from "./analytics_report.ts";
import { parseBenchOptions } from "./options.ts";
import { freePort, spawnDeno, stop, stopAll, waitForOk } from "./proc.ts";
import { pgliteScratch, postgresScratch, type ScratchServer } from "./scratch_db.ts";

const DEFAULTS = {
  rows: 1_000_000,
  visitors: 50_000,
  days: 365,
  requests: 200,
  warmup: 10,
  csvrows: 1_000_000,
  slow: 5,
  watchdog: 1800,
};
export type Options = typeof DEFAULTS & { explain: boolean; db: Kind[] };
type Kind = "pglite" | "postgres";
const BOUNDS: Record<keyof typeof DEFAULTS, [number, number]> = {
  rows: [1000, 5_000_000],
  visitors: [100, 1_000_000],
  days: [30, 400],
  requests: [5, 5000],
  warmup: [0, 200],
  csvrows: [1000, 1_000_000],
  slow: [1, 60],
  watchdog: [60, 3600],
};
const usage = `Usage: deno run -A bench/analytics.ts [--db=pglite|postgres|both] [--rows=1000000]
          [--visitors=50000] [--days=365] [--requests=200] [--warmup=10] [--csv-rows=1000000]
          [--slow=5] [--watchdog=1800]
  --db        which databases (both); Postgres from DATABASE_URL or postgres://postgres@127.0.0.1:5432/test
  --rows      activity rows of the rolled-up day (1), 1000-5000000
  --visitors  distinct visitor hashes among the page views (1)
  --days      days of rollups behind the dashboard (2), 30-400
  --requests  sequential requests per dashboard URL (2), after --warmup unmeasured ones
  --csv-rows  rows of the exported report (3), 1000-1000000 (the CSV cap)
  --slow      seconds the slow reader reads before cancelling (3)
  --watchdog  seconds before the whole run is stopped`;
const SECTIONS = ["overview", "community", "events", "orders", "media"];

/** `--db=…` is not an integer option; `--csv-rows` is `--csvrows` to parseBenchOptions. */
function parseArgs(args: string[]): Options {
  let db: Kind[] = ["pglite", "postgres"];
  const rest: string[] = [];
  for (const arg of args) {
    const m = /^--db=(pglite|postgres|both)$/.exec(arg);
    if (m) db = m[1] === "both" ? ["pglite", "postgres"] : [m[1] as Kind];
    else if (arg.startsWith("--db")) {
      console.error(`--db must be pglite, postgres or both\n${usage}`);
      Deno.exit(64);
    } else rest.push(arg.replace(/^--([a-z]+)-([a-z]+)=/, "--$1$2="));
  }
  return { ...parseBenchOptions(rest, DEFAULTS, BOUNDS, usage), db };
}

type AuditRow = { rows: number | null; error: string | null; ms: number | null };

/** One database's results. */
export interface DbReport {
  kind: Kind;
  label: string;
  rollup: RollupResult;
  seeded: { rows: number; seconds: number; startupMs: number };
  pages: PageMeasured[];
  csv: CsvMeasured;
  slow: CsvMeasured;
  /** The audit rows of the two CSV runs (full, slow reader), oldest first. */
  audit: AuditRow[];
}

const options = parseArgs(Deno.args);
const postgresUrl = Deno.env.get("DATABASE_URL") || "postgres://postgres@127.0.0.1:5432/test";
if (options.db.includes("postgres") && !["127.0.0.1", "localhost"].includes(new URL(postgresUrl).hostname)) {
  console.error("This bench talks to 127.0.0.1 only: DATABASE_URL must point there.");
  Deno.exit(64);
}
const servers: ScratchServer[] = [];
const run = await benchRun("analytics", {
  watchdogSeconds: options.watchdog,
  cleanUp: async () => {
    await stopAll(3_000);
    for (const s of servers) await s.close().catch(() => {});
  },
});
const { tmp, began, progress } = run;
const root = new URL("../", import.meta.url).pathname;
const today = new Date().toISOString().slice(0, 10);
const dayOffset = (n: number) =>
  new Date(Date.parse(`${today}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const secret = `analytics-bench-${crypto.randomUUID()}`;
const REPORT_SQL = (n: number) =>
  `select g as n, md5(g::text) as h, (timestamp '2026-01-01' + g * interval '1 second') as at,
  case when g % 7 = 0 then '=cmd' else 'x,y' end as tricky from generate_series(1, ${n}) g`;

function plazaEnv(port: number, dataDir: string, databaseUrl: string): Record<string, string> {
  return {
    ...Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, ""])),
    PORT: String(port),
    PLAZA_DATA_DIR: dataDir,
    PLAZA_SECRET: secret,
    LOG_LEVEL: "warn",
    PLAZA_SEED: "never",
    DATABASE_URL: databaseUrl,
  };
}

/** Parts 2 and 3 on a database Plaza's server can open: seeded by `seed`, served, measured. */
async function serverParts(
  kind: Kind,
  dataDir: string,
  databaseUrl: string,
  withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>,
): Promise<Omit<DbReport, "kind" | "label" | "rollup">> {
  const email = `bench-admin-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  progress(`  seeding ${options.days} days of rollups and an admin...`);
  const t = performance.now();
  const rows = await withDb(async (db) => {
    const n = await seedDailyMetrics(db, today, options.days);
    await createAdmin(db, email, password);
    return n;
  });
  const seedSeconds = (performance.now() - t) / 1000;
  progress(
    `  ${rows.toLocaleString("en-US")} daily_metrics rows in ${seedSeconds.toFixed(1)} s; starting Plaza...`,
  );
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const server = spawnDeno(
    `plaza-${kind}`,
    ["run", "-A", "bench/media_server.ts"],
    plazaEnv(port, dataDir, databaseUrl),
    root,
  );
  try {
    const startupMs = (await waitForOk(server, `${base}/health`, 120_000)) - t0;
    const { cookie, token } = await signIn(base, email, password);
    const bearer = { authorization: `Bearer ${token}` };
    const range = `from=${dayOffset(-(options.days - 1))}&to=${today}`;
    const pageCheck = (body: string) =>
      body.includes("<html") ? undefined : `not a page: ${body.slice(0, 120)}`;
    const jsonCheck = (body: string) => {
      const j = JSON.parse(body);
      return j.range?.days === options.days && j.charts?.[0]?.days?.length === options.days
        ? undefined
        : `unexpected summary: ${body.slice(0, 160)}`;
    };
    const pages: PageMeasured[] = [];
    const measure = async (
      label: string,
      url: string,
      headers: Record<string, string>,
      check = pageCheck,
    ) => {
      const r = await sequential(label, url, headers, options.requests, options.warmup, check);
      pages.push(r);
      progress(
        `  ${label}: p50 ${r.p50.toFixed(1)} / p99 ${r.p99.toFixed(1)} ms, ${r.perSecond.toFixed(1)} req/s, ${
          (r.meanBytes / 1024).toFixed(0)
        } KB${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ""}`,
      );
    };
    await measure("page, default (30 days, overview)", `${base}/admin/analytics`, { cookie });
    for (const s of SECTIONS) {
      await measure(`page ${s}, ${options.days} days`, `${base}/admin/analytics?section=${s}&${range}`, {
        cookie,
      });
    }
    for (const s of SECTIONS) {
      await measure(
        `JSON ${s}, ${options.days} days`,
        `${base}/api/v1/analytics/summary?section=${s}&${range}`,
        bearer,
        jsonCheck,
      );
    }

    progress(`  saving a report of ${options.csvrows.toLocaleString("en-US")} rows and exporting it...`);
    const created = await fetch(`${base}/api/v1/reports`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ name: `CSV bench ${options.csvrows}`, sql: REPORT_SQL(options.csvrows) }),
    });
    const createdBody = await created.text();
    if (created.status !== 201) throw new Error(`report not saved: HTTP ${created.status} ${createdBody}`);
    const csvUrl = `${base}/api/v1/reports/${JSON.parse(createdBody).id}/run.csv`;
    const probeUrl = `${base}/api/v1/analytics/summary?range=30`;
    const csv = await csvExport(csvUrl, bearer, server.pid, probeUrl);
    progress(
      `  CSV: ${csv.lines} lines, ${(csv.bytes / 1e6).toFixed(1)} MB in ${csv.seconds.toFixed(1)} s; RSS ${
        csv.rssBeforeMb.toFixed(0)
      } -> peak ${csv.rssPeakMb.toFixed(0)} MB; summary during it ${csv.probeMs.toFixed(0)} ms${
        csv.error ? `; error: ${csv.error}` : ""
      }`,
    );
    progress(`  slow reader for ${options.slow} s...`);
    const slow = await csvExport(csvUrl, bearer, server.pid, probeUrl, {
      pauseMs: 50,
      seconds: options.slow,
    });
    progress(
      `  slow: ${slow.lines} lines read in ${slow.seconds.toFixed(1)} s; RSS ${
        slow.rssBeforeMb.toFixed(0)
      } -> peak ${slow.rssPeakMb.toFixed(0)} MB; summary during it ${
        slow.probeMs.toFixed(0)
      } ms (HTTP ${slow.probeStatus})`,
    );
    await stop(server, 15_000);
    const audit = await withDb((db) =>
      db.query<AuditRow>(
        `select row_count as rows, error_code as error, duration_ms as ms from public.sql_report_runs
         where format = 'csv' order by id`,
      )
    );
    return { seeded: { rows, seconds: seedSeconds, startupMs }, pages, csv, slow, audit };
  } finally {
    await stop(server, 15_000);
  }
}

async function measureDb(kind: Kind): Promise<DbReport> {
  progress(`${kind}: part 1, rollup of one day with ${options.rows.toLocaleString("en-US")} rows...`);
  const scratch = kind === "pglite" ? await pgliteScratch() : await postgresScratch(postgresUrl);
  servers.push(scratch);
  const first = await scratch.fresh();
  let label = "";
  let rollup: RollupResult;
  try {
    const [v] = await first.db.query<{ v: string }>("select split_part(version(), ' ', 2) as v");
    label = kind === "pglite" ? `PGlite (Postgres ${v.v})` : `Postgres ${v.v}`;
    rollup = await rollupScenario(first.db, dayOffset(-1), options.rows, options.visitors, progress);
  } finally {
    await first.drop();
  }
  progress(`${kind}: parts 2 and 3, dashboard and CSV export...`);
  let rest;
  if (kind === "pglite") {
    const dataDir = `${tmp}/pglite`;
    const migrated = await openPglite(`${dataDir}/db`);
    try {
      await migrate(migrated);
    } finally {
      await migrated.close();
    }
    rest = await serverParts(kind, dataDir, "", async (fn) => {
      const db = await openPglite(`${dataDir}/db`);
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    });
  } else {
    const second = await scratch.fresh();
    try {
      const [{ name }] = await second.db.query<{ name: string }>("select current_database() as name");
      const url = Object.assign(new URL(postgresUrl), { pathname: `/${name}` }).toString();
      rest = await serverParts(kind, `${tmp}/pg`, url, (fn) => fn(second.db));
      label += ` (scratch databases ${name.replace(/_\d+$/, "_*")})`;
    } finally {
      await second.drop();
    }
  }
  await scratch.close();
  servers.splice(servers.indexOf(scratch), 1);
  return { kind, label, rollup, ...rest };
}

const reports: DbReport[] = [];
let failure: unknown;
try {
  for (const kind of options.db) reports.push(await measureDb(kind));
} catch (err) {
  failure = err;
} finally {
  await run.close();
}
if (failure) {
  progress(`failed: ${failure instanceof Error ? failure.stack ?? failure.message : failure}`);
  Deno.exit(1);
}
console.log(renderReport(options, reports, (performance.now() - began) / 1000));
const bad = reports.some((r) =>
  !r.rollup.identical || r.pages.some((p) => p.errors) || r.csv.lines !== options.csvrows + 1 ||
  r.csv.error ||
  !r.csv.contentOk
);
if (bad) Deno.exit(1);
