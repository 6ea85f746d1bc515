/**
 * Composition root: config -> platform (database, KV, auth) -> app -> Deno.serve, with demo data on
 * an empty embedded database and a graceful stop on SIGINT/SIGTERM.
 */
import { ConfigError, loadConfig } from "@/lib/config.ts";
import { createPlatform } from "@/lib/platform.ts";
import { ensureBucket } from "@/lib/storage/mod.ts";
import { describeDemo, isEmpty, seedDemo } from "@/lib/seed.ts";
import { createRunner, type Runner } from "@/lib/jobs/runner.ts";
import { createApp } from "@/routes/app.ts";
import { startLiveCounters } from "@/lib/analytics/live.ts";
import { schedules, workerHandlers } from "@/workers/mod.ts";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    Deno.exit(78);
  }
  throw err;
}

const started = performance.now();
const DRAIN_TIMEOUT_MS = 10_000;

// Signals are handled from the first moment: a stop during start-up waits for the database to be
// opened (PGlite must not be killed mid-write), then closes it; a second signal exits at once.
let platform: Awaited<ReturnType<typeof createPlatform>> | undefined;
let server: Deno.HttpServer | undefined = undefined;
let runner: Runner | undefined = undefined;
let stopLive: (() => Promise<void>) | undefined = undefined;
let stopping = false;
async function stop(signal: string) {
  if (stopping) {
    console.error(`Second ${signal}: exiting without waiting.`);
    Deno.exit(130);
  }
  stopping = true;
  platform?.log.info("stopping", { signal });
  if (server) {
    // Stop accepting, let in-flight requests finish (bounded), then close the database cleanly.
    const drained = await Promise.race([
      server.shutdown().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), DRAIN_TIMEOUT_MS)),
    ]);
    if (!drained) {
      platform?.log.warn("requests still running after the drain timeout", { ms: DRAIN_TIMEOUT_MS });
    }
  }
  await ready;
  await stopLive?.();
  await runner?.stop(); // running jobs finish first
  await platform?.close();
  platform?.log.info("stopped");
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stop(signal));

const ready = (async () => {
  platform = await createPlatform(config);
  // Cloud mode keeps uploads in a private Supabase Storage bucket: create it on first start.
  if (config.supabase) {
    const { url, serviceRoleKey } = config.supabase;
    await ensureBucket({ url, serviceRoleKey, bucket: config.media.bucket }).catch((err) =>
      platform!.log.warn("could not create the storage bucket", {
        bucket: config.media.bucket,
        err: String(err),
      })
    );
  }
  // Demo accounts only for the embedded database: a shared Postgres never gets a known admin.
  if (config.seed === "auto" && !config.databaseUrl && !config.supabase && await isEmpty(platform.db)) {
    const created = await seedDemo(platform.db, platform.auth, config.dataDir);
    if (created.length) console.log(describeDemo(created));
  }
})();
await ready;
if (stopping) await new Promise(() => {}); // stop() finishes the shutdown and exits
const { log } = platform!;
const handlers = workerHandlers(platform!);
const app = await createApp(platform!, { workers: handlers });
// Schedules go to the jobs adapter (the embedded table, or QStash schedules in cloud mode). The
// embedded runner runs only when this process owns the queue; with QStash, QStash calls /workers/*.
for (const s of schedules) await platform!.jobs.schedule(s.name, s.cron, { timezone: s.timezone });
if (platform!.jobs.kind === "embedded") {
  runner = createRunner({ db: platform!.db, log: log.child({ module: "jobs" }), handlers, concurrency: 8 });
  await runner.start();
}
// Live counters for the admin dashboard (`admin:live`), from every process.
stopLive = startLiveCounters({ db: platform!.db, publisher: platform!.publisher, log });

server = Deno.serve({
  port: config.port,
  onListen: ({ hostname, port }) => {
    const host = hostname === "0.0.0.0" ? "localhost" : hostname;
    const url = `http://${host}:${port}`;
    console.log(`Plaza listening on ${url} (${config.databaseUrl ? "Postgres" : "embedded PGlite"})`);
    log.info("listening", {
      url,
      mode: config.databaseUrl ? "postgres" : "embedded",
      startup_ms: Math.round(performance.now() - started),
    });
  },
}, app.fetch);
await server.finished;
