/**
 * The KV port's contract, checked on every adapter: memory always; Redis (TCP) and Upstash (REST,
 * through a local bridge to the same Redis) when `REDIS_URL` is set. Then the rate limiter on a
 * fake clock, and its behaviour when the store is down.
 */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { AppError } from "@/lib/errors.ts";
import { memoryKv } from "@/lib/kv/memory.ts";
import type { Kv } from "@/lib/kv/port.ts";
import { createRateLimiter, enforce, type RateLimitRule } from "@/lib/kv/rate_limit.ts";
import { redisKv } from "@/lib/kv/redis.ts";
import { upstashKv } from "@/lib/kv/upstash.ts";
import type { Logger } from "@/lib/log.ts";
import { startUpstashBridge } from "./support/upstash_bridge.ts";

const REDIS_URL = Deno.env.get("REDIS_URL") || undefined;
const TOKEN = "test-upstash-token";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const uniquePrefix = () => `plaza-test:kv:${crypto.randomUUID()}:`;

function redisUrl(): string {
  if (!REDIS_URL) throw new Error("REDIS_URL is not set");
  return REDIS_URL;
}

/** An open adapter and how to tear it down. */
interface Opened {
  kv: Kv;
  close(): Promise<void>;
}

interface Adapter {
  kind: Kv["kind"];
  /** Set when the adapter needs a Redis that is not configured. */
  ignore: boolean;
  /** Adapters over sockets keep ops (reads, pooled connections) alive past a test's end. */
  sockets: boolean;
  open(): Promise<Opened>;
}

const adapters: Adapter[] = [
  {
    kind: "memory",
    ignore: false,
    sockets: false,
    open() {
      const kv = memoryKv();
      return Promise.resolve({ kv, close: () => kv.close() });
    },
  },
  {
    kind: "redis",
    ignore: !REDIS_URL,
    sockets: true,
    open() {
      const kv = redisKv(redisUrl(), uniquePrefix());
      return Promise.resolve({ kv, close: () => kv.close() });
    },
  },
  {
    kind: "upstash",
    ignore: !REDIS_URL,
    sockets: true,
    async open() {
      const bridge = await startUpstashBridge(redisUrl(), TOKEN);
      const kv = upstashKv(bridge.url, TOKEN, uniquePrefix());
      return {
        kv,
        async close() {
          await kv.close();
          await bridge.close();
        },
      };
    },
  },
];

/** A behaviour check; `key` names a key and deletes it after the check. */
type Check = (kv: Kv, key: (name: string) => string) => Promise<void>;

