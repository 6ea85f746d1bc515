/**
 * Plaza's benchmark, in one run (`deno task bench`):
 *
 * 1. a bare `Deno.serve` hello world in its own process: the ceiling for this machine and client;
 * 2. `GET /health` of a real Plaza server (a database round trip and a KV ping);
 * 3. the server-rendered home page `GET /` for a signed-in member (session cookies, an RLS query
 *    as the user for the newest members, Preact SSR);
 * 4. cold start (fresh data dir: migrations, island bundles) and warm restart, spawn to first
 *    `/health` 200;
 * 5. the server's idle memory (VmRSS).
 *
 * Requests/s and p50/p99 latency come from a closed-loop `fetch` client in this process (see
 * bench/load.ts). Everything runs on 127.0.0.1 and is bounded in time and request count; every
 * subprocess is stopped at the end, also on error. The report is Markdown, for docs/benchmarks.md.
 *
 * Options: --duration=5 --warmup=1 --concurrency=32 --members=30 --idle=2 --max-requests=2000000
 * Set DATABASE_URL to run Plaza against Postgres instead of the embedded PGlite.
 */
import postgres from "postgres";
import { envSchema } from "@/lib/config.ts";
import { type LoadResult, runLoad } from "./load.ts";
import {
  freePort,
  type Memory,
  memory,
  type Proc,
  sleep,
  spawnDeno,
  stop,
  stopAll,
  waitForOk,
} from "./proc.ts";

interface Options {
  duration: number;
  warmup: number;
  concurrency: number;
  members: number;
  idle: number;
  maxRequests: number;
}

const usage = `Usage: deno task bench [--duration=5] [--warmup=1] [--concurrency=32] [--members=30] [--idle=2]
                       [--max-requests=2000000]
  --duration       measured seconds per scenario (1-60)
  --warmup         warm-up seconds before each scenario, not counted (0-10)
  --concurrency    concurrent fetch workers (1-256)
  --members        members signed up besides the benchmark user (0-200)
  --idle           seconds of idle before reading the server's memory (0-30)
  --max-requests   upper bound on requests per phase (1000-10000000)`;

function parseOptions(args: string[]): Options {
  const defaults: Options = {
    duration: 5,
    warmup: 1,
    concurrency: 32,
    members: 30,
    idle: 2,
    maxRequests: 2_000_000,
  };
  const bounds: Record<keyof Options, [number, number]> = {
    duration: [1, 60],
    warmup: [0, 10],
    concurrency: [1, 256],
    members: [0, 200],
    idle: [0, 30],
    maxRequests: [1000, 10_000_000],
  };
  const options = { ...defaults };
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    const m = /^--([a-z-]+)=(.+)$/.exec(arg);
    const key = m?.[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Options | undefined;
    if (!m || !key || !(key in defaults)) {
      console.error(`Unknown argument: ${arg}\n${usage}`);
      Deno.exit(64);
    }
    const value = Number(m[2]);
    const [min, max] = bounds[key];
    if (!Number.isFinite(value) || value < min || value > max) {
      console.error(`--${m[1]} must be a number from ${min} to ${max}`);
      Deno.exit(64);
    }
    options[key] = key === "duration" || key === "warmup" || key === "idle" ? value : Math.round(value);
  }
  return options;
}

