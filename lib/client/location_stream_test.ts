import assert from "node:assert/strict";
import {
  backoffMs,
  FixBuffer,
  type KeyValueStore,
  loadMode,
  MAX_FIX_AGE_MS,
  type QueuedFix,
  saveMode,
  shouldKeep,
  toFix,
} from "./location_stream.ts";

const T0 = Date.parse("2026-11-21T10:00:00.000Z");

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

function fix(i: number, at = T0 + i * 1000, lat = 48.85 + i * 0.0001): QueuedFix {
  return { lat, lng: 2.37, accuracy: 10, speed: 5, heading: 0, recorded_at: new Date(at).toISOString() };
}

/** A fake fetch answering from a list of statuses (or throwing for "offline"), recording bodies. */
function fakeFetch(
  answers: (number | "offline" | [number, Record<string, unknown>, Record<string, string>?])[],
) {
  const bodies: QueuedFix[][] = [];
  const fetch = (_url: string, init: RequestInit) => {
    const a = answers.shift() ?? 200;
    if (a === "offline") return Promise.reject(new TypeError("Failed to fetch"));
    bodies.push(JSON.parse(init.body as string));
    const [status, body, headers] = typeof a === "number" ? [a, {}, {}] : a;
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers }));
  };
  return { fetch, bodies };
}

Deno.test("[location_stream] the mode is remembered and defaults to balanced", () => {
  const store = memoryStore();
  assert.equal(loadMode(store), "balanced");
  saveMode(store, "high");
  assert.equal(loadMode(store), "high");
  store.setItem("plaza:partner:mode", "turbo");
  assert.equal(loadMode(store), "balanced");
  assert.equal(loadMode(null), "balanced");
});

Deno.test("[location_stream] a position becomes a fix within the API's ranges", () => {
  const f = toFix({
    coords: { latitude: 48.85, longitude: 2.37, accuracy: 9000, speed: NaN, heading: 360 },
    timestamp: T0,
  });
  assert.deepEqual(f, {
    lat: 48.85,
    lng: 2.37,
    accuracy: 5000,
    speed: null,
    heading: null,
    recorded_at: "2026-11-21T10:00:00.000Z",
  });
  assert.equal(
    toFix({ coords: { latitude: 1, longitude: 1, accuracy: 5, speed: 300, heading: 90 }, timestamp: T0 })
      .speed,
    100,
  );
});

Deno.test("[location_stream] fixes are kept by time or distance, per mode", () => {
  const a = fix(0, T0, 48.85);
  const soonNear = fix(1, T0 + 1000, 48.85001); // 1 s, ~1 m
  const soonFar = fix(1, T0 + 1000, 48.8501); // 1 s, ~11 m
  const later = fix(1, T0 + 2500, 48.85001); // 2.5 s, ~1 m
  assert.equal(shouldKeep(null, a, "low"), true);
  assert.equal(shouldKeep(a, soonNear, "high"), false);
  assert.equal(shouldKeep(a, soonFar, "high"), true);
  assert.equal(shouldKeep(a, later, "high"), true);
  assert.equal(shouldKeep(a, soonFar, "balanced"), false);
  assert.equal(shouldKeep(a, later, "balanced"), false);
  assert.equal(shouldKeep(a, fix(1, T0 + 10_000, 48.85001), "balanced"), true);
  assert.equal(shouldKeep(a, fix(1, T0 + 20_000, 48.8505), "low"), false); // 20 s, ~55 m
  assert.equal(shouldKeep(a, fix(1, T0 + 20_000, 48.851), "low"), true); // ~111 m
  assert.equal(shouldKeep(a, fix(1, T0, 48.9), "high"), false); // same time: a repeat
});

Deno.test("[location_stream] backoff doubles to a minute and follows Retry-After", () => {
  assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoffMs(n)), [1000, 2000, 4000, 8000, 60_000]);
  assert.equal(backoffMs(0, "7"), 7000);
  assert.equal(backoffMs(2, "soon"), 4000);
});

Deno.test("[location_stream] the buffer sends in batches of 100, oldest first, and empties storage", async () => {
  const store = memoryStore();
  const { fetch, bodies } = fakeFetch([]);
  const buf = new FixBuffer("o1", { store, fetch, now: () => T0 + 300_000 });
  for (let i = 0; i < 250; i++) buf.push(fix(i));
  assert.equal(JSON.parse(store.data.get("plaza:fixes:o1")!).length, 250);
  const r = await buf.flush();
  assert.deepEqual(r, { sent: 250, outcome: "done" });
  assert.deepEqual(bodies.map((b) => b.length), [100, 100, 50]);
  assert.equal(bodies[0][0].recorded_at, fix(0).recorded_at);
  assert.equal(buf.queued, 0);
  assert.equal(buf.sent, 250);
  assert.equal(store.data.has("plaza:fixes:o1"), false);
});

