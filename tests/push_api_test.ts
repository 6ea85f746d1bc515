import assert from "node:assert/strict";
import { fromB64url } from "@/lib/auth/jwt.ts";
import { memoryKv } from "@/lib/kv/memory.ts";
import { createLogger } from "@/lib/log.ts";
import { notify } from "@/lib/notify/notify.ts";
import type { PushSubscriptionJson } from "@/lib/notify/push.ts";
import { createPlatform } from "@/lib/platform.ts";
import { createApp } from "@/routes/app.ts";
import { appTest, ORIGIN, type TestContext, testIslands } from "./support/app.ts";
import { browser, json, randomUser, type TestUser } from "./support/factories.ts";
import { errorJson, notifyTest as test, okJson } from "./support/notify.ts";
import { startPushService } from "./support/push_service.ts";

const subscribe = (t: TestContext, user: TestUser, subscription: unknown, headers = user.bearer) =>
  t.request("/api/v1/push/subscriptions", json("POST", { subscription }, headers));

const unsubscribe = (t: TestContext, user: TestUser, endpoint: string) =>
  t.request("/api/v1/push/subscriptions", json("DELETE", { endpoint }, user.bearer));

const devices = async (t: TestContext, user: TestUser): Promise<{ id: number; user_agent: string }[]> =>
  (await okJson(await t.request("/api/v1/push/subscriptions", { headers: user.bearer }))).subscriptions;

const publicKey = async (t: TestContext) =>
  (await okJson(await t.request("/api/v1/push/public-key"))).public_key as string;

/** A subscription with keys a browser would make, at `endpoint`. */
async function subscriptionAt(endpoint: string): Promise<PushSubscriptionJson> {
  const push = await startPushService();
  try {
    const { subscription } = await push.subscribe();
    return { ...subscription, endpoint };
  } finally {
    await push.close();
  }
}

appTest("[push] the VAPID public key is a P-256 point, stable across calls and restarts", async (t) => {
  const key = await publicKey(t);
  assert.match(key, /^[A-Za-z0-9_-]{87}$/);
  const raw = fromB64url(key);
  assert.equal(raw.length, 65);
  assert.equal(raw[0], 4, "uncompressed point");
  assert.equal(await publicKey(t), key);
  const [stored] = await t.platform.db.query<{ public_key: string }>(
    "select public_key from plaza.vapid_keys",
  );
  assert.equal(stored.public_key, key);

  // Another platform on the same database, as after a restart, serves the same key.
  const restarted = await createPlatform(t.platform.config, {
    db: t.platform.db,
    kv: memoryKv(),
    log: createLogger("error"),
  });
  try {
    const app = await createApp(restarted, { islands: await testIslands() });
    const res = await app.fetch(new Request(new URL("/api/v1/push/public-key", ORIGIN)), {
      remoteAddr: { hostname: "203.0.113.1" },
    });
    assert.equal((await okJson(res)).public_key, key);
  } finally {
    await restarted.realtime.close();
    await restarted.kv.close();
  }
});

test("[push] subscribing: new device 201, same device again 200, both devices listed", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const { subscription: phone } = await p.push.subscribe();
  const { subscription: laptop } = await p.push.subscribe();

  const first = await okJson(await subscribe(t, alice, phone), 201);
  assert.ok(Number.isInteger(first.id));
  const again = await okJson(await subscribe(t, alice, { ...phone, expirationTime: null }), 200);
  assert.equal(again.id, first.id, "the same row");
  const second = await okJson(
    await t.request(
      "/api/v1/push/subscriptions",
      json("POST", { subscription: laptop }, { ...alice.bearer, "user-agent": "Laptop Firefox" }),
    ),
    201,
  );
  assert.notEqual(second.id, first.id);

  const listed = await devices(t, alice);
  assert.deepEqual(listed.map((d) => d.id).sort(), [first.id, second.id].sort());
  assert.equal(listed.find((d) => d.id === second.id)?.user_agent, "Laptop Firefox");
  assert.ok(listed.every((d) => !("endpoint" in d) && !("auth" in d)), "secrets stay on the server");
  assert.deepEqual(await devices(t, bob), [], "others see none of them");

  // A browser posting with its cookie session from Plaza's own page works too.
  const { subscription: tablet } = await p.push.subscribe();
  await okJson(await subscribe(t, alice, tablet, browser(alice.cookies)), 201);
  assert.equal((await devices(t, alice)).length, 3);
  const stored = await t.platform.db.query<{ endpoint: string; p256dh: string; auth: string }>(
    "select endpoint, p256dh, auth from public.push_subscriptions where user_id = $1 order by id",
    [alice.id],
  );
  assert.deepEqual(
    stored,
    [phone, laptop, tablet].map((s) => ({ endpoint: s.endpoint, ...s.keys })),
    "one row per device, as the browser sent it",
  );
});

