/**
 * Chat benchmark, part 1 (bench/chat.ts): post -> delivery. Plaza runs as its own process (main.ts,
 * as deployed: jobs runner included) on the bench database; the clients run in another process
 * (bench/chat_clients.ts): 50 supabase-js sockets of members subscribed to the private channel
 * `room:<id>` of a room of 51 members, and members posting over HTTP one message at a time.
 */
import { envSchema } from "@/lib/config.ts";
import type { BenchDatabase, BenchUser } from "./chat_data.ts";
import { createRoom, createUsers } from "./chat_data.ts";
import { freePort, spawnDeno, stop, waitForOk } from "./proc.ts";
import { type Stats, stats } from "./chat_stats.ts";
import { cpuMeter, type CpuUse } from "./chat_cpu.ts";

/** Settings of the delivery scenario. */
export interface DeliveryOptions {
  posts: number;
  warmup: number;
  pauseMs: number;
  pings: number;
}

/** What the delivery scenario measured. */
export interface DeliveryResult {
  members: number;
  subscribers: number;
  posters: number;
  subscribeMs: number;
  /** HTTP response time of the posts. */
  http: Stats;
  /** Every delivery: post sent -> `message` event at a socket. */
  all: Stats;
  /** Per post, the first and the last of the sockets to get it. */
  first: Stats;
  last: Stats;
  /** HTTP statuses other than 201. */
  failed: number;
  delivered: number;
  expected: number;
  /**
   * The same per phase: 1, the owner has never read the room (last_read_id 0, as created); 2, after
   * the owner read it, every read position is recent.
   */
  phases: { http: Stats; all: Stats; first: Stats; last: Stats }[];
  /** Baselines: a client broadcast to the same sockets, and GET /health. */
  ping: Stats;
  pingLast: Stats;
  health: Stats;
  /** Cores used while the clients ran: Plaza, the clients and the bench (and Postgres backends), and the rest. */
  cpu?: CpuUse;
}

const root = new URL("../", import.meta.url).pathname;

/** Plaza's environment: every variable it reads blanked, then the bench's own settings. */
function plazaEnv(
  bdb: BenchDatabase,
  port: number,
  secret: string,
): Record<string, string> {
  const env: Record<string, string> = Object.fromEntries(
    Object.keys(envSchema.shape).map((k) => [k, ""]),
  );
  return {
    ...env,
    PORT: String(port),
    PLAZA_DATA_DIR: bdb.dataDir,
    PLAZA_SECRET: secret,
    LOG_LEVEL: "warn",
    PLAZA_SEED: "never",
    DATABASE_URL: bdb.databaseUrl,
  };
}

/** Runs `deno run -A <script> <args>` and returns its stdout; killed after `timeoutMs`. */
async function runScript(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
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
  }, timeoutMs);
  try {
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    if (!out.success) throw new Error(`${script} exited with code ${out.code}`);
    return stdout;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the scenario; Plaza is stopped before it returns. */
export async function deliveryScenario(
  bdb: BenchDatabase,
  secret: string,
  o: DeliveryOptions,
  tmp: string,
  progress: (m: string) => void,
): Promise<DeliveryResult> {
  const db = await bdb.open();
  let users: BenchUser[];
  let roomId: string;
  try {
    users = await createUsers(db, secret, "member", 51);
    roomId = await createRoom(
      db,
      "Delivery",
      users[0].id,
      users.map((u) => u.id),
    );
  } finally {
    await db.close();
  }
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  progress("starting Plaza (main.ts) in its own process...");
  const server = spawnDeno(
    "plaza",
    ["run", "-A", "main.ts"],
    plazaEnv(bdb, port, secret),
    root,
  );
  try {
    await waitForOk(server, `${url}/health`, 120_000);
    const anonKey = (await (await fetch(`${url}/api/v1/client-config`)).json())
      .supabaseAnonKey;
    const [pinger, ...subscribers] = users;
    const settingsFile = `${tmp}/chat_clients.json`;
    await Deno.writeTextFile(
      settingsFile,
      JSON.stringify({
        url,
        anonKey,
        roomId,
        subscribers,
        // Everyone posts in turn: 60 posts a minute per person is the limit (chatRules.post).
        posters: users,
        pinger,
        posts: o.posts,
        warmup: o.warmup,
        pauseMs: o.pauseMs,
        pings: o.pings,
        timeoutMs: 3000,
      }),
    );
    progress(
      `${subscribers.length} sockets subscribing, then ${o.warmup} + ${o.posts} posts...`,
    );
    const meter = cpuMeter(bdb.name);
    const out = await runScript(
      "bench/chat_clients.ts",
      [settingsFile],
      150_000,
    );
    type Sample = { http: number; status: number; arrivals: number[] };
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as {
      subscribeMs: number;
      phases: Sample[][];
      pings: number[][];
      health: number[];
      cpuSeconds: number;
    };
    const cpu = meter(r.cpuSeconds);
    const samples = r.phases.flat();
    const part = (s: Sample[]) => ({
      http: stats(s.map((x) => x.http)),
      all: stats(s.flatMap((x) => x.arrivals)),
      first: stats(
        s.filter((x) => x.arrivals.length).map((x) => Math.min(...x.arrivals)),
      ),
      last: stats(
        s.filter((x) => x.arrivals.length).map((x) => Math.max(...x.arrivals)),
      ),
    });
    return {
      members: users.length,
      subscribers: subscribers.length,
      posters: users.length,
      subscribeMs: r.subscribeMs,
      ...part(samples),
      phases: r.phases.map(part),
      failed: samples.filter((s) => s.status !== 201).length,
      delivered: samples.reduce((n, s) => n + s.arrivals.length, 0),
      expected: samples.length * subscribers.length,
      ping: stats(r.pings.flat()),
      pingLast: stats(
        r.pings.filter((p) => p.length).map((p) => Math.max(...p)),
      ),
      health: stats(r.health),
      cpu,
    };
  } finally {
    await stop(server, 15_000);
  }
}