const options = parseOptions(Deno.args);
const root = new URL("../", import.meta.url).pathname;
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
/** With DATABASE_URL, Plaza runs on a scratch database created here and dropped at the end. */
const benchDatabase = databaseUrl
  ? `plaza_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  : undefined;
const serverDatabaseUrl = databaseUrl && benchDatabase
  ? Object.assign(new URL(databaseUrl), { pathname: `/${benchDatabase}` }).toString()
  : undefined;

async function adminSql(statement: string): Promise<void> {
  const sql = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end();
  }
}

/** Progress goes to stderr; the report to stdout. */
function progress(message: string) {
  console.error(`[bench] ${message}`);
}

/**
 * Plaza's environment: every variable it reads is blanked (blank means unset to its config), so
 * nothing from the caller's shell (REDIS_URL, PUBLIC_URL, PLAZA_SECRET...) changes what is measured;
 * then the benchmark's own settings. X-Forwarded-For is trusted only so the member sign-ups can
 * come from distinct client IPs: the signup limit is 10 per IP and hour.
 */
function plazaEnv(port: number, dataDir: string): Record<string, string> {
  const env: Record<string, string> = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, ""]));
  return {
    ...env,
    PORT: String(port),
    PLAZA_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    PLAZA_SEED: "never",
    PLAZA_TRUST_PROXY: "true",
    ...(serverDatabaseUrl ? { DATABASE_URL: serverDatabaseUrl } : {}),
  };
}

/** A started Plaza server and how long it took from spawn to the first `/health` 200. */
interface Started {
  proc: Proc;
  base: string;
  startupMs: number;
}

async function startPlaza(name: string, dataDir: string): Promise<Started> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = spawnDeno(name, ["run", "-A", "main.ts"], plazaEnv(port, dataDir), root);
  const t1 = await waitForOk(proc, `${base}/health`, 120_000);
  return { proc, base, startupMs: t1 - t0 };
}

async function stopPlaza(started: Started): Promise<void> {
  const status = await stop(started.proc, 15_000);
  if (!status.success) {
    progress(`warning: ${started.proc.name} exited with code ${status.code} (signal ${status.signal})`);
  }
}

/** Signs up one member; `ip` is sent as X-Forwarded-For. Returns the Cookie header of its session. */
async function signup(base: string, email: string, name: string, ip: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify({ email, password: `pw-${crypto.randomUUID()}`, name }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`signup of ${email} failed: HTTP ${res.status} ${body}`);
  const jar = new Map<string, string>();
  for (const sc of res.headers.getSetCookie()) {
    const [pair] = sc.split(";");
    const [k, v] = pair.split(/=(.*)/s);
    if (k === "plaza_at" || k === "plaza_rt") jar.set(k, v);
  }
  if (!jar.has("plaza_at") || !jar.has("plaza_rt")) {
    throw new Error(`signup of ${email} set no session cookies: ${res.headers.getSetCookie().join(" | ")}`);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

/** Signs up `count` members, two at a time (password hashing is deliberately slow). */
async function signupMembers(base: string, count: number, run: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await signup(
        base,
        `bench-${run}-${i}@example.test`,
        `Bench Member ${i + 1}`,
        `10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}`,
      );
    }
  };
  await Promise.all([worker(), worker()]);
}

function load(url: string, headers: Record<string, string> = {}): Promise<LoadResult> {
  return runLoad({
    url,
    headers,
    concurrency: options.concurrency,
    durationMs: options.duration * 1000,
    warmupMs: options.warmup * 1000,
    maxRequests: options.maxRequests,
  });
}

function describeLoad(label: string, r: LoadResult) {
  const errors = r.errors ? `, ${r.errors} errors (${r.firstError})` : "";
  progress(
    `${label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${errors}`,
  );
}

// ---------------------------------------------------------------------------------------------------

interface Results {
  bare?: LoadResult;
  health?: LoadResult;
  home?: LoadResult;
  homeEncoding?: string;
  coldMs?: number;
  warmMs?: number;
  coldIdle?: Memory;
  warmIdle?: Memory;
  afterLoad?: Memory;
}

const results: Results = {};
const tmp = await Deno.makeTempDir({ prefix: "plaza-bench-" });
const started = performance.now();
let failure: unknown;

// Bounds the whole run: whatever hangs, the subprocesses are stopped and the bench exits.
const watchdogMs = 60_000 + 3 * (options.duration + options.warmup) * 1000 * 2 + options.members * 5_000 +
  2 * options.idle * 1000 + 240_000;
const watchdog = setTimeout(async () => {
  console.error(`[bench] watchdog: still running after ${watchdogMs / 1000} s, stopping`);
  await stopAll(2_000);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  Deno.exit(2);
}, watchdogMs);
const onSignal = async () => {
  console.error("[bench] interrupted, stopping subprocesses");
  await stopAll(2_000);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);

try {
  if (benchDatabase) await adminSql(`create database ${benchDatabase}`);
  progress(
    `${options.concurrency} workers, ${options.warmup} s warm-up + ${options.duration} s per scenario; ` +
      `database: ${databaseUrl ? "Postgres (DATABASE_URL)" : "embedded PGlite"}`,
  );

  // 1. The ceiling: a bare Deno.serve in its own process.
  {
    const port = freePort();
    const proc = spawnDeno(
      "bare server",
      ["run", "--allow-net", "bench/bare_server.ts", String(port)],
      {},
      root,
    );
    try {
      await waitForOk(proc, `http://127.0.0.1:${port}/`, 30_000);
      results.bare = await load(`http://127.0.0.1:${port}/`);
      describeLoad("bare Deno.serve", results.bare);
    } finally {
      await stop(proc);
    }
  }

  // 4. Cold start on a fresh data dir, then its idle memory.
  const dataDir = `${tmp}/data`;
  {
    progress("cold start (fresh data dir)...");
    const cold = await startPlaza("plaza (cold)", dataDir);
    results.coldMs = cold.startupMs;
    try {
      await sleep(options.idle * 1000);
      results.coldIdle = await memory(cold.proc.pid);
    } finally {
      await stopPlaza(cold);
    }
    progress(`cold start: ${results.coldMs.toFixed(0)} ms`);
  }

  // Warm restart on the same data dir; this server serves the load scenarios.
  progress("warm restart (same data dir)...");
  const plaza = await startPlaza("plaza", dataDir);
  results.warmMs = plaza.startupMs;
  progress(`warm restart: ${results.warmMs.toFixed(0)} ms`);
  try {
    await sleep(options.idle * 1000);
    results.warmIdle = await memory(plaza.proc.pid);

    // The benchmark member and the others for the "newest members" list.
    const run = crypto.randomUUID().slice(0, 8);
    progress(`signing up 1 + ${options.members} members...`);
    const cookies = await signup(plaza.base, `bench-${run}-me@example.test`, "Bench User", "10.255.255.1");
    await signupMembers(plaza.base, options.members, run);

    // 2. /health.
    results.health = await load(`${plaza.base}/health`);
    describeLoad("GET /health", results.health);

    // 3. The home page as the member. Check once that it is the signed-in page with members listed.
    const check = await fetch(`${plaza.base}/`, { headers: { cookie: cookies } });
    const html = await check.text();
    results.homeEncoding = check.headers.get("content-encoding") ?? "identity";
    const listed = (html.match(/class="member"/g) ?? []).length;
    if (check.status !== 200 || !html.includes("Hello, Bench User") || check.headers.has("set-cookie")) {
      throw new Error(
        `the home page is not the signed-in page (HTTP ${check.status}):\n${html.slice(0, 500)}`,
      );
    }
    if (options.members > 0 && listed === 0) throw new Error("the home page lists no members");
    progress(`home page: ${html.length} chars, ${listed} members listed, encoding ${results.homeEncoding}`);
    results.home = await load(`${plaza.base}/`, { cookie: cookies });
    describeLoad("GET / (member)", results.home);

    results.afterLoad = await memory(plaza.proc.pid);
  } finally {
    await stopPlaza(plaza);
  }
} catch (err) {
  failure = err;
} finally {
  await stopAll();
  clearTimeout(watchdog);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  if (benchDatabase) await adminSql(`drop database if exists ${benchDatabase} with (force)`).catch(() => {});
}

