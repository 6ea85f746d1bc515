/**
 * The client side of the orders benchmark (bench/orders.ts), run as its own process: a share of the
 * orders, with for each order its partner (who POSTs fixes over HTTP) and its watchers (a socket
 * each, joined to the private channel `order:<id>` with the watcher's access token). Partner and
 * watchers of an order live in the same process, so fix-to-watcher latency is measured on one
 * clock: from just before the POST that carries a fix to the `location` broadcast with that fix at
 * each watcher's socket.
 *
 * The watchers speak the Supabase Realtime protocol (vsn 2.0.0 text frames) directly, as
 * bench/realtime_clients.ts does: a supabase-js client per socket (bench/chat_sockets.ts) costs too
 * much memory and CPU at 1,000 sockets on the machine the server runs on.
 *
 * Protocol with bench/orders.ts: settings from the JSON file named by the first argument; prints
 * `{"ready": …}` once every socket has joined, then waits for a line `go <epoch ms>` on stdin (the
 * common start, so the partners of all processes are spread evenly over each period), runs, and
 * prints one JSON line of results.
 */
import { sleep } from "./proc.ts";

interface Settings {
  url: string;
  /** ws://…/realtime/v1/websocket?apikey=…&vsn=2.0.0 */
  wsUrl: string;
  orders: {
    id: string;
    partnerToken: string;
    /** Index among all orders of the run (spreads the partners over the period). */
    index: number;
    start: { lat: number; lng: number };
    watcherTokens: string[];
  }[];
  totalOrders: number;
  /** Requests per second per partner. */
  rate: number;
  /** Fixes per request. */
  batch: number;
  seconds: number;
  warmupSeconds: number;
  /** Requests in flight at most, for this process; a partner's turn is skipped when they are all busy. */
  maxInFlight: number;
  /** How long to wait for the last deliveries after the last response (ms). */
  drainMs: number;
  /** Width of a window of the time series (s). */
  windowSeconds: number;
}

const settings: Settings = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const progress = (m: string) => console.error(`[bench:orders clients ${Deno.pid}] ${m}`);
const r2 = (x: number) => Math.round(x * 100) / 100;

/** A fix sent and not yet seen by every watcher: when it was sent, and whether it is measured. */
interface Sent {
  t0: number;
  window: number;
  seen: number;
}
const sent = new Map<string, Sent>();
const watchersPerOrder = settings.orders[0]?.watcherTokens.length ?? 0;

/** Per window of the time series: latencies (ms). Window -1 is the warm-up (not measured). */
const deliveries: number[][] = [];
const http: number[][] = [];
let delivered = 0;
let deliveredWarmup = 0;
let unmatched = 0;
let socketErrors = 0;
let socketCloses = 0;
let stopping = false;

function record(into: number[][], window: number, value: number) {
  (into[window] ??= []).push(r2(value));
}

function onFrame(data: unknown) {
  if (typeof data !== "string" || !data.includes('"location"')) return;
  const now = performance.now();
  let f: [
    unknown,
    unknown,
    string,
    string,
    { event?: string; payload?: { order_id: string; fixes: { recorded_at: string }[] } },
  ];
  try {
    f = JSON.parse(data);
  } catch {
    return;
  }
  const body = f[4];
  if (f[3] !== "broadcast" || body?.event !== "location" || !body.payload) return;
  for (const fix of body.payload.fixes) {
    const key = `${body.payload.order_id}|${Date.parse(fix.recorded_at)}`;
    const s = sent.get(key);
    if (!s) {
      unmatched++;
      continue;
    }
    if (s.window >= 0) {
      delivered++;
      record(deliveries, s.window, now - s.t0);
    } else deliveredWarmup++;
    if (++s.seen >= watchersPerOrder) sent.delete(key);
  }
}

/** Opens a socket and joins `order:<orderId>` with `token`; rejects after 15 s or on an error reply. */
function watch(orderId: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(settings.wsUrl);
    const timer = setTimeout(() => reject(new Error(`joining order:${orderId} timed out`)), 15_000);
    ws.onerror = () => {
      socketErrors++;
      clearTimeout(timer);
      reject(new Error(`socket for order:${orderId} failed`));
    };
    ws.onclose = () => {
      if (!stopping) socketCloses++;
    };
    ws.onopen = () => {
      ws.onmessage = (e) => {
        const f = JSON.parse(e.data as string);
        if (f[1] !== "1" || f[3] !== "phx_reply") return;
        clearTimeout(timer);
        if (f[4].status !== "ok") {
          reject(new Error(`joining order:${orderId}: ${JSON.stringify(f[4].response)}`));
          return;
        }
        ws.onmessage = (m) => onFrame(m.data);
        resolve(ws);
      };
      ws.send(JSON.stringify(["1", "1", `realtime:order:${orderId}`, "phx_join", {
        config: { broadcast: { self: false, ack: false }, presence: { enabled: false }, private: true },
        access_token: token,
      }]));
    };
  });
}

// 1. Sockets, 16 joins at a time.
const t0 = performance.now();
const sockets: WebSocket[] = [];
const jobs = settings.orders.flatMap((o) => o.watcherTokens.map((token) => ({ id: o.id, token })));
for (let i = 0; i < jobs.length; i += 16) {
  sockets.push(...await Promise.all(jobs.slice(i, i + 16).map((j) => watch(j.id, j.token))));
}
const subscribeMs = performance.now() - t0;
let hbRef = 0;
const heartbeat = setInterval(() => {
  for (const ws of sockets) {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify([null, `hb${++hbRef}`, "phoenix", "heartbeat", {}]));
    }
  }
}, 20_000);
progress(`${sockets.length} sockets joined in ${(subscribeMs / 1000).toFixed(1)} s`);
console.log(JSON.stringify({ ready: true, sockets: sockets.length, subscribeMs }));