const checks: Record<string, Check> = {
  "get of a missing key is null": async (kv, key) => {
    assert.equal(await kv.get(key("missing")), null);
  },

  "set then get returns the value, byte for byte": async (kv, key) => {
    // "OK" and "PONG" are special or valid base64 for the Upstash client; the rest test UTF-8.
    const values = ["v", "héllo wörld 👋", "日本語", "OK", "PONG", "12", "", "with\r\nnewline", " spaced "];
    for (const [i, value] of values.entries()) {
      assert.equal(await kv.set(key(`value-${i}`), value), true, JSON.stringify(value));
    }
    for (const [i, value] of values.entries()) {
      assert.equal(await kv.get(key(`value-${i}`)), value, JSON.stringify(value));
    }
    assert.equal(await kv.set(key("value-0"), "replaced"), true);
    assert.equal(await kv.get(key("value-0")), "replaced");
  },

  "set with nx refuses an existing key and returns false": async (kv, key) => {
    const k = key("nx");
    assert.equal(await kv.set(k, "first", { nx: true }), true, "nx on a missing key sets it");
    assert.equal(await kv.set(k, "second", { nx: true }), false);
    assert.equal(await kv.get(k), "first");
    assert.equal(await kv.set(k, "third", { nx: true, ttlMs: 10_000 }), false);
    assert.equal(await kv.get(k), "first");
  },

  "set with ttlMs expires the key": async (kv, key) => {
    const k = key("ttl");
    const kept = key("no-ttl");
    assert.equal(await kv.set(k, "short-lived", { ttlMs: 150 }), true);
    assert.equal(await kv.set(kept, "kept"), true);
    assert.equal(await kv.get(k), "short-lived");
    await sleep(300);
    assert.equal(await kv.get(k), null);
    assert.equal(await kv.get(kept), "kept", "a key without ttlMs does not expire");
    assert.equal(await kv.set(k, "again", { nx: true, ttlMs: 150 }), true, "an expired key is absent for nx");
    assert.equal(await kv.get(k), "again");
  },

  "incr starts at 1 and counts up": async (kv, key) => {
    const k = key("counter");
    assert.equal(await kv.incr(k, 10_000), 1);
    assert.equal(await kv.incr(k, 10_000), 2);
    assert.equal(await kv.incr(k, 10_000), 3);
    assert.equal(await kv.get(k), "3");
    assert.equal(await kv.incr(key("other-counter"), 10_000), 1, "counters are per key");
  },

  "incr sets the expiry only on the first increment": async (kv, key) => {
    const k = key("window");
    assert.equal(await kv.incr(k, 400), 1);
    await sleep(200);
    // A later increment with a much longer ttlMs must not push the first expiry back.
    assert.equal(await kv.incr(k, 5_000), 2);
    assert.equal(await kv.get(k), "2");
    await sleep(300);
    assert.equal(await kv.get(k), null, "the key expires at the first increment's expiry");
    assert.equal(await kv.incr(k, 150), 1, "an expired counter starts again at 1");
    await sleep(300);
    assert.equal(await kv.get(k), null, "the new first increment sets a new expiry");
  },

  "del removes a key, and a missing key is fine": async (kv, key) => {
    const k = key("doomed");
    await kv.set(k, "x");
    await kv.incr(key("doomed-counter"), 10_000);
    await kv.del(k);
    await kv.del(key("doomed-counter"));
    assert.equal(await kv.get(k), null);
    assert.equal(await kv.get(key("doomed-counter")), null);
    assert.equal(await kv.incr(key("doomed-counter"), 10_000), 1);
    await kv.del(key("never-set"));
    assert.equal(await kv.set(k, "back", { nx: true }), true, "a deleted key is absent for nx");
  },

  "ping resolves": async (kv) => {
    await kv.ping();
  },
};

for (const adapter of adapters) {
  for (const [name, check] of Object.entries(checks)) {
    Deno.test({
      name: `[kv] ${adapter.kind}: ${name}`,
      ignore: adapter.ignore,
      sanitizeOps: !adapter.sockets,
      sanitizeResources: !adapter.sockets,
      async fn() {
        const { kv, close } = await adapter.open();
        const used = new Set<string>();
        try {
          assert.equal(kv.kind, adapter.kind);
          await check(kv, (name) => {
            used.add(name);
            return name;
          });
        } finally {
          for (const k of used) await kv.del(k).catch(() => {});
          await close();
        }
      },
    });
  }
}

Deno.test({
  name: "[kv] upstash: a wrong token is refused",
  ignore: !REDIS_URL,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bridge = await startUpstashBridge(redisUrl(), TOKEN);
    const kv = upstashKv(bridge.url, "not-the-token", uniquePrefix());
    try {
      await assert.rejects(kv.get("k"), /Unauthorized/);
      await assert.rejects(kv.set("k", "v"), /Unauthorized/);
      await assert.rejects(kv.incr("k", 1000), /Unauthorized/);
      await assert.rejects(kv.ping(), /Unauthorized/);
    } finally {
      await kv.close();
      await bridge.close();
    }
  },
});

Deno.test({
  name: "[kv] redis: ping rejects within seconds when nothing listens",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const kv = redisKv("redis://127.0.0.1:1", uniquePrefix());
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const outcome = await Promise.race([
        kv.ping().then(() => "resolved", (err: unknown) => err),
        new Promise((resolve) => (timer = setTimeout(() => resolve("still pending after 5 s"), 5_000))),
      ]);
      assert.ok(outcome instanceof Error, `ping should reject, got ${String(outcome)}`);
      assert.ok(performance.now() - started < 5_000);
      await assert.rejects(kv.get("k"), "later commands fail too");
    } finally {
      clearTimeout(timer);
      await kv.close();
    }
  },
});