Deno.test("[location_stream] the queue survives a reload and drops the oldest beyond the cap", () => {
  const store = memoryStore();
  const opts = { store, fetch: fakeFetch([]).fetch, cap: 5 };
  const buf = new FixBuffer("o1", opts);
  for (let i = 0; i < 8; i++) buf.push(fix(i));
  assert.equal(buf.queued, 5);
  assert.equal(buf.dropped, 3);
  const again = new FixBuffer("o1", opts);
  assert.equal(again.queued, 5);
  store.setItem("plaza:fixes:o2", "not json");
  assert.equal(new FixBuffer("o2", opts).queued, 0);
});

Deno.test("[location_stream] offline, 5xx and 429 keep the batch and back off; force retries at once", async () => {
  let now = T0;
  const store = memoryStore();
  const { fetch, bodies } = fakeFetch(["offline", 503, [429, {}, { "retry-after": "30" }], 200]);
  const buf = new FixBuffer("o1", { store, fetch, now: () => now });
  buf.push(fix(0));
  buf.push(fix(1));
  let r = await buf.flush();
  assert.equal(r.outcome, "waiting");
  assert.equal(r.retryAt, T0 + 1000);
  assert.equal(buf.queued, 2);
  // Still backing off: nothing is sent.
  r = await buf.flush();
  assert.equal(r.outcome, "waiting");
  assert.equal(bodies.length, 0);
  now += 1000;
  r = await buf.flush();
  assert.equal(r.outcome, "waiting");
  assert.equal(r.retryAt, now + 2000);
  now += 2000;
  r = await buf.flush();
  assert.equal(r.retryAt, now + 30_000, "Retry-After wins");
  assert.equal(buf.queued, 2);
  r = await buf.flush(true); // the `online` event
  assert.deepEqual(r, { sent: 2, outcome: "done" });
  assert.equal(bodies.length, 3);
});

Deno.test("[location_stream] another 4xx drops that batch only and reports the error", async () => {
  const { fetch, bodies } = fakeFetch([
    [422, { error: { code: "invalid_body", message: "0.lat: too big" } }],
    200,
  ]);
  const buf = new FixBuffer("o1", { store: memoryStore(), fetch, now: () => T0, batchSize: 2 });
  for (let i = 0; i < 3; i++) buf.push(fix(i));
  const r = await buf.flush();
  assert.deepEqual(r, { sent: 0, outcome: "dropped", error: "0.lat: too big" });
  assert.equal(buf.queued, 1);
  assert.equal(buf.dropped, 2);
  assert.deepEqual(await buf.flush(), { sent: 1, outcome: "done" });
  assert.equal(bodies[1][0].recorded_at, fix(2).recorded_at);
});

Deno.test("[location_stream] 409 order_not_active empties the queue and says so", async () => {
  const { fetch } = fakeFetch([[409, { error: { code: "order_not_active", message: "not active" } }]]);
  const store = memoryStore();
  const buf = new FixBuffer("o1", { store, fetch, now: () => T0, batchSize: 2 });
  for (let i = 0; i < 5; i++) buf.push(fix(i));
  const r = await buf.flush();
  assert.equal(r.outcome, "inactive");
  assert.equal(buf.queued, 0);
  assert.equal(store.data.has("plaza:fixes:o1"), false);
});

Deno.test("[location_stream] fixes older than 24 h are dropped before sending", async () => {
  const now = T0 + MAX_FIX_AGE_MS + 5_000;
  const { fetch, bodies } = fakeFetch([]);
  const buf = new FixBuffer("o1", { store: memoryStore(), fetch, now: () => now });
  buf.push(fix(0, T0)); // too old by then
  buf.push(fix(1, now - 1000));
  const r = await buf.flush();
  assert.deepEqual(r, { sent: 1, outcome: "done" });
  assert.equal(bodies[0].length, 1);
  assert.equal(buf.dropped, 1);
});

Deno.test("[location_stream] concurrent flushes share one run", async () => {
  let calls = 0;
  const fetch = () => {
    calls++;
    return new Promise<Response>((r) => setTimeout(() => r(new Response("{}", { status: 200 })), 5));
  };
  const buf = new FixBuffer("o1", { store: null, fetch, now: () => T0 });
  buf.push(fix(0));
  const [a, b] = await Promise.all([buf.flush(), buf.flush()]);
  assert.equal(calls, 1);
  assert.equal(a, b);
});