test("[push] malformed subscriptions, no session and cross-site posts are refused", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe();
  const cases: [string, unknown, string][] = [
    [
      "short p256dh",
      { ...subscription, keys: { ...subscription.keys, p256dh: "BAAA" } },
      "subscription.keys.p256dh",
    ],
    [
      "auth not base64url",
      { ...subscription, keys: { ...subscription.keys, auth: "a+b/c=d+e/f=g+h/" } },
      "subscription.keys.auth",
    ],
    ["ftp endpoint", { ...subscription, endpoint: "ftp://127.0.0.1/push/x" }, "subscription.endpoint"],
    ["not a URL", { ...subscription, endpoint: "push me" }, "subscription.endpoint"],
    ["extra field", { ...subscription, extra: 1 }, "subscription.extra"],
    ["extra key", { ...subscription, keys: { ...subscription.keys, extra: "x" } }, "subscription.keys.extra"],
    ["no keys", { endpoint: subscription.endpoint }, "subscription.keys"],
  ];
  for (const [label, sub, path] of cases) {
    const error = await errorJson(await subscribe(t, alice, sub), 422, "validation_failed");
    assert.ok(
      error.details.some((d: { path: string }) => d.path === path),
      `${label}: ${JSON.stringify(error.details)}`,
    );
  }
  await errorJson(
    await t.request("/api/v1/push/subscriptions", json("POST", {}, alice.bearer)),
    422,
    "validation_failed",
  );
  await errorJson(
    await t.request("/api/v1/push/subscriptions", json("POST", { subscription, device: "x" }, alice.bearer)),
    422,
    "validation_failed",
  );
  await errorJson(
    await t.request("/api/v1/push/subscriptions", json("POST", { subscription })),
    401,
    "unauthorized",
  );
  await errorJson(await t.request("/api/v1/push/subscriptions"), 401, "unauthorized");
  const crossSite = await subscribe(t, alice, subscription, {
    cookie: alice.cookies,
    origin: "https://evil.example",
    "sec-fetch-site": "cross-site",
  });
  await errorJson(crossSite, 403, "csrf_failed");
  const rows = await t.platform.db.query("select 1 from public.push_subscriptions");
  assert.equal(rows.length, 0, "nothing was stored");
});

appTest("[push] on a public server, endpoints on private networks are refused", async (t) => {
  const alice = await randomUser(t, "alice");
  const refused = [
    "http://127.0.0.1/push/abc",
    "https://127.0.0.1/push/abc",
    "https://10.0.0.1/push/abc",
    "https://192.168.1.20/push/abc",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/push/abc",
    "https://[fd00::1]/push/abc",
    "https://localhost/push/abc",
    "https://localhost./push/abc",
  ];
  for (const endpoint of refused) {
    const res = await subscribe(t, alice, await subscriptionAt(endpoint));
    assert.equal(res.status, 422, endpoint);
    const error = await errorJson(res, 422, "validation_failed");
    assert.ok(
      error.details.some((d: { path: string }) => d.path === "subscription.endpoint"),
      `${endpoint}: ${JSON.stringify(error.details)}`,
    );
  }
  assert.deepEqual(await devices(t, alice), []);
  const fcm = await subscriptionAt("https://fcm.googleapis.com/fcm/send/abc");
  await okJson(await subscribe(t, alice, fcm), 201);
  assert.equal((await devices(t, alice)).length, 1);
}, { env: { PUBLIC_URL: "https://plaza.example.org" } });

