/**
 * Composition root: config -> platform (database, KV, auth) -> app -> Deno.serve, with demo data on
 * an empty embedded database and a graceful stop on SIGINT/SIGTERM.
 */
import { ConfigError, loadConfig } from "@/lib/config.ts";
import { createPlatform } from "@/lib/platform.ts";
import { describeDemo, isEmpty, seedDemo } from "@/lib/seed.ts";
import { createApp } from "@/routes/app.ts";

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
const platform = await createPlatform(config);
const { log } = platform;
if (config.seed === "auto" && await isEmpty(platform.db)) {
  const created = await seedDemo(platform.db, platform.auth, config.dataDir);
  if (created.length) console.log(describeDemo(created));
}
const app = await createApp(platform);

const abort = new AbortController();
const server = Deno.serve({
  port: config.port,
  signal: abort.signal,
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

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { signal });
  // Stops accepting, lets in-flight requests finish, then closes the database cleanly.
  await server.shutdown();
  await platform.close();
  log.info("stopped");
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stop(signal));
await server.finished;