Deno.test({
  name: "[kv] upstash bridge: auth, base64 encoding and errors over raw HTTP",
  ignore: !REDIS_URL,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bridge = await startUpstashBridge(redisUrl(), TOKEN);
    const k = `${uniquePrefix()}raw`;
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(bridge.url + path, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    try {
      for (const authorization of [undefined, "Bearer wrong", `Basic ${TOKEN}`]) {
        const res = await fetch(bridge.url, {
          method: "POST",
          headers: authorization ? { authorization } : {},
          body: '["PING"]',
        });
        assert.equal(res.status, 401, authorization);
        assert.deepEqual(await res.json(), { error: "Unauthorized" });
      }
      assert.deepEqual(await post("/", ["SET", k, "héllo", "PX", 10_000]), {
        status: 200,
        body: { result: "OK" },
      });
      assert.deepEqual(await post("/", ["GET", k]), { status: 200, body: { result: "héllo" } });
      const b64 = { "Upstash-Encoding": "base64" };
      assert.deepEqual(await post("/", ["GET", k], b64), { status: 200, body: { result: "aMOpbGxv" } });
      assert.deepEqual(await post("/", ["GET", `${k}:missing`], b64), {
        status: 200,
        body: { result: null },
      });
      assert.deepEqual(await post("/", ["EVAL", "return {1, 'a', {'é'}}", 0], b64), {
        status: 200,
        body: { result: [1, "YQ==", ["w6k="]] },
      });
      const wrongType = await post("/", ["INCR", k]);
      assert.equal(wrongType.status, 400);
      assert.match(wrongType.body.error, /^ERR /);
      assert.equal((await post("/", { not: "a command" })).status, 400);
      assert.deepEqual(
        await post("/pipeline", [["SET", `${k}:n`, "1"], ["INCR", `${k}:n`], ["INCR", k]], b64),
        {
          status: 200,
          body: [{ result: "T0s=" }, { result: 2 }, { error: "ERR value is not an integer or out of range" }],
        },
      );
      const aborted = await post("/multi-exec", [["SET", `${k}:n`, "5"], ["NOT-A-COMMAND"]]);
      assert.equal(aborted.status, 400);
      assert.match(aborted.body.error, /EXECABORT/);
      assert.deepEqual(await post("/", ["GET", `${k}:n`]), { status: 200, body: { result: "2" } });
      assert.deepEqual(await post("/", ["DEL", k, `${k}:n`]), { status: 200, body: { result: 2 } });
    } finally {
      await bridge.close();
    }
  },
});