test("[push] unsubscribing removes only the caller's device", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const { subscription: phone } = await p.push.subscribe();
  const { subscription: laptop } = await p.push.subscribe();
  const { subscription: bobs } = await p.push.subscribe();
  await okJson(await subscribe(t, alice, phone), 201);
  await okJson(await subscribe(t, alice, laptop), 201);
  await okJson(await subscribe(t, bob, bobs), 201);

  assert.deepEqual(await okJson(await unsubscribe(t, bob, phone.endpoint)), { removed: 0 });
  assert.equal((await devices(t, alice)).length, 2, "Bob cannot remove Alice's device");

  assert.deepEqual(await okJson(await unsubscribe(t, alice, phone.endpoint)), { removed: 1 });
  assert.equal((await devices(t, alice)).length, 1);
  assert.equal((await devices(t, bob)).length, 1);
  const [left] = await t.platform.db.query<{ endpoint: string }>(
    "select endpoint from public.push_subscriptions where user_id = $1",
    [alice.id],
  );
  assert.equal(left.endpoint, laptop.endpoint);
  assert.deepEqual(await okJson(await unsubscribe(t, alice, phone.endpoint)), { removed: 0 });

  // A push for Alice now reaches only the laptop.
  await notify(t.platform, alice.id, { category: "chat", template: "system.test", dedupKey: "u" });
  await p.drain();
  assert.deepEqual(p.push.received.map((r) => r.endpointId), [laptop.endpoint.split("/").pop()]);

  await errorJson(
    await t.request("/api/v1/push/subscriptions", json("DELETE", { endpoint: "not a url" }, alice.bearer)),
    422,
  );
  await errorJson(
    await t.request("/api/v1/push/subscriptions", json("DELETE", { endpoint: laptop.endpoint })),
    401,
  );
});

test("[push] a click marks the notification read and the push delivery clicked", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const { subscription } = await p.push.subscribe();
  await okJson(await subscribe(t, alice, subscription), 201);
  const { id } = await notify(t.platform, alice.id, {
    category: "chat",
    template: "system.test",
    dedupKey: "c",
  });
  await p.drain();
  assert.equal(p.push.received.length, 1);
  const clickUrl = JSON.parse(p.push.received[0].payload).click_url;
  assert.equal(clickUrl, `/api/v1/notifications/${id}/click`);
  const pushStatus = async () => {
    const [row] = await t.platform.db.query<{ status: string }>(
      "select status from plaza.deliveries where notification_id = $1 and channel = 'push'",
      [id],
    );
    return row.status;
  };
  const unread = async () =>
    (await okJson(await t.request("/api/v1/notifications/unread", { headers: alice.bearer }))).unread;
  assert.equal(await pushStatus(), "sent");
  assert.equal(await unread(), 1);

  await errorJson(await t.request(clickUrl, { method: "POST", headers: bob.bearer }), 404, "not_found");
  assert.equal(await pushStatus(), "sent", "another user's click changes nothing");
  assert.equal(await unread(), 1);
  await errorJson(
    await t.request("/api/v1/notifications/abc/click", { method: "POST", headers: alice.bearer }),
    422,
    "validation_failed",
  );
  await errorJson(await t.request(clickUrl, { method: "POST" }), 401);

  assert.deepEqual(await okJson(await t.request(clickUrl, { method: "POST", headers: alice.bearer })), {
    ok: true,
    unread: 0,
  });
  assert.equal(await pushStatus(), "clicked");
  const list = await okJson(await t.request("/api/v1/notifications", { headers: alice.bearer }));
  assert.equal(list.notifications[0].id, id);
  assert.ok(list.notifications[0].read_at, "read");
  // A second click (the "Mark as read" action after opening) is harmless.
  assert.equal((await okJson(await t.request(clickUrl, { method: "POST", headers: alice.bearer }))).ok, true);
  assert.equal(await pushStatus(), "clicked");
});

test("[push] a test notification reaches the device; the sixth in an hour is refused", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe({ applicationServerKey: await publicKey(t) });
  await okJson(await subscribe(t, alice, subscription), 201);
  const created = await okJson(
    await t.request("/api/v1/notifications/test", { method: "POST", headers: alice.bearer }),
    201,
  );
  assert.ok(Number.isInteger(created.id));
  assert.equal(p.push.received.length, 0, "sent by the job, not the request");
  await p.drain();
  assert.equal(p.push.received.length, 1);
  const payload = JSON.parse(p.push.received[0].payload);
  assert.equal(payload.notification_id, created.id);
  assert.equal(payload.title, "Test notification");
  assert.match(p.push.received[0].vapidSubject, /^mailto:/);

  for (let i = 0; i < 4; i++) {
    await okJson(
      await t.request("/api/v1/notifications/test", { method: "POST", headers: alice.bearer }),
      201,
    );
  }
  const res = await t.request("/api/v1/notifications/test", { method: "POST", headers: alice.bearer });
  await errorJson(res, 429, "rate_limited");
  assert.ok(Number(res.headers.get("retry-after")) > 0);
  const [count] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.notifications where user_id = $1",
    [alice.id],
  );
  assert.equal(count.n, 5, "the refused one created nothing");
  await errorJson(await t.request("/api/v1/notifications/test", { method: "POST" }), 401);
});
