/**
 * Chat benchmark (`deno run -A bench/chat.ts`), on embedded PGlite, or on Postgres when DATABASE_URL
 * is set (a scratch database `plaza_bench_chat_<random>` on that server, dropped at the end; the
 * database named in the URL is only used to create and drop it). Targets: DESIGN section 9 and the
 * chat issue.
 *
 * 0. A history is bulk-loaded first (bench/chat_data.ts): a room of `--messages` messages and 19
 *    rooms of 1,000, interleaved in id order, bodies from a Zipf-distributed vocabulary, replies,
 *    reactions.
 * 1. Post -> delivery (bench/chat_delivery.ts, bench/chat_clients.ts): Plaza in its own process,
 *    clients in another; a room of 51 members, 50 of them subscribed with supabase-js to the private
 *    channel `room:<id>`; `--posts` posts over HTTP one at a time, `--pause` ms apart; latency from
 *    just before the request to the `message` event at each socket. Target p50 <= 10 ms, p99 <= 40 ms.
 * 2. History pages (bench/chat_queries.ts) through the app in process: the latest page and pages
 *    deep in the big room's history. Target p99 <= 20 ms.
 * 3. Search across the history for rare, medium and common terms and two-word queries, as a member
 *    of the big room only, of all 20 rooms, and of one small room only. Target p99 <= 50 ms.
 *
 * `--explain` adds EXPLAIN ANALYZE of the chat queries as an authenticated member (chat_profile.ts).
 * Progress goes to stderr; the Markdown report (bench/chat_report.ts) to stdout.
 */
import { benchRun } from "./harness.ts";
import { loadConfig } from "@/lib/config.ts";
import { createLogger } from "@/lib/log.ts";
import { createPlatform } from "@/lib/platform.ts";
import { type BenchDatabase, createBenchDatabase, type History, loadHistory } from "./chat_data.ts";
import { cpuMeter } from "./chat_cpu.ts";
import { deliveryScenario } from "./chat_delivery.ts";
import { profile } from "./chat_profile.ts";
import { historyScenario, measure, pickTerms, searchScenario, selectOne } from "./chat_queries.ts";
import { renderReport, type Report } from "./chat_report.ts";
import { stopAll } from "./proc.ts";
import { parseBenchOptions } from "./options.ts";

const DEFAULTS = {
  posts: 400,
  warmup: 30,
  pause: 20,
  pings: 200,
  history: 300,
  search: 300,
  messages: 100_000,
};
type Options = typeof DEFAULTS & { explain: boolean };
const BOUNDS: Record<keyof typeof DEFAULTS, [number, number]> = {
  posts: [10, 2000],
  warmup: [0, 200],
  pause: [0, 1000],
  pings: [10, 2000],
  history: [10, 5000],
  search: [16, 5000],
  messages: [1000, 1_000_000],
};
const usage = `Usage: deno run -A bench/chat.ts [--posts=400] [--warmup=30] [--pause=20] [--pings=200]
                                  [--history=300] [--search=300] [--messages=100000] [--explain]
  --posts     measured posts (1: post -> delivery), 10-2000
  --warmup    unmeasured posts and pings first, 0-200
  --pause     ms between posts, 0-1000
  --pings     socket broadcasts and GET /health for the baselines, 10-2000
  --history   history requests per kind of page (2), 10-5000
  --search    search requests per reader (3), 16-5000
  --messages  messages in the big room, 1000-1000000
  --explain   EXPLAIN ANALYZE of the chat queries as a member, after the figures
Postgres when DATABASE_URL is set (a scratch database on its server, dropped at the end).`;

const options: Options = parseBenchOptions(Deno.args, DEFAULTS, BOUNDS, usage);
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const secret = `chat-bench-${crypto.randomUUID()}`;
let bdb: BenchDatabase | undefined;
const run = await benchRun("chat", {
  watchdogSeconds: 600,
  cleanUp: async () => {
    await stopAll(2_000);
    await bdb?.drop();
  },
});
const { tmp, began, progress } = run;