Deno.test({
  name: "[kv] upstash bridge: pipelines and transactions from @upstash/redis",
  ignore: !REDIS_URL,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bridge = await startUpstashBridge(redisUrl(), TOKEN);
    const redis = new Redis({ url: bridge.url, token: TOKEN, automaticDeserialization: false });
    const p = uniquePrefix();
    try {
      assert.deepEqual(
        await redis.multi().set(`${p}a`, "ä").incr(`${p}n`).incr(`${p}n`).get(`${p}a`).exec(),
        ["OK", 1, 2, "ä"],
      );
      assert.deepEqual(
        await redis.pipeline().set(`${p}b`, "PONG", { px: 10_000 }).get(`${p}b`).get(`${p}none`).exec(),
        ["OK", "PONG", null],
      );
      // Commands issued together are auto-pipelined into one request; each gets its own answer.
      assert.deepEqual(
        await Promise.all([redis.get(`${p}a`), redis.incr(`${p}n`), redis.get(`${p}none`), redis.ping()]),
        ["ä", 3, null, "PONG"],
      );
      await assert.rejects(redis.multi().set(`${p}c`, "x").incr(`${p}a`).exec(), /not an integer/);
      assert.equal(await redis.get(`${p}c`), "x", "MULTI/EXEC runs the other commands (Redis semantics)");
    } finally {
      await redis.del(`${p}a`, `${p}b`, `${p}c`, `${p}n`).catch(() => {});
      await bridge.close();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Rate limiter

const rule: RateLimitRule = { name: "test", limit: 3, windowSeconds: 60 };
const WINDOW_MS = rule.windowSeconds * 1000;
/** The start of some window, far from the epoch. */
const WINDOW_START = WINDOW_MS * 29_000_000;

/** A logger that keeps its warnings instead of printing them. */
function quietLogger() {
  const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (msg, fields) => void warnings.push({ msg, fields }),
    error() {},
    child: () => log,
  };
  return { log, warnings };
}

/** A limiter over memory KV, both on a clock the test moves. */
function fakeClockLimiter(start: number) {
  const clock = { now: start };
  const now = () => clock.now;
  const kv = memoryKv(now);
  const { log } = quietLogger();
  return { clock, kv, limiter: createRateLimiter(kv, log, now) };
}

Deno.test("[rate_limit] allows the limit, refuses the next, and slides the window", async () => {
  // Three quarters into a window, so the next window starts a quarter window later.
  const { clock, kv, limiter } = fakeClockLimiter(WINDOW_START + 0.75 * WINDOW_MS);
  try {
    for (let i = 1; i <= 3; i++) {
      const s = await limiter.hit(rule, "1.2.3.4");
      assert.deepEqual([s.allowed, s.limit, s.remaining], [true, 3, 3 - i], `hit ${i}`);
    }
    const refused = await limiter.hit(rule, "1.2.3.4");
    assert.equal(refused.allowed, false);
    assert.equal(refused.remaining, 0);
    assert.ok(refused.resetSeconds >= 1 && refused.resetSeconds <= 60, String(refused.resetSeconds));
    assert.equal((await limiter.hit(rule, "5.6.7.8")).allowed, true, "another key has its own count");

    // Half a window later: a new fixed window, but three quarters of the previous one still
    // overlap the sliding window, and their weighted hits still fill the limit.
    clock.now += 0.5 * WINDOW_MS;
    const weighted = await limiter.peek(rule, "1.2.3.4");
    assert.equal(weighted.allowed, false);
    assert.equal(weighted.remaining, 0);
    assert.ok(weighted.resetSeconds >= 1);
    // resetSeconds is exact for peek: one second earlier still refused, then allowed.
    clock.now += (weighted.resetSeconds - 1) * 1000;
    assert.equal((await limiter.peek(rule, "1.2.3.4")).allowed, false);
    clock.now += 1000;
    assert.equal((await limiter.peek(rule, "1.2.3.4")).allowed, true);

    // Two full windows later nothing of the old hits is left.
    clock.now += 2 * WINDOW_MS;
    const fresh = await limiter.hit(rule, "1.2.3.4");
    assert.deepEqual([fresh.allowed, fresh.remaining], [true, 2]);
  } finally {
    await kv.close();
  }
});

Deno.test("[rate_limit] peek does not count", async () => {
  const { kv, limiter } = fakeClockLimiter(WINDOW_START + 1000);
  try {
    for (let i = 0; i < 10; i++) {
      const s = await limiter.peek(rule, "k");
      assert.deepEqual([s.allowed, s.remaining], [true, 3]);
    }
    await limiter.hit(rule, "k");
    await limiter.hit(rule, "k");
    for (let i = 0; i < 5; i++) {
      const s = await limiter.peek(rule, "k");
      assert.deepEqual([s.allowed, s.remaining], [true, 1], "one hit left, whatever the peeks");
    }
    assert.equal((await limiter.hit(rule, "k")).allowed, true);
    assert.equal((await limiter.peek(rule, "k")).allowed, false, "a fourth hit would be refused");
    assert.equal((await limiter.peek(rule, "other")).allowed, true);
  } finally {
    await kv.close();
  }
});

Deno.test("[rate_limit] reset clears the current and the previous window", async () => {
  const { clock, kv, limiter } = fakeClockLimiter(WINDOW_START + 0.9 * WINDOW_MS);
  try {
    for (let i = 0; i < 4; i++) await limiter.hit(rule, "user@example.test");
    await limiter.hit(rule, "someone-else");
    assert.equal((await limiter.peek(rule, "user@example.test")).allowed, false);
    await limiter.reset(rule, "user@example.test");
    const after = await limiter.hit(rule, "user@example.test");
    assert.deepEqual([after.allowed, after.remaining], [true, 2]);
    assert.equal((await limiter.peek(rule, "someone-else")).remaining, 2, "other keys keep their hits");

    // Hits now only in what becomes the previous window: reset clears those too.
    for (let i = 0; i < 3; i++) await limiter.hit(rule, "user@example.test");
    clock.now += 0.2 * WINDOW_MS;
    assert.equal((await limiter.peek(rule, "user@example.test")).allowed, false);
    await limiter.reset(rule, "user@example.test");
    const cleared = await limiter.peek(rule, "user@example.test");
    assert.deepEqual([cleared.allowed, cleared.remaining], [true, 3]);
  } finally {
    await kv.close();
  }
});

Deno.test("[rate_limit] enforce throws 429 with Retry-After, RateLimit-Policy and RateLimit", async () => {
  const { kv, limiter } = fakeClockLimiter(WINDOW_START + 0.5 * WINDOW_MS);
  try {
    for (let i = 0; i < 3; i++) enforce(rule, await limiter.hit(rule, "k"));
    const state = await limiter.hit(rule, "k");
    assert.equal(state.allowed, false);
    assert.throws(
      () => enforce(rule, state),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.status, 429);
        assert.equal(err.code, "rate_limited");
        assert.deepEqual(err.details, { retry_after: state.resetSeconds });
        assert.deepEqual(err.headers, {
          "Retry-After": String(state.resetSeconds),
          "RateLimit-Policy": '"test";q=3;w=60',
          "RateLimit": `"test";r=0;t=${state.resetSeconds}`,
        });
        return true;
      },
    );
  } finally {
    await kv.close();
  }
});

