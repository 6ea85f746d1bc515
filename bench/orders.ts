/**
 * Orders benchmark (`deno run -A bench/orders.ts`): live location at the budget's load (DESIGN
 * section 9: "partner location fix -> watchers' map: p99 <= 50 ms at 2,000 fixes/s, every fix
 * persisted"). On embedded PGlite, or on Postgres when DATABASE_URL is set (a scratch database
 * `plaza_bench_chat_<random>` on that server, dropped at the end; REDIS_URL is passed to Plaza when
 * set).
 *
 * 1. Setup (bench/orders_data.ts): `--partners` partners (500), as many customers and orders, and an
 *    admin; every order assigned and moved to `en_route_dropoff` through `public.order_transition`.
 * 2. Plaza runs in its own process (bench/orders_server.ts: the app as main.ts serves it, without
 *    the job runner; the per-partner `order-locations` limit counted but not enforced, see there).
 * 3. `--procs` client processes (bench/orders_clients.ts) share the orders; each holds, for its
 *    orders, the partner and `--watchers` sockets (the customer, then the admin) joined to the
 *    private channel `order:<id>`. Every partner POSTs `--batch` fixes to
 *    `/api/v1/orders/:id/locations` `--rate` times a second, open loop, the partners spread evenly
 *    over the period (500 × 4 = 2,000 fixes/s). `--warmup` seconds first, then `--seconds` measured.
 *    Latency: just before the POST -> the `location` broadcast carrying that fix at each watcher
 *    (same process, one clock).
 * 4. Every `--sample` seconds: the server's RSS and CPU, and the ingest buffer's statements and
 *    fixes. At the end, with Plaza stopped: rows in order_locations, which must equal the fixes the
 *    API acknowledged (200, `accepted`).
 *
 * Progress goes to stderr; the Markdown report to stdout. Exit 1 when a fix was lost or a request
 * failed; the budget itself is reported, not enforced.
 *
 * The issue's run (5 minutes): `deno task bench:orders -- --seconds 300`; on Postgres:
 * `DATABASE_URL=postgres://… REDIS_URL=redis://… deno task bench:orders -- --seconds 300`.
 * `--profile 1` writes the server's V8 CPU profile.
 */
import { envSchema } from "@/lib/config.ts";
import { benchRun } from "./harness.ts";
import { type BenchDatabase, createBenchDatabase } from "./chat_data.ts";
import { cpuMeter, type CpuUse } from "./chat_cpu.ts";
import { int, ms, type Stats, stats, verdict } from "./chat_stats.ts";
import { type BenchOrder, countFixes, createOrders } from "./orders_data.ts";
import { parseBenchOptions } from "./options.ts";
import { freePort, memory, sleep, spawnDeno, stop, stopAll, waitForOk } from "./proc.ts";

const DEFAULTS = {
  seconds: 60,
  partners: 500,
  rate: 4,
  watchers: 2,
  batch: 1,
  procs: 2,
  warmup: 5,
  inflight: 400,
  sample: 10,
  profile: 0,
};
type Options = typeof DEFAULTS & { explain: boolean };
const BOUNDS: Record<keyof typeof DEFAULTS, [number, number]> = {
  seconds: [5, 900],
  partners: [1, 2000],
  rate: [1, 20],
  watchers: [0, 4],
  batch: [1, 100],
  procs: [1, 8],
  warmup: [0, 60],
  inflight: [1, 5000],
  sample: [1, 60],
  profile: [0, 1],
};
const usage = `Usage: deno run -A bench/orders.ts [--seconds 60] [--partners 500] [--rate 4] [--watchers 2]
                                    [--batch 1] [--procs 2] [--warmup 5] [--inflight 400] [--sample 10]
  --seconds   measured seconds of load, 5-900 (the issue's run: --seconds 300)
  --partners  partners, each with one order en route, 1-2000
  --rate      requests per second per partner, 1-20
  --watchers  sockets per order: the customer, then the admin (more: the admin again), 0-4
  --batch     fixes per request, 1-100 (fixes/s = partners × rate × batch)
  --procs     client processes sharing the orders, 1-8
  --warmup    unmeasured seconds of load first, 0-60
  --inflight  requests in flight at most per client process (a turn is skipped beyond), 1-5000
  --sample    seconds between samples of the server's memory, CPU and ingest totals, 1-60
  --profile   1: the server writes a V8 CPU profile (--cpu-prof) to a directory named at the end
Options take "--name N" or "--name=N". Postgres when DATABASE_URL is set.`;
const BUDGET_P99_MS = 50;
const BUDGET_FIXES_PER_SECOND = 2000;
const root = new URL("../", import.meta.url).pathname;

