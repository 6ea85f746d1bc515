/**
 * Media benchmark (`deno task bench:media`), on embedded PGlite, or on Postgres when DATABASE_URL is
 * set (a scratch database `plaza_bench_chat_<random>` on that server, dropped at the end; the database
 * named in the URL is only used to create and drop it). Targets: DESIGN section 9 ("image
 * thumbnails: never on the request path; p99 chat latency unchanged while a 12 MP photo is
 * processed"; chat post -> other members' sockets p50 <= 10 ms, p99 <= 40 ms) and docs/media.md.
 *
 * 1. Uploads (bench/media_uploads.ts): Plaza's app in its own process without the job runner
 *    (bench/media_server.ts); `--uploads` distinct ~1 MB JPEGs per level over HTTP on 127.0.0.1 by 4
 *    and then 16 concurrent clients; uploads/s, MB/s, latency, and the server's RSS (it must stream).
 * 2. Chat under load (bench/media_chat.ts, bench/media_chat_clients.ts): Plaza as deployed (main.ts,
 *    jobs runner included); post -> delivery to `--sockets` supabase-js sockets, first alone, then
 *    while `--images` 12 MP JPEGs are uploaded and rendered; with PLAZA_MEDIA_WORKERS=1 (the
 *    default) and 0 (rendering on the server's own thread).
 * 3. Processing one 12 MP JPEG (4000×3000, ~4.6 MB) into every variant (bench/media_images.ts),
 *    `--runs` times each: `renderVariants` inline, through the worker pool, and end to end
 *    (upload through the app in process, then `processMedia`).
 *
 * Progress goes to stderr; the Markdown report to stdout.
 */
import { benchRun } from "./harness.ts";
import { envSchema, loadConfig } from "@/lib/config.ts";
import { createLogger } from "@/lib/log.ts";
import { createPlatform } from "@/lib/platform.ts";
import {
  type BenchDatabase,
  type BenchUser,
  createBenchDatabase,
  createRoom,
  createUsers,
} from "./chat_data.ts";
import { int, ms, type Stats, verdict } from "./chat_stats.ts";
import { type ChatLoadResult, chatLoadScenario, type Delivery } from "./media_chat.ts";
import {
  endToEndScenario,
  inlineScenario,
  photoJpeg,
  poolScenario,
  type ProcessingResult,
} from "./media_images.ts";
import { type UploadLevel, uploadLevel } from "./media_uploads.ts";
import { freePort, spawnDeno, stop, stopAll, waitForOk } from "./proc.ts";
import { parseBenchOptions } from "./options.ts";

const DEFAULTS = { runs: 5, uploads: 200, images: 10, posts: 150, warmup: 10, pause: 50, sockets: 50 };
type Options = typeof DEFAULTS & { explain: boolean };
const BOUNDS: Record<keyof typeof DEFAULTS, [number, number]> = {
  runs: [1, 20],
  uploads: [10, 1000],
  images: [1, 30],
  posts: [10, 2000],
  warmup: [0, 200],
  pause: [0, 1000],
  sockets: [1, 200],
};
const usage = `Usage: deno run -A bench/media.ts [--runs=5] [--uploads=200] [--images=10] [--posts=150]
                                   [--warmup=10] [--pause=50] [--sockets=50]
  --runs      renders of the 12 MP JPEG per way of processing (3), 1-20
  --uploads   ~1 MB uploads per concurrency level (1), 10-1000
  --images    12 MP uploads processed during the chat run (2), 1-30
  --posts     baseline chat posts (2), 10-2000
  --warmup    unmeasured chat posts first, 0-200
  --pause     ms between chat posts, 0-1000
  --sockets   subscribed sockets in the chat room (2), 1-200
Postgres when DATABASE_URL is set (a scratch database on its server, dropped at the end).`;
const LEVELS = [4, 16];
const BIG = { width: 4000, height: 3000 };
const SMALL = { width: 1920, height: 1440 };
const DELIVERY_P50 = 10;
const DELIVERY_P99 = 40;

const options: Options = parseBenchOptions(Deno.args, DEFAULTS, BOUNDS, usage);
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const secret = `media-bench-${crypto.randomUUID()}`;
let bdb: BenchDatabase | undefined;
const run = await benchRun("media", {
  watchdogSeconds: 420,
  cleanUp: async () => {
    await stopAll(2_000);
    await bdb?.drop();
  },
});
const { tmp, began, progress } = run;
const root = new URL("../", import.meta.url).pathname;