/** A store whose every call fails, like an unreachable Redis. */
function downKv(): Kv {
  const fail = () => Promise.reject(new Error("connection refused"));
  return {
    kind: "redis",
    get: fail,
    set: fail,
    incr: fail,
    del: fail,
    ping: fail,
    close: () => Promise.resolve(),
  };
}

Deno.test("[rate_limit] store down: a failClosed rule refuses with 503", async () => {
  const { log, warnings } = quietLogger();
  const limiter = createRateLimiter(downKv(), log);
  const closed: RateLimitRule = { ...rule, name: "login", failClosed: true };
  const is503 = (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.status, 503);
    assert.equal(err.code, "service_unavailable");
    assert.ok(err.headers?.["Retry-After"]);
    return true;
  };
  await assert.rejects(limiter.hit(closed, "k"), is503);
  await assert.rejects(limiter.peek(closed, "k"), is503);
  await assert.rejects(limiter.reset(closed, "k"), is503);
  assert.equal(warnings.length, 3);
  assert.equal(warnings[0].fields?.rule, "login");
  assert.equal(warnings[0].fields?.failClosed, true);
});

Deno.test("[rate_limit] store down: a rule without failClosed lets the hit through", async () => {
  const { log, warnings } = quietLogger();
  const limiter = createRateLimiter(downKv(), log);
  assert.deepEqual(await limiter.hit(rule, "k"), { allowed: true, limit: 3, remaining: 3, resetSeconds: 60 });
  assert.equal((await limiter.peek(rule, "k")).allowed, true);
  await limiter.reset(rule, "k");
  assert.equal(warnings.length, 3, "each failure is logged");
  assert.equal(warnings[0].fields?.failClosed, false);
});

Deno.test("[rate_limit] a client that waits exactly Retry-After is let through", async () => {
  // Seeded pseudo-random scenarios: bursts at random times, then one retry after Retry-After.
  let seed = 42;
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let scenario = 0; scenario < 300; scenario++) {
    const { clock, kv, limiter } = fakeClockLimiter(WINDOW_START + Math.floor(rand() * WINDOW_MS));
    const r: RateLimitRule = { name: "prop", limit: 1 + Math.floor(rand() * 5), windowSeconds: 60 };
    let state = await limiter.hit(r, "k");
    for (let i = 0; i < 30 && state.allowed; i++) {
      clock.now += Math.floor(rand() * 5000);
      state = await limiter.hit(r, "k");
    }
    if (state.allowed) continue;
    clock.now += state.resetSeconds * 1000;
    const retry = await limiter.hit(r, "k");
    assert.ok(retry.allowed, `scenario ${scenario}: refused again after waiting ${state.resetSeconds} s`);
    await kv.close();
  }
});
