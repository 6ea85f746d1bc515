/**
 * The platform: every adapter chosen once from the validated config. Routes, workers and tests
 * receive this object; nothing else reads the environment.
 */
import { localAuth } from "./auth/service.ts";
import { supabaseAuth } from "./auth/supabase.ts";
import type { AuthProvider } from "./auth/service.ts";
import { hmacKey } from "./auth/jwt.ts";
import type { Config } from "./config.ts";
import { migrate } from "./db/migrate.ts";
import { openDb } from "./db/mod.ts";
import type { Db } from "./db/port.ts";
import { createRateLimiter, type RateLimiter } from "./kv/rate_limit.ts";
import { openKv } from "./kv/mod.ts";
import type { Kv } from "./kv/port.ts";
import { createLogger, type Logger } from "./log.ts";
import { resolveSecret } from "./secret.ts";
import { LocationIngest } from "./location/ingest.ts";
import { PageViews } from "./analytics/pageviews.ts";
import { flushOrderOutbox } from "./orders/outbox.ts";
import { localPublisher, type Publisher, restPublisher } from "./realtime/publisher.ts";
import { createRealtimeServer, type RealtimeServer } from "./realtime/server.ts";
import { mintApiKeys } from "./realtime/tokens.ts";
import { type SigningKeys, signingKeys } from "./jobs/signature.ts";
import { openJobs } from "./jobs/mod.ts";
import type { Jobs } from "./jobs/port.ts";
import type { VapidKeys } from "./notify/push.ts";
import { loadVapidKeys } from "./notify/web_push.ts";
import { createMediaFunction } from "./media/function.ts";
import { createImagePool, type ImagePool } from "./media/image_pool.ts";
import { openStorage } from "./storage/mod.ts";
import type { Storage } from "./storage/port.ts";

/** Edge functions (supabase/functions/*): in process in embedded mode, on Supabase in cloud mode. */
export interface Functions {
  /** Calls function `name` with a JSON body and the service role key. */
  invoke(name: "media", body: unknown): Promise<Response>;
  /** The in-process handler the app mounts at /functions/v1/<name> (embedded mode only). */
  handler(name: string): ((req: Request) => Promise<Response>) | undefined;
}

/** Everything a request handler may use. */
export interface Platform {
  config: Config;
  log: Logger;
  db: Db;
  kv: Kv;
  limiter: RateLimiter;
  auth: AuthProvider;
  /** HMAC key derived from PLAZA_SECRET, for cookies and signed values other than JWTs. */
  signingKey: CryptoKey;
  /** HMAC key derived from PLAZA_SECRET that signs media URLs only. */
  mediaKey: CryptoKey;
  /** HMAC key derived from PLAZA_SECRET that signs order share links only. */
  shareKey: CryptoKey;
  /** Partners' location fixes: the group-commit buffer of this process (lib/location/ingest.ts). */
  locations: LocationIngest;
  /** Cookie-free page views, buffered and written in batches (lib/analytics/pageviews.ts). */
  pageViews: PageViews;
  /** The API keys browsers and servers use for realtime (Supabase's in cloud mode). */
  apiKeys: { anonKey: string; serviceRoleKey: string };
  /** Where browsers find realtime: Plaza itself (embedded) or Supabase. */
  realtimeUrl: string | undefined;
  /** Plaza's own realtime server (serves sockets in both modes; browsers use Supabase's in cloud mode). */
  realtime: RealtimeServer;
  /** Server-side broadcasts to topics. */
  publisher: Publisher;
  /** Keys that sign calls to /workers/* (QStash's, or derived from PLAZA_SECRET). */
  workerKeys: SigningKeys;
  /** Deferred work: the embedded queue, or QStash in cloud mode. */
  jobs: Jobs;
  /** Uploaded files and their variants: a local directory, or Supabase Storage. */
  storage: Storage;
  /** Edge functions (media processing). */
  functions: Functions;
  /** The VAPID key pair for web push (configured, or generated once and stored). */
  vapid(): Promise<VapidKeys>;
  close(): Promise<void>;
}