interface Report {
  database: string;
  big: { bytes: number; seconds: number };
  small: { bytes: number[] };
  uploads: UploadLevel[];
  rssStart: number;
  chat: ChatLoadResult[];
  processing: ProcessingResult[];
  totalSeconds: number;
}

function plazaEnv(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, ""])),
    PORT: String(port),
    PLAZA_DATA_DIR: bdb!.dataDir,
    PLAZA_SECRET: secret,
    LOG_LEVEL: "warn",
    PLAZA_SEED: "never",
    DATABASE_URL: bdb!.databaseUrl,
    ...extra,
  };
}

/** Drops queued `media-process` jobs (the upload run's), so main.ts's runner starts idle. */
async function clearQueuedJobs(): Promise<void> {
  const db = await bdb!.open();
  try {
    await db.query("delete from plaza.jobs where name = 'media-process' and status = 'queued'");
  } finally {
    await db.close();
  }
}

let report: Report | undefined;
let failure: unknown;
try {
  progress(`creating and migrating the database (${databaseUrl ? "Postgres, DATABASE_URL" : "PGlite"})...`);
  bdb = await createBenchDatabase(`${tmp}/data`, databaseUrl);

  progress(`generating a ${BIG.width}×${BIG.height} JPEG and 4 of ${SMALL.width}×${SMALL.height}...`);
  const t = performance.now();
  const big = await photoJpeg(BIG.width, BIG.height, 1);
  const bigSeconds = (performance.now() - t) / 1000;
  const bigFile = `${tmp}/big.jpg`;
  await Deno.writeFile(bigFile, big);
  const small: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) small.push(await photoJpeg(SMALL.width, SMALL.height, 100 + i));
  progress(
    `  ${(big.length / 1e6).toFixed(2)} MB in ${bigSeconds.toFixed(1)} s; ${
      small.map((s) => (s.length / 1e6).toFixed(2)).join(", ")
    } MB`,
  );

  // People: 60 uploads per 10 minutes each, so every level gets its own, at most 10 uploads apiece.
  const perLevel = Math.ceil(options.uploads / 10);
  let members: BenchUser[], uploaders: BenchUser[], photographers: BenchUser[], roomId: string;
  let e2e: BenchUser;
  {
    const db = await bdb.open();
    try {
      members = await createUsers(db, secret, "member", options.sockets + 1);
      roomId = await createRoom(db, "Photos", members[0].id, members.map((u) => u.id));
      uploaders = await createUsers(db, secret, "uploader", perLevel * LEVELS.length);
      photographers = await createUsers(db, secret, "photographer", options.images * 2);
      [e2e] = await createUsers(db, secret, "e2e", 1);
    } finally {
      await db.close();
    }
  }

  // 1. Uploads.
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  progress("starting Plaza's app without the runner (bench/media_server.ts) in its own process...");
  const server = spawnDeno("plaza-uploads", ["run", "-A", "bench/media_server.ts"], plazaEnv(port), root);
  const uploads: UploadLevel[] = [];
  let rssStart = NaN;
  try {
    await waitForOk(server, `${url}/health`, 120_000);
    // Warm the upload path (JIT, first storage writes), unmeasured.
    await uploadLevel(server, url, uploaders.slice(0, 1), small, 2, 4, 90_000);
    const status = await Deno.readTextFile(`/proc/${server.pid}/status`).catch(() => "");
    rssStart = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;
    for (const [i, concurrency] of LEVELS.entries()) {
      progress(`uploads: ${options.uploads} × ~1 MB, ${concurrency} clients...`);
      const users = uploaders.slice(i * perLevel, (i + 1) * perLevel);
      const r = await uploadLevel(server, url, users, small, concurrency, options.uploads, i * 10_000);
      uploads.push(r);
      progress(
        `  ${r.perSecond.toFixed(1)} uploads/s, ${r.mbPerSecond.toFixed(1)} MB/s, p50 ${
          ms(r.latency.p50)
        } ms, p99 ${ms(r.latency.p99)} ms; RSS ${r.rssBefore.toFixed(0)} -> max ${
          r.rssMax.toFixed(0)
        } MB; ${r.failed} failed ${r.firstError ?? ""}`,
      );
    }
  } finally {
    await stop(server, 15_000);
  }
  await clearQueuedJobs();

  // 2. Chat under load, with the worker and without.
  const chat: ChatLoadResult[] = [];
  for (const [i, workers] of [1, 0].entries()) {
    const r = await chatLoadScenario(
      bdb,
      secret,
      {
        subscribers: members.slice(1),
        posters: members,
        uploaders: photographers.slice(i * options.images, (i + 1) * options.images),
        roomId,
      },
      bigFile,
      {
        workers,
        images: options.images,
        posts: options.posts,
        warmup: options.warmup,
        pauseMs: options.pause,
      },
      tmp,
      progress,
    );
    chat.push(r);
    progress(
      `  workers=${workers}: baseline p50 ${ms(r.baseline.all.p50)} / p99 ${ms(r.baseline.all.p99)} ms; ` +
        `under load p50 ${ms(r.loaded.all.p50)} / p99 ${ms(r.loaded.all.p99)} ms (${r.loaded.posts} posts, ` +
        `${r.ready}/${r.images} ready in ${r.loadSeconds.toFixed(1)} s)`,
    );
    await clearQueuedJobs();
  }

  // 3. Processing time, in this process.
  const processing: ProcessingResult[] = [];
  progress(`processing the 12 MP JPEG ${options.runs} times inline...`);
  processing.push(await inlineScenario(big, options.runs));
  progress(`  median ${ms(processing.at(-1)!.time.p50)} ms; through the worker pool...`);
  processing.push(await poolScenario(big, options.runs));
  progress(`  median ${ms(processing.at(-1)!.time.p50)} ms; end to end (upload + processMedia)...`);
  const platform = await createPlatform(
    loadConfig({
      PLAZA_DATA_DIR: bdb.dataDir,
      PLAZA_SECRET: secret,
      DATABASE_URL: bdb.databaseUrl,
      LOG_LEVEL: "error",
      PLAZA_SEED: "never",
      PLAZA_MEDIA_WORKERS: "1",
    }),
    { log: createLogger("error") },
  );
  try {
    const { createApp } = await import("@/routes/app.ts");
    const app = await createApp(platform);
    const fetch = (req: Request) => app.fetch(req, { remoteAddr: { hostname: "127.0.0.1" } });
    processing.push(await endToEndScenario(platform, fetch, e2e.token, big, options.runs));
    progress(`  median ${ms(processing.at(-1)!.time.p50)} ms`);
  } finally {
    await platform.close();
  }

  report = {
    database: bdb.label,
    big: { bytes: big.length, seconds: bigSeconds },
    small: { bytes: small.map((s) => s.length) },
    uploads,
    rssStart,
    chat,
    processing,
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
const problems = report.uploads.reduce((n, u) => n + u.failed, 0) +
  report.chat.reduce((n, c) => n + c.baseline.failed + c.loaded.failed + c.uploadsFailed + c.failedImages, 0);
if (problems) {
  progress(`problems: ${problems} failed uploads, posts or images`);
  Deno.exit(1);
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(2);
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

function deliveryRow(label: string, d: Delivery): string {
  return `| ${label} | ${d.posts} | ${ms(d.http.p50)} | ${ms(d.all.p50)} | ${ms(d.all.p99)} | ${
    ms(d.all.max)
  } | ${ms(d.last.p99)} | ${int(d.delivered)}/${int(d.expected)} | ${d.failed} |`;
}

function statsCells(s: Stats): string {
  return `${ms(s.p50)} | ${ms(s.max)}`;
}

function render(o: Options, r: Report): string {
  const lines = [
    `# Media benchmark`,
    ``,
    `Database: ${r.database}. Only 127.0.0.1. ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} ` +
    `logical CPUs; Deno ${Deno.version.deno}.`,
    ``,
    `Photos: ${BIG.width}×${BIG.height} JPEG, quality 90, ${mb(r.big.bytes)} MB (generated in ${
      r.big.seconds.toFixed(1)
    } s); ` +
    `uploads: ${SMALL.width}×${SMALL.height} JPEGs of ${
      r.small.bytes.map(mb).join(", ")
    } MB, one byte of scan ` +
    `data changed per upload.`,
    ``,
    `## 1. Uploads of ~1 MB JPEGs over HTTP (app without the job runner, own process)`,
    ``,
    `| clients | uploads | failed | wall s | uploads/s | MB/s | p50 ms | p99 ms | max ms | RSS before MB | RSS max MB | RSS after MB | peak (VmHWM) MB | peak growth MB |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...r.uploads.map((u) =>
      `| ${u.concurrency} | ${u.uploads} | ${u.failed} | ${u.seconds.toFixed(2)} | ${
        u.perSecond.toFixed(1)
      } | ${u.mbPerSecond.toFixed(1)} | ${ms(u.latency.p50)} | ${ms(u.latency.p99)} | ${
        ms(u.latency.max)
      } | ${u.rssBefore.toFixed(1)} | ${u.rssMax.toFixed(1)} | ${u.rssAfter.toFixed(1)} | ${
        u.hwm.toFixed(1)
      }${u.hwmReset ? "" : " (since start)"} | ${
        (Math.max(u.rssMax, u.hwmReset ? u.hwm : 0) - u.rssBefore).toFixed(1)
      } |`
    ),
    ``,
    `RSS after warm-up (4 uploads): ${
      r.rssStart.toFixed(1)
    } MB. Peak growth = max(sampled RSS, VmHWM after ` +
    `a reset) − RSS before the level; ${o.uploads} MB went through per level, so buffering would show as hundreds ` +
    `of MB.`,
    ``,
    `## 2. Chat delivery while ${o.images} photos of 12 MP are uploaded and processed (main.ts, own process)`,
    ``,
    `${
      r.chat[0]?.subscribers
    } sockets in the room; posts one at a time, ${o.pause} ms apart; latency from just ` +
    `before the POST to the \`message\` event at each socket. "during" = from the first upload to the last image ` +
    `\`ready\`; "rendering only" = the posts after every upload had answered.`,
    ``,
    `| PLAZA_MEDIA_WORKERS | phase | posts | HTTP p50 ms | delivery p50 ms | p99 ms | max ms | last socket p99 ms | delivered | failed |`,
    `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const c of r.chat) {
    lines.push(
      deliveryRow(`${c.workers} | baseline`, c.baseline),
      deliveryRow(`${c.workers} | during`, c.loaded),
      deliveryRow(`${c.workers} | rendering only`, c.rendering),
    );
  }
  lines.push(
    ``,
    `| PLAZA_MEDIA_WORKERS | uploads answered s | all processed s | ready | p50 during / baseline | p99 during / baseline | p50 <= ${DELIVERY_P50} ms | p99 <= ${DELIVERY_P99} ms |`,
    `|---|---:|---:|---:|---:|---:|---|---|`,
    ...r.chat.map((c) =>
      `| ${c.workers} | ${c.uploadsSeconds.toFixed(1)} | ${
        c.loadSeconds.toFixed(1)
      } | ${c.ready}/${c.images} | ${ratio(c.loaded.all.p50, c.baseline.all.p50)} | ${
        ratio(c.loaded.all.p99, c.baseline.all.p99)
      } | ${verdict(c.loaded.all.p50, DELIVERY_P50)} | ${verdict(c.loaded.all.p99, DELIVERY_P99)} |`
    ),
    ``,
    `## 3. Processing one 12 MP JPEG into thumb, medium and full (${o.runs} runs each, in the bench process)`,
    ``,
    `| way | median ms | max ms | bench event loop blocked, median ms | max ms | upload (HTTP, in process) median ms |`,
    `|---|---:|---:|---:|---:|---:|`,
    ...r.processing.map((p) =>
      `| ${p.label} | ${statsCells(p.time)} | ${statsCells(p.lag)} | ${p.upload ? ms(p.upload.p50) : ""} |`
    ),
    ``,
    `| variant | size | bytes |`,
    `|---|---|---:|`,
    ...(r.processing.at(-1)?.outputs ?? []).map((v) =>
      `| ${v.name} | ${v.width}×${v.height} | ${int(v.bytes)} |`
    ),
    ``,
    `Total ${r.totalSeconds.toFixed(1)} s.`,
  );
  return lines.join("\n");
}