// ---------------------------------------------------------------------------------------------------

const ms = (n: number | undefined, digits = 2) =>
  n === undefined || Number.isNaN(n) ? "—" : n.toFixed(digits);
const int = (n: number | undefined) => n === undefined ? "—" : Math.round(n).toLocaleString("en-US");
const mb = (m: Memory | undefined) =>
  m === undefined ? "—" : `${m.rssMb.toFixed(1)} MB` +
    (m.children ? ` (+${m.childrenMb.toFixed(1)} MB in ${m.children} child)` : "");
const pct = (a?: LoadResult, b?: LoadResult) => a && b && b.rps > 0 ? (100 * a.rps) / b.rps : undefined;

function row(label: string, r: LoadResult | undefined): string {
  if (!r) return `| ${label} | — | — | — | — | — | — | — |`;
  return `| ${label} | ${int(r.rps)} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ${int(r.ok)} | ${
    int(r.errors)
  } | ${int(r.meanBytes)} |`;
}

const homeRatio = pct(results.home, results.bare);
const healthRatio = pct(results.health, results.bare);
const verdict = homeRatio === undefined ? "—" : homeRatio >= 10 ? "met" : "**not met**";
const cpu = navigator.hardwareConcurrency;
const lines = [
  `## Plaza benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
  "",
  `- Machine: ${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch}), ${cpu} logical CPU${
    cpu === 1 ? "" : "s"
  }`,
  `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); database: ${
    databaseUrl ? "Postgres (DATABASE_URL)" : "embedded PGlite"
  }, KV: memory`,
  `- Load: closed loop, ${options.concurrency} concurrent \`fetch\` workers in the bench process over 127.0.0.1, ` +
  `${options.warmup} s warm-up + ${options.duration} s measured per scenario; the client shares the CPUs with the server`,
  "",
  "| Scenario | Requests/s | p50 (ms) | p90 (ms) | p99 (ms) | Requests | Errors | Body (bytes) |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  row("Bare `Deno.serve` hello world (own process)", results.bare),
  row("Plaza `GET /health`", results.health),
  row(`Plaza \`GET /\`, signed-in member (SSR, ${results.homeEncoding ?? "—"})`, results.home),
  "",
  "| Ratio | Value | Target |",
  "| --- | ---: | --- |",
  `| Home page / bare | ${ms(homeRatio, 1)} % | >= 10 %: ${verdict} |`,
  `| Health / bare | ${ms(healthRatio, 1)} % | |`,
  "",
  "| Start-up and memory | Value |",
  "| --- | ---: |",
  `| Cold start: spawn to first \`/health\` 200, fresh data dir | ${ms(results.coldMs, 0)} ms |`,
  `| Warm restart: same data dir (migrated, bundles cached) | ${ms(results.warmMs, 0)} ms |`,
  `| Idle RSS after cold start + ${options.idle} s | ${mb(results.coldIdle)} |`,
  `| Idle RSS after warm restart + ${options.idle} s | ${mb(results.warmIdle)} |`,
  `| RSS after the load scenarios | ${mb(results.afterLoad)} |`,
  `| Peak RSS (VmHWM) over the server's life | ${
    results.afterLoad ? `${results.afterLoad.peakMb.toFixed(1)} MB` : "—"
  } |`,
  "",
  `Total bench time: ${((performance.now() - started) / 1000).toFixed(1)} s.`,
];
console.log(lines.join("\n"));

const errors = (results.bare?.errors ?? 0) + (results.health?.errors ?? 0) + (results.home?.errors ?? 0);
if (failure) {
  console.error(`\n[bench] failed: ${failure instanceof Error ? failure.stack ?? failure.message : failure}`);
  Deno.exit(1);
}
if (errors) {
  console.error(`\n[bench] ${errors} requests failed`);
  Deno.exit(1);
}
