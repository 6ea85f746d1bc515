/**
 * Media benchmark, part 3 (bench/media.ts): chat delivery while large photos are processed. Plaza runs
 * as deployed (main.ts in its own process, jobs runner included, `PLAZA_MEDIA_WORKERS` as given);
 * the clients run in another process (bench/media_chat_clients.ts): sockets of members subscribed to
 * `room:<id>`, posts one at a time, first with nothing else going on, then while `images` uploads of a
 * 12 MP JPEG are uploaded and rendered by the runner's `media-process` jobs.
 */
import { envSchema } from "@/lib/config.ts";
import type { BenchDatabase, BenchUser } from "./chat_data.ts";
import { type Stats, stats } from "./chat_stats.ts";
import { freePort, spawnDeno, stop, waitForOk } from "./proc.ts";

/** Settings of one run. */
export interface ChatLoadOptions {
  workers: number;
  images: number;
  posts: number;
  warmup: number;
  pauseMs: number;
}

/** Delivery figures of a set of posts. */
export interface Delivery {
  posts: number;
  http: Stats;
  all: Stats;
  last: Stats;
  failed: number;
  delivered: number;
  expected: number;
}

/** What one run measured. */
export interface ChatLoadResult {
  workers: number;
  subscribers: number;
  baseline: Delivery;
  /** Every post from the first upload to the last image processed. */
  loaded: Delivery;
  /** Only the posts after every upload had answered (rendering alone). */
  rendering: Delivery;
  images: number;
  ready: number;
  failedImages: number;
  uploadsFailed: number;
  uploadsSeconds: number;
  loadSeconds: number;
}

const root = new URL("../", import.meta.url).pathname;

type Sample = { http: number; status: number; arrivals: number[]; uploading?: boolean };

function delivery(s: Sample[], subscribers: number): Delivery {
  return {
    posts: s.length,
    http: stats(s.map((x) => x.http)),
    all: stats(s.flatMap((x) => x.arrivals)),
    last: stats(s.filter((x) => x.arrivals.length).map((x) => Math.max(...x.arrivals))),
    failed: s.filter((x) => x.status !== 201).length,
    delivered: s.reduce((n, x) => n + x.arrivals.length, 0),
    expected: s.length * subscribers,
  };
}

/** Runs the scenario once; Plaza is stopped before it returns. */
export async function chatLoadScenario(
  bdb: BenchDatabase,
  secret: string,
  people: { subscribers: BenchUser[]; posters: BenchUser[]; uploaders: BenchUser[]; roomId: string },
  imageFile: string,
  o: ChatLoadOptions,
  tmp: string,
  progress: (m: string) => void,
): Promise<ChatLoadResult> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, ""]));
  progress(`starting Plaza (main.ts, PLAZA_MEDIA_WORKERS=${o.workers}) in its own process...`);
  const server = spawnDeno("plaza", ["run", "-A", "main.ts"], {
    ...env,
    PORT: String(port),
    PLAZA_DATA_DIR: bdb.dataDir,
    PLAZA_SECRET: secret,
    LOG_LEVEL: "warn",
    PLAZA_SEED: "never",
    DATABASE_URL: bdb.databaseUrl,
    PLAZA_MEDIA_WORKERS: String(o.workers),
  }, root);
  try {
    await waitForOk(server, `${url}/health`, 120_000);
    const anonKey = (await (await fetch(`${url}/api/v1/client-config`)).json()).supabaseAnonKey;
    const settingsFile = `${tmp}/media_clients_${o.workers}.json`;
    await Deno.writeTextFile(
      settingsFile,
      JSON.stringify({
        url,
        anonKey,
        roomId: people.roomId,
        subscribers: people.subscribers,
        posters: people.posters,
        uploaders: people.uploaders,
        imageFile,
        images: o.images,
        posts: o.posts,
        warmup: o.warmup,
        pauseMs: o.pauseMs,
        timeoutMs: 5_000,
        loadTimeoutMs: 90_000,
      }),
    );
    progress(
      `${people.subscribers.length} sockets; ${o.warmup} + ${o.posts} baseline posts, then posts while ${o.images} ` +
        `12 MP uploads are processed...`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "bench/media_chat_clients.ts", settingsFile],
      cwd: root,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 150_000);
    let out: Deno.CommandOutput;
    try {
      out = await child.output();
    } finally {
      clearTimeout(timer);
    }
    if (!out.success) throw new Error(`bench/media_chat_clients.ts exited with code ${out.code}`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as {
      baseline: Sample[];
      loaded: Sample[];
      loadMs: number;
      uploadsMs: number;
      uploadsFailed: number;
      ready: number;
      failedImages: number;
    };
    const n = people.subscribers.length;
    return {
      workers: o.workers,
      subscribers: n,
      baseline: delivery(r.baseline, n),
      loaded: delivery(r.loaded, n),
      rendering: delivery(r.loaded.filter((s) => !s.uploading), n),
      images: o.images,
      ready: r.ready,
      failedImages: r.failedImages,
      uploadsFailed: r.uploadsFailed,
      uploadsSeconds: r.uploadsMs / 1000,
      loadSeconds: r.loadMs / 1000,
    };
  } finally {
    await stop(server, 15_000);
  }
}
