/**
 * Analytics benchmark, parts 2 and 3 (bench/analytics.ts), against Plaza in its own process:
 * the seeding of `--days` (365) days of rollups and of the admin, sign-in, the dashboard page and
 * JSON summary per section (sequential requests: p50/p95/p99, requests/s), and the CSV export of a
 * saved report streamed chunk by chunk (rows/s, MB/s, the server's RSS sampled every 100 ms), plus a
 * slow reader that pauses between chunks and then cancels.
 */
import type { Db } from "@/lib/db/port.ts";
import { hashPassword } from "@/lib/auth/password.ts";
import { type Stats, stats } from "./chat_stats.ts";
import { memory, sleep } from "./proc.ts";

const SCALARS: [string, string][] = [
  ["active_users", "300 + i % 50"],
  ["wau", "900 + i % 70"],
  ["mau", "2000 + i % 100"],
  ["registrations", "10 + i % 7"],
  ["sign_ins", "200 + i % 40"],
  ["messages", "5000 + (i * 37) % 900"],
  ["rsvps", "300 + i % 60"],
  ["rsvps_going", "150 + i % 30"],
  ["checkins", "40 + i % 20"],
  ["uploads", "120 + i % 30"],
  ["upload_bytes", "(120 + i % 30) * 250000"],
  ["orders_created", "80 + i % 25"],
  ["deliveries", "70 + i % 20"],
  ["delivery_seconds", "(70 + i % 20) * 1800"],
  ["page_views", "20000 + (i * 53) % 5000"],
  ["visitors", "3000 + i % 500"],
];
const STATUSES = [
  "requested",
  "assigned",
  "en_route_pickup",
  "picked_up",
  "en_route_dropoff",
  "delivered",
  "cancelled",
];

/**
 * Fills `analytics.daily_metrics` with `days` days ending `to`: every scalar metric, and keyed
 * room_messages (200 rooms), event_rsvps and event_checkins (100 events), event_going/attended (one
 * event per day), uploads_kind, order_status and page_path (50 paths). Keys are ids without rows
 * (the tables then show ids instead of names). Returns the rows written.
 */
export async function seedDailyMetrics(db: Db, to: string, days: number): Promise<number> {
  const values = SCALARS.map(([m, e]) => `('${m}', (${e})::float8)`).join(", ");
  const keyed = (metric: string, n: number, key: string, value: string) =>
    `select d, '${metric}', ${key}, (${value})::float8 from days cross join generate_series(1, ${n}) k`;
  await db.query(
    `with days as (
       select d::date as d, extract(doy from d)::int as i
       from generate_series($1::date - ($2::int - 1), $1::date, interval '1 day') d)
     insert into analytics.daily_metrics (day, metric, key, value)
     select d, m.metric, '', m.value from days cross join lateral (values ${values}) as m (metric, value)
     union all ${keyed("room_messages", 200, "md5('room-' || k)::uuid::text", "1 + (k * i) % 60")}
     union all ${keyed("event_rsvps", 100, "md5('event-' || k)::uuid::text", "1 + (k + i) % 12")}
     union all ${keyed("event_checkins", 100, "md5('event-' || k)::uuid::text", "(k + i) % 4")}
     union all ${keyed("event_going", 1, "md5('day-event-' || d)::uuid::text", "20 + i % 30")}
     union all ${keyed("event_attended", 1, "md5('day-event-' || d)::uuid::text", "10 + i % 20")}
     union all ${
      keyed(
        "uploads_kind",
        3,
        "(array['image', 'pdf', 'video'])[k]",
        "case k when 1 then 100 when 2 then 15 else 5 end",
      )
    }
     union all ${
      keyed("order_status", STATUSES.length, `(array['${STATUSES.join("', '")}'])[k]`, "10 + (k * i) % 70")
    }
     union all ${keyed("page_path", 50, "'/p/' || k", "100 + (k * 97 + i) % 900")}`,
    [to, days],
  );
  await db.exec("analyze analytics.daily_metrics");
  const [row] = await db.query<{ n: number }>("select count(*)::int as n from analytics.daily_metrics");
  return row.n;
}

/** Inserts a confirmed admin account with a password (signs in through the API later). */
export async function createAdmin(db: Db, email: string, password: string): Promise<void> {
  await db.query(
    `insert into auth.users (email, encrypted_password, raw_app_meta_data, raw_user_meta_data, email_confirmed_at)
     values ($1, $2, '{"provider":"email","providers":["email"],"role":"admin"}'::jsonb,
       '{"name":"Bench Admin"}'::jsonb, now())`,
    [email, await hashPassword(password)],
  );
}