// 2. Wait for the common start.
const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
let line = "";
while (!line.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) break;
  line += value;
}
const startAt = Number(/^go (\d+)/.exec(line)?.[1] ?? Date.now());
reader.releaseLock();

// 3. Load: every partner sends `batch` fixes every `batch / rate` s, driving east at 10 m/s.
const periodMs = 1000 / settings.rate;
const lngScale = 111_320 * Math.cos((48.86 * Math.PI) / 180);
const status = new Map<number, number>();
const errors: string[] = [];
let requests = 0;
let accepted = 0;
let duplicates = 0;
let droppedJumps = 0;
let skipped = 0;
let fixesSent = 0;
let fixesSentMeasured = 0;
let acceptedMeasured = 0;
let inFlight = 0;
const measuredFrom = startAt + settings.warmupSeconds * 1000;
const endAt = measuredFrom + settings.seconds * 1000;
const partners = settings.orders.map((o) => ({
  ...o,
  next: startAt + (o.index / settings.totalOrders) * periodMs,
  lastT: 0,
}));

async function send(p: (typeof partners)[number], wall: number) {
  const window = wall >= measuredFrom
    ? Math.floor((wall - measuredFrom) / (settings.windowSeconds * 1000))
    : -1;
  const fixes = [];
  const keys: string[] = [];
  const t = performance.now();
  for (let k = 0; k < settings.batch; k++) {
    const at = Math.max(wall - (settings.batch - 1 - k) * (periodMs / settings.batch), p.lastT + 1);
    const ms = Math.round(at);
    p.lastT = ms;
    const driven = 10 * (ms - startAt) / 1000;
    fixes.push({
      lat: p.start.lat,
      lng: p.start.lng + driven / lngScale,
      accuracy: 10,
      speed: 10,
      heading: 90,
      recorded_at: new Date(ms).toISOString(),
    });
    const key = `${p.id}|${ms}`;
    keys.push(key);
    sent.set(key, { t0: t, window, seen: 0 });
  }
  fixesSent += fixes.length;
  if (window >= 0) fixesSentMeasured += fixes.length;
  requests++;
  inFlight++;
  try {
    const res = await fetch(`${settings.url}/api/v1/orders/${p.id}/locations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${p.partnerToken}` },
      body: JSON.stringify(fixes),
    });
    const text = await res.text();
    const ms = performance.now() - t;
    status.set(res.status, (status.get(res.status) ?? 0) + 1);
    if (res.status === 200) {
      const r = JSON.parse(text) as { accepted: number; duplicates: number; dropped_jumps: number };
      accepted += r.accepted;
      duplicates += r.duplicates;
      droppedJumps += r.dropped_jumps;
      if (window >= 0) {
        acceptedMeasured += r.accepted;
        record(http, window, ms);
      }
    } else {
      for (const key of keys) sent.delete(key);
      if (errors.length < 5) errors.push(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
  } catch (err) {
    status.set(0, (status.get(0) ?? 0) + 1);
    for (const key of keys) sent.delete(key);
    if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
  } finally {
    inFlight--;
  }
}

const pending = new Set<Promise<void>>();
const step = periodMs * settings.batch;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const wall = Date.now();
    if (wall >= endAt) {
      clearInterval(timer);
      resolve();
      return;
    }
    for (const p of partners) {
      while (p.next <= wall) {
        if (p.next + step > wall) {
          if (inFlight < settings.maxInFlight) {
            const job = send(p, wall);
            pending.add(job);
            job.finally(() => pending.delete(job));
          } else skipped++;
        } else skipped++; // the process fell behind by more than a period: that turn is lost
        p.next += step;
      }
    }
  }, 2);
});
const loadEnd = performance.now();

// 4. The last responses (bounded), then the last deliveries.
await Promise.race([Promise.all(pending), sleep(30_000)]);
const deadline = performance.now() + settings.drainMs;
while (performance.now() < deadline && [...sent.values()].some((s) => s.window >= 0)) await sleep(50);
const undelivered = [...sent.values()].filter((s) => s.window >= 0).reduce(
  (n, s) => n + watchersPerOrder - s.seen,
  0,
);
stopping = true;
clearInterval(heartbeat);
for (const ws of sockets) ws.close();

const stat = await Deno.readTextFile("/proc/self/stat").catch(() => "");
const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
const cpuSeconds = stat ? (Number(fields[11]) + Number(fields[12])) / 100 : 0;
console.log(JSON.stringify({
  subscribeMs,
  sockets: sockets.length,
  requests,
  status: Object.fromEntries(status),
  errors,
  accepted,
  acceptedMeasured,
  duplicates,
  droppedJumps,
  skipped,
  fixesSent,
  fixesSentMeasured,
  delivered,
  deliveredWarmup,
  undelivered,
  unmatched,
  socketErrors,
  socketCloses,
  inFlightAtEnd: inFlight,
  loadSeconds: (loadEnd - t0 - subscribeMs) / 1000,
  cpuSeconds,
  http,
  deliveries,
}));
Deno.exit(0);