/** Adapters a caller (a test) supplies instead of the configured ones. */
export interface PlatformOverrides {
  db?: Db;
  kv?: Kv;
  log?: Logger;
  storage?: Storage;
}

/** Opens the database (and migrates it), the KV store and auth, as the config says. */
export async function createPlatform(config: Config, overrides: PlatformOverrides = {}): Promise<Platform> {
  const log = overrides.log ?? createLogger(config.logLevel);
  const secret = await resolveSecret(config.secret, config.dataDir);
  const db = overrides.db ?? await openDb(config);
  const applied = await migrate(db);
  if (applied.length) log.info("migrations applied", { applied });
  const kv = overrides.kv ?? openKv(config);
  const jwtKey = await hmacKey(config.supabase?.jwtSecret ?? secret);
  const signingKey = await hmacKey(`${secret}:cookies`);
  const mediaKey = await hmacKey(`${secret}:media`);
  const shareKey = await hmacKey(`${secret}:order-share`);
  const apiKeys = config.supabase
    ? { anonKey: config.supabase.anonKey, serviceRoleKey: config.supabase.serviceRoleKey }
    : await mintApiKeys(jwtKey);
  const realtime = await createRealtimeServer({
    db,
    jwtKey,
    log,
    limits: { maxPayloadBytes: config.realtimeMaxPayloadBytes },
  });
  let vapid: Promise<VapidKeys> | undefined;
  const storage = overrides.storage ?? openStorage(config);
  let pool: ImagePool | undefined;
  const media = createMediaFunction({
    storage,
    serviceKey: apiKeys.serviceRoleKey,
    pool: {
      render: (...args) =>
        (pool ??= createImagePool({
          size: Math.max(1, config.media.workers),
          inline: config.media.workers === 0,
        }))
          .render(...args),
      get pending() {
        return pool?.pending ?? 0;
      },
      close: () => pool?.close(),
    },
    maxPixels: config.media.maxPixels,
  });
  const functions: Functions = config.supabase
    ? {
      invoke: (name, body) =>
        fetch(`${config.supabase!.url}/functions/v1/${name}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${apiKeys.serviceRoleKey}`,
            "content-type": "application/json",
          },
          body: JSON.stringify(body),
        }),
      handler: () => undefined,
    }
    : {
      invoke: (name, body) =>
        media(
          new Request(`http://plaza.internal/functions/v1/${name}`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${apiKeys.serviceRoleKey}`,
              "content-type": "application/json",
            },
            body: JSON.stringify(body),
          }),
        ),
      handler: (name) => name === "media" ? media : undefined,
    };
  const publisher = config.supabase
    ? restPublisher(config.supabase.url, config.supabase.serviceRoleKey)
    : localPublisher(realtime);
  const jobs = openJobs(config, db);
  const locations = new LocationIngest({
    db,
    log,
    publisher,
    onArrival: () => flushOrderOutbox({ db, publisher, jobs, log }),
  });
  const pageViews = new PageViews({ db, log });
  return {
    config,
    log,
    db,
    kv,
    pageViews,
    limiter: createRateLimiter(kv, log),
    auth: config.supabase
      ? supabaseAuth({ ...config.supabase, jwtKey, adminEmails: config.adminEmails })
      : localAuth({ db, key: jwtKey, adminEmails: config.adminEmails }),
    signingKey,
    mediaKey,
    shareKey,
    locations,
    apiKeys,
    realtimeUrl: config.supabase?.url,
    realtime,
    publisher,
    workerKeys: await signingKeys(config.qstash, secret),
    jobs,
    storage,
    functions,
    vapid: () =>
      vapid ??= loadVapidKeys(db, config).catch((err) => {
        vapid = undefined;
        throw err;
      }),
    async close() {
      await locations.close();
      await pageViews.close();
      pool?.close();
      await realtime.close();
      await kv.close();
      await db.close();
    },
  };
}