/** `--name N` -> `--name=N`, so both spellings work. */
function normalize(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (/^--[a-z]+$/.test(args[i]) && i + 1 < args.length && /^\d+$/.test(args[i + 1])) {
      out.push(`${args[i]}=${args[++i]}`);
    } else out.push(args[i]);
  }
  return out;
}

const options: Options = parseBenchOptions(normalize(Deno.args), DEFAULTS, BOUNDS, usage);
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const redisUrl = Deno.env.get("REDIS_URL") || "";
const secret = `orders-bench-${crypto.randomUUID()}`;

/** What a client process reports. */
interface ClientResult {
  subscribeMs: number;
  sockets: number;
  requests: number;
  status: Record<string, number>;
  errors: string[];
  accepted: number;
  acceptedMeasured: number;
  duplicates: number;
  droppedJumps: number;
  skipped: number;
  fixesSent: number;
  fixesSentMeasured: number;
  delivered: number;
  deliveredWarmup: number;
  undelivered: number;
  unmatched: number;
  socketErrors: number;
  socketCloses: number;
  inFlightAtEnd: number;
  cpuSeconds: number;
  http: (number[] | null)[];
  deliveries: (number[] | null)[];
}

/** What the server reports at /__bench/orders. */
interface ServerSample {
  ingest: { statements: number; fixes: number; duplicates: number };
  rssMb: number;
  heapMb: number;
  cpuSeconds: number;
  realtime: { connections: number; delivered: number };
}

/** One row of the time series. */
interface Sample {
  t: number;
  rssMb: number;
  heapMb: number;
  serverCores: number;
  fixesPerSecond: number;
  statementsPerSecond: number;
  fixesPerStatement: number;
  deliveredPerSecond: number;
  load1: number;
}

interface Report {
  database: string;
  setupSeconds: number;
  subscribeSeconds: number;
  sockets: number;
  clients: ClientResult[];
  start: ServerSample;
  beforeLoad: ServerSample;
  end: ServerSample;
  startPeakMb?: number;
  samples: Sample[];
  rows: number;
  http: Stats;
  delivery: Stats;
  windows: { http: Stats; delivery: Stats }[];
  cpu?: CpuUse;
  serverCores: number;
  wallSeconds: number;
  totalSeconds: number;
}

function plazaEnv(bdb: BenchDatabase, port: number): Record<string, string> {
  const env: Record<string, string> = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, ""]));
  return {
    ...env,
    PORT: String(port),
    PLAZA_DATA_DIR: bdb.dataDir,
    PLAZA_SECRET: secret,
    LOG_LEVEL: "warn",
    PLAZA_SEED: "never",
    DATABASE_URL: bdb.databaseUrl,
    REDIS_URL: bdb.kind === "postgres" ? redisUrl : "",
  };
}

async function serverSample(url: string, timeoutMs = 5_000): Promise<ServerSample> {
  const res = await fetch(`${url}/__bench/orders`, { signal: AbortSignal.timeout(timeoutMs) });
  return await res.json() as ServerSample;
}

