/**
 * The client side of the chat delivery benchmark (bench/chat_delivery.ts), run as its own process:
 * one @supabase/supabase-js client (own socket, own access token) per subscribed member on the
 * private channel `room:<id>`; then members post over HTTP one at a time, and the time from just
 * before each request is sent to the `message` event at every socket is recorded (one clock: poster
 * and subscribers share this process). Then two baselines on the same sockets: a client broadcast
 * from a member's socket to the same channel (no HTTP, no database write), and `GET /health`.
 * Reads its settings from the JSON file named by the first argument; prints one JSON line.
 */
import { closeAll, createSocketBench, sleep } from "./chat_sockets.ts";

interface Settings {
  url: string;
  anonKey: string;
  roomId: string;
  /** Members whose sockets are measured. */
  subscribers: { id: string; token: string }[];
  /** Members who post, in turn (the per-person limit is 60 posts a minute). */
  posters: { id: string; token: string }[];
  /** Member who sends the socket baseline (not among the subscribers). */
  pinger: { id: string; token: string };
  posts: number;
  warmup: number;
  pauseMs: number;
  pings: number;
  timeoutMs: number;
}

const settings: Settings = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const expected = settings.subscribers.length;
const bench = createSocketBench({ ...settings, expected });

const t0 = performance.now();
const clients = await bench.subscribeAll(settings.subscribers.map((s) => s.token), {
  message: "client_id",
  bench_ping: "key",
});
const subscribeMs = performance.now() - t0;
const progress = (m: string) => console.error(`[bench:chat clients] ${m}`);
progress(`${clients.length} sockets subscribed in ${(subscribeMs / 1000).toFixed(1)} s`);

interface Sample {
  http: number;
  status: number;
  arrivals: number[];
  /** The new message's id. */
  id?: number;
}

async function post(i: number): Promise<Sample> {
  const poster = settings.posters[i % settings.posters.length];
  const key = `bench-${i}-${crypto.randomUUID().slice(0, 8)}`;
  const body = JSON.stringify({ body: `Message ${i}: see you at the market stall tomorrow`, client_id: key });
  const { http, status, text, arrivals } = await bench.post(poster.token, key, body);
  const id = status === 201 ? Number(JSON.parse(text).id) : undefined;
  return { http, status, arrivals, id };
}

/** Posts `count` measured messages (after `warmup` unmeasured ones). */
async function postPhase(first: number, warmup: number, count: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = first; i < first + warmup + count; i++) {
    const s = await post(i);
    if (i >= first + warmup) samples.push(s);
    if (s.status !== 201 || s.arrivals.length < expected) {
      progress(
        `post ${i}: HTTP ${s.status} in ${s.http.toFixed(1)} ms, ${s.arrivals.length} of ${expected} sockets`,
      );
    }
    await sleep(settings.pauseMs);
  }
  return samples;
}

// Phase 1: read positions as the room was set up: the owner (the pinger) created the room and has
// never read it (last_read_id 0); the others' positions are where they joined.
const half = Math.floor(settings.posts / 2);
const phase1 = await postPhase(0, settings.warmup, half);
// Phase 2: the owner reads the room (POST /rooms/:id/read), so every read position is recent.
const latest = phase1.findLast((s) => s.id)?.id;
if (latest) {
  const res = await fetch(`${settings.url}/api/v1/rooms/${settings.roomId}/read`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${settings.pinger.token}` },
    body: JSON.stringify({ message_id: latest }),
  });
  await res.text();
  if (res.status !== 200) progress(`marking the room read: HTTP ${res.status}`);
}
const phase2 = await postPhase(settings.warmup + half, 0, settings.posts - half);

// Baseline 1: a client broadcast from another member's socket to the same 50 sockets.
const pingClient = bench.client(settings.pinger.token);
const pingChannel = pingClient.channel(bench.topic, {
  config: { private: true, broadcast: { self: false } },
});
await bench.subscribe(pingChannel);
const pings: number[][] = [];
for (let i = 0; i < settings.warmup + settings.pings; i++) {
  const key = `ping-${i}`;
  bench.track(key);
  await pingChannel.send({ type: "broadcast", event: "bench_ping", payload: { key } });
  const arrivals = await bench.waitAll(key);
  if (i >= settings.warmup) pings.push(arrivals);
  await sleep(settings.pauseMs);
}

// Baseline 2: GET /health (a database round trip and a KV ping) over the same HTTP client.
const health: number[] = [];
for (let i = 0; i < settings.warmup + settings.pings; i++) {
  const t = performance.now();
  const res = await fetch(`${settings.url}/health`);
  await res.text();
  if (i >= settings.warmup) health.push(performance.now() - t);
  await sleep(settings.pauseMs);
}

const stat = await Deno.readTextFile("/proc/self/stat").catch(() => "");
const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
const cpuSeconds = stat ? (Number(fields[11]) + Number(fields[12])) / 100 : 0;
console.log(JSON.stringify({ subscribeMs, phases: [phase1, phase2], pings, health, cpuSeconds }));
await closeAll([...clients, pingClient]);
Deno.exit(0);