const report: Partial<Report> = { options, databaseUrl: !!databaseUrl };
let failure: unknown;
try {
  progress(
    `creating and migrating the database (${databaseUrl ? "Postgres, DATABASE_URL" : "PGlite"})...`,
  );
  bdb = await createBenchDatabase(`${tmp}/data`, databaseUrl);
  report.database = bdb.label;

  progress(`loading the history: ${options.messages} + 19 × 1,000 messages...`);
  let history: History;
  {
    const db = await bdb.open();
    try {
      history = await loadHistory(db, {
        bigRoomMessages: options.messages,
        smallRooms: 19,
        smallRoomMessages: 1000,
        authors: 50,
        secret,
        progress,
      });
    } finally {
      await db.close();
    }
  }
  report.history = history;
  progress(`  loaded in ${history.loadSeconds.toFixed(1)} s`);

  report.delivery = await deliveryScenario(
    bdb,
    secret,
    {
      posts: options.posts,
      warmup: options.warmup,
      pauseMs: options.pause,
      pings: options.pings,
    },
    tmp,
    progress,
  );
  const d = report.delivery;
  progress(
    `  delivery p50 ${d.all.p50.toFixed(2)} ms, p99 ${d.all.p99.toFixed(2)} ms; HTTP p50 ${
      d.http.p50.toFixed(2)
    } ms`,
  );

  progress("history and search through the app in process...");
  const platform = await createPlatform(
    loadConfig({
      PLAZA_DATA_DIR: bdb.dataDir,
      PLAZA_SECRET: secret,
      DATABASE_URL: bdb.databaseUrl,
      LOG_LEVEL: "error",
      PLAZA_SEED: "never",
    }),
    { log: createLogger("error") },
  );
  try {
    const { createApp } = await import("@/routes/app.ts");
    const app = await createApp(platform);
    const fetch = (req: Request) => app.fetch(req, { remoteAddr: { hostname: "127.0.0.1" } });
    let meter = cpuMeter(bdb.name);
    report.selectOne = await selectOne(platform, 500);
    report.me = await measure(
      fetch,
      "`GET /api/v1/me`",
      options.history,
      30,
      () => ({
        path: "/api/v1/me",
        token: history.oneRoom.token,
      }),
    );
    report.pages = await historyScenario(fetch, history, options.history);
    report.pagesCpu = meter();
    for (const p of report.pages) {
      progress(
        `  ${p.label}: p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms`,
      );
    }
    meter = cpuMeter(bdb.name);
    const terms = pickTerms(history);
    report.terms = terms;
    report.search = [];
    for (
      const [who, user] of [
        ["member of the big room only (1 room)", history.oneRoom],
        [
          "member of 20 rooms (the big room and 19 small ones)",
          history.twentyRooms,
        ],
        [
          "member of one small room only (1,000 of the messages)",
          history.smallRoomOnly,
        ],
      ] as const
    ) {
      const r = await searchScenario(fetch, terms, user.token, options.search);
      report.search.push({ who, ...r });
      progress(
        `  search, ${who}: p50 ${r.all.p50.toFixed(2)} ms, p99 ${r.all.p99.toFixed(2)} ms`,
      );
    }
    report.searchCpu = meter();
    if (options.explain) {
      progress("EXPLAIN ANALYZE...");
      report.explain = await profile(platform.db, history, terms);
    }
  } finally {
    await platform.close();
  }
} catch (err) {
  failure = err;
} finally {
  await run.close();
}

if (failure) {
  progress(
    `failed: ${failure instanceof Error ? failure.stack ?? failure.message : failure}`,
  );
  Deno.exit(1);
}
report.totalSeconds = (performance.now() - began) / 1000;
console.log(renderReport(report as Report));
const r = report as Report;
const errors = r.delivery.failed + r.pages.reduce((n, p) => n + p.errors, 0) +
  r.search.reduce((n, s) => n + s.all.errors, 0) + r.me.errors;
if (errors || r.delivery.delivered < r.delivery.expected) {
  progress(
    `problems: ${errors} failed requests, ${r.delivery.delivered} of ${r.delivery.expected} deliveries` +
      (r.pages.find((p) => p.firstError)?.firstError ?? r.search.find((s) =>
        s.all.firstError
      )?.all.firstError ?? ""),
  );
  Deno.exit(1);
}
