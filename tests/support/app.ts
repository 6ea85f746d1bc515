/**
 * A Plaza app on a fresh database for one test: platform, Hono app, and helpers to call it like a
 * browser (cookies, Origin) or an API client (bearer token).
 */
import { loadConfig } from "@/lib/config.ts";
import { buildIslands, type IslandBundles } from "@/lib/islands/build.ts";
import { memoryKv } from "@/lib/kv/memory.ts";
import type { Kv } from "@/lib/kv/port.ts";
import { redisKv } from "@/lib/kv/redis.ts";
import { createLogger } from "@/lib/log.ts";
import { createPlatform, type Platform } from "@/lib/platform.ts";
import type { Storage } from "@/lib/storage/port.ts";
import { type App, createApp } from "@/routes/app.ts";
import { freshDb, type TestDb } from "./db.ts";

/** The Redis server the suites also run against, when set. */
export const REDIS_URL = Deno.env.get("REDIS_URL") || undefined;

/** The origin tests pretend to be served from. */
export const ORIGIN = "http://localhost";

let islands: Promise<IslandBundles> | undefined;
/** Island bundles, built once per test process. */
export function testIslands(): Promise<IslandBundles> {
  islands ??= buildIslands(".test-data/bundles");
  return islands;
}

/** What a test gets. */
export interface TestContext {
  app: App;
  platform: Platform;
  testDb: TestDb;
  /** Calls the app from a given client IP (default 203.0.113.1). */
  request(path: string, init?: RequestInit & { ip?: string }): Promise<Response>;
}

/** Options for {@link withApp}. */
export interface TestAppOptions {
  env?: Record<string, string>;
  kv?: Kv;
  /** Storage instead of the configured one (e.g. Supabase Storage against a fake). */
  storage?: Storage;
}

/** Builds a fresh Plaza, runs `fn`, and tears everything down. */
export async function withApp<T>(
  fn: (t: TestContext) => Promise<T>,
  options: TestAppOptions = {},
): Promise<T> {
  const dataDir = await Deno.makeTempDir({ prefix: "plaza-test-" });
  const testDb = await freshDb();
  const kv = options.kv ??
    (REDIS_URL ? redisKv(REDIS_URL, `plaza-test:${crypto.randomUUID()}:`) : memoryKv());
  const config = loadConfig({
    PLAZA_DATA_DIR: dataDir,
    LOG_LEVEL: "error",
    PLAZA_SECRET: "test-secret-test-secret-test-secret-0123456789",
    PLAZA_MAP_TILES: "none", // tests never fetch map tiles from the internet
    ...options.env,
  });
  const platform = await createPlatform(config, {
    db: testDb.db,
    kv,
    log: createLogger("error"),
    storage: options.storage,
  });
  const app = await createApp(platform, { islands: await testIslands() });
  const request = (path: string, init: RequestInit & { ip?: string } = {}) => {
    const { ip = "203.0.113.1", ...rest } = init;
    return Promise.resolve(
      app.fetch(new Request(new URL(path, ORIGIN), rest), { remoteAddr: { hostname: ip } }),
    );
  };
  try {
    return await fn({ app, platform, testDb, request });
  } finally {
    await platform.locations.close(); // pending location batches and arrival notifications
    await kv.close();
    await testDb.drop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** `Deno.test` with a fresh Plaza; resource sanitizers off (pools and WASM outlive a tick). */
export function appTest(name: string, fn: (t: TestContext) => Promise<void>, options: TestAppOptions = {}) {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn: () => withApp(fn, options) });
}