/** Reads `stream` line by line. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf.trim()) yield buf;
}

const fmt1 = (n: number) => n.toFixed(1);

function render(o: Options, r: Report): string {
  const sum = (f: (c: ClientResult) => number) => r.clients.reduce((n, c) => n + f(c), 0);
  const status: Record<string, number> = {};
  for (const c of r.clients) for (const [k, v] of Object.entries(c.status)) status[k] = (status[k] ?? 0) + v;
  const accepted = sum((c) => c.accepted);
  const measuredFixes = sum((c) => c.acceptedMeasured);
  const sentMeasured = sum((c) => c.fixesSentMeasured);
  const delivered = sum((c) => c.delivered);
  const expected = measuredFixes * o.watchers;
  const failed = Object.entries(status).filter(([k]) => k !== "200").reduce((n, [, v]) => n + v, 0);
  const fixesPerSecond = measuredFixes / o.seconds;
  const ingest = {
    statements: r.end.ingest.statements - r.beforeLoad.ingest.statements,
    fixes: r.end.ingest.fixes - r.beforeLoad.ingest.fixes,
  };
  const target = o.partners * o.rate * o.batch;
  const persisted = r.rows === accepted;
  const lines = [
    `# Orders benchmark: live location`,
    ``,
    `Database: ${r.database}. Plaza in its own process (bench/orders_server.ts), ${o.procs} client ` +
    `processes; all on 127.0.0.1, machine ${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}, ` +
    `${navigator.hardwareConcurrency} logical CPUs, Deno ${Deno.version.deno}.`,
    ``,
    `Load: ${o.partners} partners × ${o.rate} requests/s × ${o.batch} fix(es) = ${
      int(target)
    } fixes/s offered, ` +
    `${o.watchers} watcher socket(s) per order (${r.sockets} sockets on private \`order:<id>\` topics), ` +
    `${o.warmup} s warm-up + ${o.seconds} s measured. Setup ${fmt1(r.setupSeconds)} s, sockets joined in ${
      fmt1(r.subscribeSeconds)
    } s.`,
    ``,
    `| what | figure | target |`,
    `|---|---:|---|`,
    `| fixes/s acknowledged (measured window) | ${int(fixesPerSecond)} | >= ${
      int(BUDGET_FIXES_PER_SECOND)
    }: ${fixesPerSecond >= BUDGET_FIXES_PER_SECOND * 0.98 ? "met" : "**not met**"} |`,
    `| fixes sent / acknowledged (measured) | ${int(sentMeasured)} / ${int(measuredFixes)} | |`,
    `| turns skipped (in-flight cap or client behind) | ${int(sum((c) => c.skipped))} | 0 |`,
    `| HTTP p50 / p99 / max (ms) | ${ms(r.http.p50)} / ${ms(r.http.p99)} / ${ms(r.http.max)} | |`,
    `| fix -> watcher p50 / p95 (ms) | ${ms(r.delivery.p50)} / ${ms(r.delivery.p95)} | |`,
    `| fix -> watcher p99 (ms) | ${ms(r.delivery.p99)} | <= ${BUDGET_P99_MS}: ${
      verdict(r.delivery.p99, BUDGET_P99_MS)
    } |`,
    `| fix -> watcher max (ms) | ${ms(r.delivery.max)} | |`,
    `| deliveries/s (measured) | ${int(delivered / o.seconds)} | |`,
    `| deliveries / expected (measured) | ${int(delivered)} / ${int(expected)} (${
      int(sum((c) => c.undelivered))
    } missing) | all |`,
    `| every fix persisted: rows in order_locations / fixes acknowledged | ${int(r.rows)} / ${
      int(accepted)
    } | ${persisted ? "equal: met" : "**differ**"} |`,
    `| HTTP statuses | ${
      Object.entries(status).map(([k, v]) => `${k === "0" ? "network error" : k}: ${int(v)}`).join(", ")
    } | no errors |`,
    `| duplicates / dropped jumps reported | ${int(sum((c) => c.duplicates))} / ${
      int(sum((c) => c.droppedJumps))
    } | 0 / 0 |`,
    `| socket errors / unexpected closes | ${sum((c) => c.socketErrors)} / ${
      sum((c) => c.socketCloses)
    } | 0 / 0 |`,
    `| ingest statements (load) / fixes per statement | ${int(ingest.statements)} / ${
      ingest.statements ? (ingest.fixes / ingest.statements).toFixed(1) : "—"
    } | |`,
    `| server RSS: start / sockets joined / end (MB) | ${fmt1(r.start.rssMb)} / ${
      fmt1(r.beforeLoad.rssMb)
    } / ${fmt1(r.end.rssMb)} | flat |`,
    `| server CPU during the load (cores) | ${r.serverCores.toFixed(2)} | |`,
    `| CPU during the load: this bench's processes / everything else (cores), load avg | ${
      r.cpu ? `${r.cpu.ours.toFixed(2)} / ${r.cpu.other.toFixed(2)}, ${r.cpu.load1.toFixed(2)}` : "—"
    } | |`,
    `| client processes' CPU (s, total) | ${fmt1(sum((c) => c.cpuSeconds))} | |`,
  ];
  if (failed) {
    const errs = r.clients.flatMap((c) => c.errors).slice(0, 5);
    lines.push(``, `First errors:`, ``, ...errs.map((e) => `- ${e}`));
  }
  lines.push(
    ``,
    `Every ${o.sample} s (server process; fixes and statements from the ingest buffer's totals):`,
    ``,
    `| t (s) | RSS MB | heap MB | server cores | fixes/s | statements/s | fixes/statement | deliveries/s | load avg |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...r.samples.map((s) =>
      `| ${s.t.toFixed(0)} | ${fmt1(s.rssMb)} | ${fmt1(s.heapMb)} | ${s.serverCores.toFixed(2)} | ${
        int(s.fixesPerSecond)
      } | ${int(s.statementsPerSecond)} | ${s.fixesPerStatement.toFixed(1)} | ${
        int(s.deliveredPerSecond)
      } | ${s.load1.toFixed(2)} |`
    ),
    ``,
    `Per ${o.sample} s window of the measured load (by send time):`,
    ``,
    `| window | fixes | HTTP p50 | HTTP p99 | watcher p50 | watcher p99 | watcher max |`,
    `|---:|---:|---:|---:|---:|---:|---:|`,
    ...r.windows.map((w, i) =>
      `| ${i * o.sample}–${(i + 1) * o.sample} s | ${int(w.http.n)} | ${ms(w.http.p50)} | ${
        ms(w.http.p99)
      } | ${ms(w.delivery.p50)} | ${ms(w.delivery.p99)} | ${ms(w.delivery.max)} |`
    ),
    ``,
    `Budget (p99 <= ${BUDGET_P99_MS} ms at ${int(BUDGET_FIXES_PER_SECOND)} fixes/s, every fix persisted): ${
      r.delivery.p99 <= BUDGET_P99_MS && fixesPerSecond >= BUDGET_FIXES_PER_SECOND * 0.98 && persisted &&
        delivered === expected
        ? "met"
        : "**not met**"
    }.`,
    ``,
    `Total ${fmt1(r.totalSeconds)} s.`,
  );
  return lines.join("\n");
}

let bdb: BenchDatabase | undefined;
const run = await benchRun("orders", {
  watchdogSeconds: 300 + options.warmup + options.seconds + Math.ceil(options.partners / 10),
  cleanUp: async () => {
    await stopAll(5_000);
    await bdb?.drop();
  },
});
const { tmp, began, progress } = run;

let report: Report | undefined;
let failure: unknown;
try {
  progress(`creating and migrating the database (${databaseUrl ? "Postgres, DATABASE_URL" : "PGlite"})...`);
  bdb = await createBenchDatabase(`${tmp}/data`, databaseUrl);
  progress(`creating ${options.partners} partners, customers and orders en route...`);
  let orders: BenchOrder[];
  let adminToken: string;
  let setupSeconds: number;
  {
    const db = await bdb.open();
    try {
      const data = await createOrders(db, secret, options.partners);
      orders = data.orders;
      adminToken = data.admin.token;
      setupSeconds = data.seconds;
    } finally {
      await db.close();
    }
  }
  progress(`  done in ${fmt1(setupSeconds)} s`);

  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  progress("starting Plaza (bench/orders_server.ts) in its own process...");
  const profileDir = options.profile ? await Deno.makeTempDir({ prefix: "plaza-orders-profile-" }) : "";
  const server = spawnDeno(
    "plaza",
    [
      "run",
      "-A",
      ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      "bench/orders_server.ts",
    ],
    plazaEnv(bdb, port),
    root,
  );
  if (profileDir) progress(`  the server's CPU profile goes to ${profileDir}`);
  await waitForOk(server, `${url}/health`, 120_000);
  const anonKey = (await (await fetch(`${url}/api/v1/client-config`)).json()).supabaseAnonKey as string;
  await sleep(1000);
  const start = await serverSample(url);
  const startPeakMb = (await memory(server.pid))?.peakMb;

  // Client processes: orders dealt round-robin, so every process has partners all over the period.
  const wsUrl = `ws://127.0.0.1:${port}/realtime/v1/websocket?apikey=${anonKey}&vsn=2.0.0`;
  const clients = Array.from({ length: options.procs }, (_, k) => {
    const mine = orders.map((o, index) => ({ o, index })).filter((x) => x.index % options.procs === k);
    const settings = {
      url,
      wsUrl,
      orders: mine.map(({ o, index }) => ({
        id: o.id,
        index,
        partnerToken: o.partner.token,
        start: o.pickup,
        watcherTokens: Array.from(
          { length: options.watchers },
          (_, w) => w === 0 ? o.customer.token : adminToken,
        ),
      })),
      totalOrders: orders.length,
      rate: options.rate,
      batch: options.batch,
      seconds: options.seconds,
      warmupSeconds: options.warmup,
      maxInFlight: options.inflight,
      drainMs: 5_000,
      windowSeconds: options.sample,
    };
    const file = `${tmp}/orders_clients_${k}.json`;
    Deno.writeTextFileSync(file, JSON.stringify(settings));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "bench/orders_clients.ts", file],
      cwd: root,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return { child, out: lines(child.stdout) };
  });
  const killClients = () => {
    for (const c of clients) {
      try {
        c.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  let report1: Report;
  try {
    progress(`${options.procs} client processes opening ${orders.length * options.watchers} sockets...`);
    const t0 = performance.now();
    const ready = await Promise.race([
      Promise.all(clients.map(async (c) => {
        const { value } = await c.out.next();
        if (!value) throw new Error("a client process exited before it was ready");
        return JSON.parse(value) as { sockets: number };
      })),
      sleep(180_000).then(() => {
        throw new Error("sockets not joined within 180 s");
      }),
    ]);
    const subscribeSeconds = (performance.now() - t0) / 1000;
    const sockets = ready.reduce((n, r) => n + r.sockets, 0);
    progress(`  ${sockets} sockets joined in ${fmt1(subscribeSeconds)} s`);
    const beforeLoad = await serverSample(url);

    const startAt = Date.now() + 500;
    for (const c of clients) {
      const w = c.child.stdin.getWriter();
      await w.write(new TextEncoder().encode(`go ${startAt}\n`));
      await w.close();
    }
    progress(
      `load: ${
        int(options.partners * options.rate * options.batch)
      } fixes/s, ${options.warmup} s warm-up + ${options.seconds} s...`,
    );
    await sleep(Math.max(0, startAt - Date.now()));
    const meter = cpuMeter(bdb.name);
    const loadT0 = performance.now();
    const samples: Sample[] = [];
    let prev = beforeLoad;
    let prevT = loadT0;
    const sampler = (async () => {
      const until = loadT0 + (options.warmup + options.seconds) * 1000;
      for (let at = loadT0 + options.sample * 1000; at <= until + 500; at += options.sample * 1000) {
        await sleep(at - performance.now());
        const s = await serverSample(url).catch(() => undefined);
        const now = performance.now();
        if (!s) {
          progress("  (the server did not answer the sample within 5 s)");
          continue;
        }
        const dt = (now - prevT) / 1000;
        const statements = s.ingest.statements - prev.ingest.statements;
        const fixes = s.ingest.fixes - prev.ingest.fixes;
        samples.push({
          t: (now - loadT0) / 1000,
          rssMb: s.rssMb,
          heapMb: s.heapMb,
          serverCores: (s.cpuSeconds - prev.cpuSeconds) / dt,
          fixesPerSecond: fixes / dt,
          statementsPerSecond: statements / dt,
          fixesPerStatement: statements ? fixes / statements : 0,
          deliveredPerSecond: (s.realtime.delivered - prev.realtime.delivered) / dt,
          load1: Deno.loadavg()[0],
        });
        const last = samples.at(-1)!;
        progress(
          `  t=${last.t.toFixed(0)} s: ${int(last.fixesPerSecond)} fixes/s in ${
            int(last.statementsPerSecond)
          } statements/s, ${int(last.deliveredPerSecond)} deliveries/s, server ${
            last.serverCores.toFixed(2)
          } cores, RSS ${fmt1(last.rssMb)} MB, load ${last.load1.toFixed(2)}`,
        );
        prev = s;
        prevT = now;
      }
    })();
    const results = await Promise.race([
      Promise.all(clients.map(async (c) => {
        const { value } = await c.out.next();
        if (!value) throw new Error("a client process exited without results");
        return JSON.parse(value) as ClientResult;
      })),
      sleep((options.warmup + options.seconds + 120) * 1000).then(() => {
        throw new Error("client processes did not report in time");
      }),
    ]);
    const wallSeconds = (performance.now() - loadT0) / 1000;
    await sampler;
    const end = await serverSample(url, 60_000);
    const clientCpu = results.reduce((n, c) => n + c.cpuSeconds, 0);
    const cpu = meter(clientCpu);
    const serverCores = (end.cpuSeconds - beforeLoad.cpuSeconds) / wallSeconds;
    await Promise.all(clients.map((c) => c.child.status));
    progress("stopping Plaza, counting the stored fixes...");
    await stop(server, 30_000);
    const db = await bdb.open();
    let rows: number;
    try {
      rows = await countFixes(db, orders);
    } finally {
      await db.close();
    }
    const windowsN = Math.max(
      ...results.map((c) => c.http.length),
      ...results.map((c) => c.deliveries.length),
    );
    const windows = Array.from({ length: windowsN }, (_, i) => ({
      http: stats(results.flatMap((c) => c.http[i] ?? [])),
      delivery: stats(results.flatMap((c) => c.deliveries[i] ?? [])),
    }));
    report1 = {
      database: bdb.label,
      setupSeconds,
      subscribeSeconds,
      sockets,
      clients: results.map((c) => ({ ...c, http: [], deliveries: [] })),
      start,
      beforeLoad,
      end,
      startPeakMb,
      samples,
      rows,
      http: stats(results.flatMap((c) => c.http.flatMap((w) => w ?? []))),
      delivery: stats(results.flatMap((c) => c.deliveries.flatMap((w) => w ?? []))),
      windows,
      cpu,
      serverCores,
      wallSeconds,
      totalSeconds: 0,
    };
  } finally {
    killClients();
  }
  report = report1;
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
const accepted = report.clients.reduce((n, c) => n + c.accepted, 0);
const failedRequests = report.clients.reduce(
  (n, c) => n + Object.entries(c.status).filter(([k]) => k !== "200").reduce((m, [, v]) => m + v, 0),
  0,
);
if (report.rows !== accepted || failedRequests) {
  progress(
    `problems: ${report.rows} rows for ${accepted} acknowledged fixes, ${failedRequests} failed requests`,
  );
  Deno.exit(1);
}
