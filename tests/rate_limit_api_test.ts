import assert from "node:assert/strict";
import type { Kv } from "@/lib/kv/port.ts";
import { appTest } from "./support/app.ts";
import { cookieHeader, json, randomUser } from "./support/factories.ts";

appTest("[rate-limit] repeated failed logins get 429 with Retry-After and RateLimit headers", async (t) => {
  const user = await randomUser(t);
  const attempt = (password: string, ip = "198.51.100.7", cookie = "") =>
    t.request("/api/v1/auth/login", {
      ...json("POST", { email: user.email, password }, cookie ? { cookie } : {}),
      ip,
    });
  for (let i = 0; i < 5; i++) assert.equal((await attempt("wrong-password")).status, 401);
  const limited = await attempt("wrong-password");
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  assert.match(limited.headers.get("ratelimit-policy") ?? "", /q=5;w=900/);
  assert.match(limited.headers.get("ratelimit") ?? "", /r=0;t=\d+/);
  const err = (await limited.json()).error;
  assert.equal(err.code, "rate_limited");

  // Even the right password is refused from that IP now …
  assert.equal((await attempt(user.password)).status, 429);
  // … but the owner on another network still gets in: the attacker locked out only their own IP.
  assert.equal((await attempt(user.password, "192.0.2.50")).status, 200);
});

appTest(
  "[rate-limit] a distributed guesser trips the per-account limit, the owner's known device does not",
  async (t) => {
    const user = await randomUser(t); // signup marks this browser as a known device
    for (let i = 0; i < 20; i++) {
      const res = await t.request("/api/v1/auth/login", {
        ...json("POST", { email: user.email, password: `guess-${i}` }),
        ip: `203.0.113.${100 + i}`,
      });
      assert.equal(res.status, 401);
    }
    const stranger = await t.request("/api/v1/auth/login", {
      ...json("POST", { email: user.email, password: user.password }),
      ip: "192.0.2.200",
    });
    assert.equal(stranger.status, 429, "a browser never seen before is held back");

    const device = user.cookies.split("; ").find((c) => c.startsWith("plaza_device="))!;
    const owner = await t.request("/api/v1/auth/login", {
      ...json("POST", { email: user.email, password: user.password }, { cookie: device }),
      ip: "192.0.2.201",
    });
    assert.equal(owner.status, 200, "the owner's known browser still signs in");
    assert.ok(cookieHeader(owner).includes("plaza_at="));
  },
);

appTest("[rate-limit] signup is limited per IP", async (t) => {
  let last = 0;
  for (let i = 0; i < 11; i++) {
    const res = await t.request("/api/v1/auth/signup", {
      ...json("POST", { email: `many-${i}@example.test`, password: "long-enough-pw", name: "Many" }),
      ip: "198.51.100.99",
    });
    last = res.status;
    await res.body?.cancel();
  }
  assert.equal(last, 429);
});

const brokenKv: Kv = {
  kind: "redis",
  get: () => Promise.reject(new Error("down")),
  set: () => Promise.reject(new Error("down")),
  incr: () => Promise.reject(new Error("down")),
  del: () => Promise.reject(new Error("down")),
  ping: () => Promise.reject(new Error("down")),
  close: () => Promise.resolve(),
};

appTest("[rate-limit] auth limiters fail closed when the store is unreachable", async (t) => {
  const res = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: "a@example.test", password: "whatever-pw" }),
  );
  assert.equal(res.status, 503);
  assert.ok(res.headers.get("retry-after"));
  assert.equal((await res.json()).error.code, "service_unavailable");
  const health = await t.request("/health");
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "degraded", db: "ok", kv: "down", version: "0.1.0" });
}, { kv: brokenKv });

appTest("[rate-limit] parallel guesses cannot slip past the limit", async (t) => {
  const user = await randomUser(t);
  const results = await Promise.all(
    Array.from({ length: 25 }, (_, i) =>
      t.request("/api/v1/auth/login", {
        ...json("POST", { email: user.email, password: `parallel-guess-${i}` }),
        ip: "198.51.100.77",
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      })),
  );
  assert.equal(results.filter((s) => s === 401).length, 5, results.join(","));
  assert.equal(results.filter((s) => s === 429).length, 20);
});

appTest("[rate-limit] password change guesses are limited like logins", async (t) => {
  const user = await randomUser(t);
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await t.request("/api/v1/auth/password", {
      ...json("POST", { current_password: `guess-${i}`, new_password: "brand-new-password" }, user.bearer),
      ip: "198.51.100.78",
    });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses, [403, 403, 403, 403, 403, 429, 429]);
});

appTest("[rate-limit] behind a trusted proxy only the proxy's X-Forwarded-For entry counts", async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const res = await t.request("/api/v1/auth/signup", {
      ...json("POST", { email: `xff-${i}@example.test`, password: "long-enough-pw", name: "X" }, {
        // The client forges a different leftmost entry each time; the proxy appends the real one.
        "x-forwarded-for": `10.0.0.${i}, 192.0.2.33`,
      }),
      ip: "127.0.0.1",
    });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.equal(statuses.filter((s) => s === 201).length, 10);
  assert.equal(statuses.at(-1), 429);
}, { env: { PLAZA_TRUST_PROXY: "true" } });