/** Signs in through `POST /api/v1/auth/login`: the Cookie header of the session and the access token. */
export async function signIn(
  base: string,
  email: string,
  password: string,
): Promise<{ cookie: string; token: string }> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`sign-in failed: HTTP ${res.status} ${body.slice(0, 300)}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0])
    .filter((c) => c.startsWith("plaza_at=") || c.startsWith("plaza_rt=")).join("; ");
  if (!cookie.includes("plaza_at=")) throw new Error("sign-in set no session cookie");
  return { cookie, token: JSON.parse(body).session.access_token };
}

/** One dashboard URL measured with sequential requests. */
export interface PageMeasured extends Stats {
  label: string;
  perSecond: number;
  errors: number;
  firstError?: string;
  meanBytes: number;
}

/** `count` requests of `url` one after the other (after `warmup`); `check` validates the first body. */
export async function sequential(
  label: string,
  url: string,
  headers: Record<string, string>,
  count: number,
  warmup: number,
  check: (body: string) => string | undefined,
): Promise<PageMeasured> {
  const samples: number[] = [];
  let errors = 0, bytes = 0;
  let firstError: string | undefined;
  let began = 0;
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) began = performance.now();
    const t = performance.now();
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
    const body = await res.text();
    const elapsed = performance.now() - t;
    const problem = res.status !== 200
      ? `HTTP ${res.status} ${body.slice(0, 200)}`
      : i === 0
      ? check(body)
      : undefined;
    if (problem) {
      errors++;
      firstError ??= problem;
    }
    if (i < warmup) continue;
    samples.push(elapsed);
    bytes += body.length;
  }
  const wall = (performance.now() - began) / 1000;
  return { label, ...stats(samples), perSecond: count / wall, errors, firstError, meanBytes: bytes / count };
}

/** RSS of `pid` sampled every `everyMs` until `stop()`; before = the caller's baseline. */
function sampleRss(pid: number, everyMs = 100) {
  let running = true, peak = 0, samples = 0;
  const done = (async () => {
    while (running) {
      const m = await memory(pid);
      if (m) {
        peak = Math.max(peak, m.rssMb);
        samples++;
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { peakMb: peak, samples };
    },
  };
}

/** Median RSS of a few samples, in MB. */
export async function rssNow(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    xs.push((await memory(pid))?.rssMb ?? NaN);
    await sleep(100);
  }
  return xs.sort((a, b) => a - b)[1];
}

/** A request of `url` issued `afterMs` into an export: how long it took (or that it timed out). */
async function probe(url: string, headers: Record<string, string>, afterMs: number, timeoutMs: number) {
  await sleep(afterMs);
  const t = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { ms: performance.now() - t, status: res.status, at: performance.now() };
  } catch {
    return { ms: performance.now() - t, status: 0, at: performance.now() };
  }
}

/** A CSV export as the client saw it. */
export interface CsvMeasured {
  status: number;
  bytes: number;
  lines: number;
  firstByteMs: number;
  seconds: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssSamples: number;
  /** The stream ended with an error (or was cancelled by the slow reader). */
  error?: string;
  /** Header and the first lines looked right (quoting, formula prefix). */
  contentOk: boolean;
  head: string;
  /** A 30-day summary request made 1 s into the export: its latency, and whether it finished before the export did. */
  probeMs: number;
  probeStatus: number;
  probeBeforeEnd: boolean;
}

/**
 * Streams `url` (a report's run.csv), counting bytes and newlines without keeping the body. With
 * `slow`, reads one chunk every `slow.pauseMs` for `slow.seconds`, then cancels.
 */
export async function csvExport(
  url: string,
  headers: Record<string, string>,
  pid: number,
  probeUrl: string,
  slow?: { pauseMs: number; seconds: number },
): Promise<CsvMeasured> {
  const rssBeforeMb = await rssNow(pid);
  const sampler = sampleRss(pid);
  const t = performance.now();
  const probing = probe(probeUrl, headers, 1000, 120_000);
  const res = await fetch(url, { headers });
  const firstByteMs = performance.now() - t;
  let bytes = 0, lines = 0, head = "", error: string | undefined;
  const decoder = new TextDecoder();
  if (res.body) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        for (let i = value.indexOf(10); i !== -1; i = value.indexOf(10, i + 1)) lines++;
        if (head.length < 600) head += decoder.decode(value.subarray(0, 600));
        if (slow) {
          if (performance.now() - t > slow.seconds * 1000) {
            await reader.cancel();
            error = "cancelled by the reader";
            break;
          }
          await sleep(slow.pauseMs);
        }
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
  }
  const end = performance.now();
  const seconds = (end - t) / 1000;
  const { peakMb, samples } = await sampler.stop();
  const p = await probing;
  const headLines = head.split("\r\n");
  const contentOk = res.status === 200 && headLines[0] === "n,h,at,tricky" &&
    /^1,[0-9a-f]{32},2026-01-01T00:00:01\.000Z,"x,y"$/.test(headLines[1] ?? "") &&
    (headLines.length < 9 || /,'=cmd$/.test(headLines[7]));
  return {
    status: res.status,
    bytes,
    lines,
    firstByteMs,
    seconds,
    rssBeforeMb,
    rssPeakMb: peakMb,
    rssSamples: samples,
    error,
    contentOk,
    head: headLines.slice(0, 3).join(" | "),
    probeMs: p.ms,
    probeStatus: p.status,
    probeBeforeEnd: p.at < end,
  };
}
