/**
 * Location fixes (docs/orders.md): who may send them and when, validation, idempotency, the jump
 * filter, the rate limit, the customer's privacy window (API and RLS), geofences, ETA, share links
 * and retention.
 */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { distanceM, type LatLng, moveBy } from "@/lib/location/geo.ts";
import { purgeTrails } from "@/lib/location/purge.ts";
import { flushOrderOutbox } from "@/lib/orders/outbox.ts";
import { signShare } from "@/lib/orders/share.ts";
import { locationPurge } from "@/workers/location_purge.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { until } from "../support/chat.ts";
import { expectError, expectOk, notificationsOf } from "../support/events.ts";
import { json, randomUser, type TestUser } from "../support/factories.ts";
import {
  api,
  cast,
  DROPOFF,
  fix,
  type OrderCast,
  orderIn,
  PICKUP,
  randomPartner,
  route,
  sendFixes,
} from "../support/orders.ts";

const stored = async (t: TestContext, orderId: string) =>
  Number(
    (await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.order_locations where order_id = $1",
      [orderId],
    ))[0].n,
  );
const track = (t: TestContext, u: TestUser, id: string, q = "") =>
  api(t, u, "GET", `/orders/${id}/track${q}`);
const step = (t: TestContext, u: TestUser, id: string, s: string) =>
  api(t, u, "POST", `/orders/${id}/status`, { status: s });
const times = (trail: { recorded_at: string }[]) => trail.map((f) => f.recorded_at);
const claims = (u: TestUser) => ({ sub: u.id, role: "authenticated" as const });
/**
 * `n` fixes `stepM` metres apart going north from `p`, recorded now (1 ms apart, so after any change
 * so far); accuracy 50 m, so moves of up to 100 m are not jumps.
 */
const fresh = (p: LatLng, n: number, stepM = 5) => {
  const base = Date.now();
  return Array.from({ length: n }, (_, i) => fix(moveBy(p, i * stepM, 0), base + i, { accuracy: 50 }));
};
const events = async (t: TestContext, orderId: string, kind: string) =>
  Number(
    (await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.order_events where order_id = $1 and kind = $2",
      [orderId, kind],
    ))[0].n,
  );

appTest("[locations] only the assigned partner, only while the order is active", async (t) => {
  const c = await cast(t);
  const other = await randomPartner(t, "other");
  const stranger = await randomUser(t, "stranger");
  const o = await orderIn(t, c, "assigned");
  const batch = route(PICKUP, 3);
  expectError(await sendFixes(t, c.customer, o.id, batch), 403, "not_assigned");
  expectError(await sendFixes(t, c.admin, o.id, batch), 403, "not_assigned");
  expectError(await sendFixes(t, stranger, o.id, batch), 404);
  expectError(await sendFixes(t, other, o.id, batch), 404);
  expectError(await sendFixes(t, c.partner, crypto.randomUUID(), batch), 404);
  assert.equal(await stored(t, o.id), 0);
  const ok = expectOk(await sendFixes(t, c.partner, o.id, batch));
  assert.deepEqual(ok, { accepted: 3, duplicates: 0, dropped_jumps: 0, latest: batch[2] });
  assert.equal(await stored(t, o.id), 3);

  // Not active: requested (a partner set behind the API's back), delivered, cancelled.
  const unassigned = await orderIn(t, c, "requested");
  expectError(await sendFixes(t, c.partner, unassigned.id, batch), 404, "not_found");
  expectError(await sendFixes(t, c.customer, unassigned.id, batch), 403, "not_assigned");
  // (A fresh order: the request path caches an order's facts for 2 s.)
  const requested = await orderIn(t, c, "requested");
  await t.platform.db.query("update public.orders set partner_id = $2 where id = $1", [
    requested.id,
    c.partner.id,
  ]);
  expectError(await sendFixes(t, c.partner, requested.id, batch), 409, "order_not_active");
  const delivered = await orderIn(t, c, "delivered");
  expectError(await sendFixes(t, c.partner, delivered.id, route(DROPOFF, 2)), 409, "order_not_active");
  const cancelled = await orderIn(t, c, "picked_up");
  expectOk(await sendFixes(t, c.partner, cancelled.id, route(PICKUP, 2, 20, 2, Date.now() - 10_000)));
  expectOk(await step(t, c.admin, cancelled.id, "cancelled"));
  expectError(await sendFixes(t, c.partner, cancelled.id, route(PICKUP, 2)), 409, "order_not_active");
  assert.equal(await stored(t, requested.id) + await stored(t, delivered.id), 0);
  assert.equal(await stored(t, cancelled.id), 2);
});

appTest("[locations] validation: one bad fix refuses the whole batch with its path", async (t) => {
  const c = await cast(t);
  const o = await orderIn(t, c, "en_route_pickup");
  const good = () => route(PICKUP, 5);
  const withBad = (i: number, patch: Record<string, unknown>, drop?: string) => {
    const b: Record<string, unknown>[] = good();
    b[i] = { ...b[i], ...patch };
    if (drop) delete b[i][drop];
    return b;
  };
  const now = Date.now();
  const cases: [string, unknown, string][] = [
    ["lat as string", withBad(3, { lat: "48.85" }), "3.lat"],
    ["lat 'NaN'", withBad(0, { lat: "NaN" }), "0.lat"],
    ["lat 90.1", withBad(3, { lat: 90.1 }), "3.lat"],
    ["lng -181", withBad(2, { lng: -181 }), "2.lng"],
    ["lat missing", withBad(1, {}, "lat"), "1.lat"],
    ["accuracy 5001", withBad(4, { accuracy: 5001 }), "4.accuracy"],
    ["accuracy -1", withBad(4, { accuracy: -1 }), "4.accuracy"],
    ["speed 101", withBad(1, { speed: 101 }), "1.speed"],
    ["heading 360", withBad(2, { heading: 360 }), "2.heading"],
    ["heading -1", withBad(2, { heading: -1 }), "2.heading"],
    ["unknown field", withBad(3, { altitude: 30 }), "3.altitude"],
    ["future > 60 s", withBad(3, { recorded_at: new Date(now + 120_000).toISOString() }), "3.recorded_at"],
    [
      "older than 24 h",
      withBad(0, { recorded_at: new Date(now - 25 * 3600_000).toISOString() }),
      "0.recorded_at",
    ],
    ["no offset", withBad(3, { recorded_at: "2026-01-01T10:00:00" }), "3.recorded_at"],
    ["not a date", withBad(3, { recorded_at: "yesterday" }), "3.recorded_at"],
    ["a fix that is a number", withBad(1, { lat: 1 }, undefined).map((f, i) => i === 1 ? 7 : f), "1"],
  ];
  for (const [what, b, path] of cases) {
    const err = expectError(await sendFixes(t, c.partner, o.id, b), 422, "validation_failed");
    assert.ok(
      err.details.some((d: { path: string }) => d.path === path),
      `${what}: expected ${path}, got ${JSON.stringify(err.details)}`,
    );
  }
  expectError(await sendFixes(t, c.partner, o.id, []), 422);
  expectError(await sendFixes(t, c.partner, o.id, route(PICKUP, 101, 1, 1)), 422);
  expectError(await sendFixes(t, c.partner, o.id, good()[0]), 422, "validation_failed");
  const res = await t.request(`/api/v1/orders/${o.id}/locations`, {
    method: "POST",
    headers: { ...c.partner.bearer, "content-type": "application/json" },
    body: `[{"lat": NaN, "lng": Infinity, "accuracy": 5, "recorded_at": "${new Date().toISOString()}"}]`,
  });
  assert.equal(res.status, 400);
  assert.equal(await stored(t, o.id), 0, "nothing of a refused batch is stored");
  // Edge values are fine: 100 fixes, heading just under 360, null speed and heading, a +02:00 offset.
  const hundred = route(PICKUP, 100, 1, 1);
  const edge: Record<string, unknown>[] = hundred;
  edge[0] = { ...hundred[0], heading: 359.9, speed: null };
  edge[1] = { ...hundred[1], heading: null };
  const local = new Date(Date.parse(hundred[2].recorded_at) + 2 * 3600_000).toISOString().replace(
    "Z",
    "+02:00",
  );
  hundred[2] = { ...hundred[2], recorded_at: local };
  assert.equal(expectOk(await sendFixes(t, c.partner, o.id, hundred)).accepted, 100);
});

appTest("[locations] resends are idempotent and late batches land in time order", async (t) => {
  const c = await cast(t);
  const o = await orderIn(t, c, "en_route_pickup");
  const end = Date.now();
  const later = route(PICKUP, 4, 20, 2, end);
  const earlier = route(moveBy(PICKUP, 200, 180), 4, 20, 2, end - 60_000);
  expectOk(await sendFixes(t, c.partner, o.id, later));
  const again = expectOk(await sendFixes(t, c.partner, o.id, later));
  assert.equal(again.accepted, 0);
  assert.equal(again.duplicates, 4);
  const mixed = expectOk(await sendFixes(t, c.partner, o.id, [...earlier, later[1], earlier[0]]));
  assert.equal(mixed.accepted, 4);
  assert.equal(mixed.duplicates, 2, "one already stored, one repeated in the batch");
  assert.equal(await stored(t, o.id), 8);
  const trail = expectOk(await track(t, c.partner, o.id)).trail;
  const want = [...earlier, ...later].map((f) => f.recorded_at);
  assert.deepEqual(times(trail), want);
  assert.deepEqual(expectOk(await track(t, c.admin, o.id)).position, later.at(-1));
  const since = expectOk(
    await track(t, c.partner, o.id, `?since=${encodeURIComponent(later[1].recorded_at)}`),
  );
  assert.deepEqual(times(since.trail), want.slice(6));
});

appTest(
  "[locations] jump filter: a 10 km leap is dropped and counted; three agreeing fixes re-anchor",
  async (t) => {
    const c = await cast(t);
    const o = await orderIn(t, c, "en_route_pickup");
    const t0 = Date.now() - 50_000;
    const far = moveBy(PICKUP, 10_000, 90);
    expectOk(await sendFixes(t, c.partner, o.id, [fix(PICKUP, t0)]));
    const jump = expectOk(await sendFixes(t, c.partner, o.id, [fix(far, t0 + 10_000)]));
    assert.deepEqual([jump.accepted, jump.dropped_jumps, jump.latest], [0, 1, null]);
    assert.equal(expectOk(await api(t, c.admin, "GET", `/orders/${o.id}`)).fixes_dropped, 1);
    const next = [fix(moveBy(far, 20, 0), t0 + 12_000), fix(moveBy(far, 40, 0), t0 + 14_000)];
    const anchored = expectOk(await sendFixes(t, c.partner, o.id, next));
    assert.deepEqual([anchored.accepted, anchored.dropped_jumps], [1, 1], JSON.stringify(anchored));
    assert.deepEqual(anchored.latest, next[1]);
    const after = expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(far, 60, 0), t0 + 16_000)]));
    assert.deepEqual([after.accepted, after.dropped_jumps], [1, 0], "the new place is the reference");
    assert.equal(expectOk(await api(t, c.customer, "GET", `/orders/${o.id}`)).fixes_dropped, 2);
    assert.deepEqual(times(expectOk(await track(t, c.partner, o.id)).trail), [
      fix(PICKUP, t0).recorded_at,
      next[1].recorded_at,
      new Date(t0 + 16_000).toISOString(),
    ]);
  },
);

appTest("[locations] the 301st request in a minute gets 429 with Retry-After", async (t) => {
  const c = await cast(t);
  const o = await orderIn(t, c, "en_route_pickup");
  await fixedWindowRoom(60);
  const base = Date.now() - 400_000;
  for (let i = 0; i < 300; i++) {
    const res = await sendFixes(t, c.partner, o.id, [fix(PICKUP, base + i * 1000)]);
    assert.equal(res.status, 200, `request ${i + 1}: ${JSON.stringify(res.body)}`);
  }
  const res = await t.request(
    `/api/v1/orders/${o.id}/locations`,
    json("POST", [fix(PICKUP, base + 300_000)], c.partner.bearer),
  );
  assert.equal(res.status, 429);
  const retry = Number(res.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 61, `Retry-After ${retry}`);
  assert.equal(await stored(t, o.id), 300, "the refused request stored nothing");
});

/**
 * The limiter approximates a sliding window from fixed windows aligned to the epoch; a test that
 * counts to the limit starts early in one so that all its hits land in it.
 */
export async function fixedWindowRoom(windowSeconds: number, needSeconds = 20) {
  const left = windowSeconds * 1000 - (Date.now() % (windowSeconds * 1000));
  if (left < needSeconds * 1000) await new Promise((r) => setTimeout(r, left + 100));
}

async function moveOn(t: TestContext, c: OrderCast, id: string, s: string) {
  expectOk(await step(t, c.partner, id, s));
}

appTest(
  "[locations] privacy: the customer sees only the current en-route leg, nothing after delivery",
  async (t) => {
    const c = await cast(t);
    const stranger = await randomUser(t, "stranger");
    const o = await orderIn(t, c, "assigned");
    const assigned = route(moveBy(PICKUP, 100, 180), 3, 5, 2, Date.now() - 5000);
    expectOk(await sendFixes(t, c.partner, o.id, assigned));
    const hidden = expectOk(await track(t, c.customer, o.id));
    assert.deepEqual([hidden.visible, hidden.position, hidden.trail, hidden.eta_seconds], [
      false,
      null,
      [],
      null,
    ]);
    assert.equal(expectOk(await track(t, c.partner, o.id)).trail.length, 3);
    expectError(await track(t, stranger, o.id), 404);

    await moveOn(t, c, o.id, "en_route_pickup");
    const leg1 = fresh(moveBy(PICKUP, 80, 180), 2);
    expectOk(await sendFixes(t, c.partner, o.id, leg1));
    const seen = expectOk(await track(t, c.customer, o.id));
    assert.equal(seen.visible, true);
    assert.deepEqual(times(seen.trail), times(leg1), "only fixes since en_route_pickup began");
    assert.deepEqual(seen.position, leg1[1]);
    assert.equal(seen.eta_target, "pickup");

    // RLS says the same when SQL runs as the customer.
    const asCustomer = (sql: string, args: unknown[] = []) =>
      asUser(t.platform.db, claims(c.customer), (tx) => tx.query<{ recorded_at: string }>(sql, args));
    const rows = await asCustomer("select recorded_at from public.order_locations order by recorded_at");
    assert.deepEqual(rows.map((r) => new Date(r.recorded_at).toISOString()), times(leg1));
    const none = await asUser(
      t.platform.db,
      claims(stranger),
      (tx) => tx.query("select * from public.order_locations"),
    );
    assert.equal(none.length, 0);
    const partnerRows = await asUser(
      t.platform.db,
      claims(c.partner),
      (tx) => tx.query("select 1 from public.order_locations where order_id = $1", [o.id]),
    );
    assert.equal(partnerRows.length, 5);
    await assert.rejects(
      asCustomer(
        `insert into public.order_locations (order_id, recorded_at, partner_id, lat, lng, accuracy)
       values ($1, now(), $2, 48.85, 2.36, 5)`,
        [o.id, c.customer.id],
      ),
      /row-level security|permission denied/,
    );
    await assert.rejects(
      asCustomer(
        `insert into public.order_locations (order_id, recorded_at, partner_id, lat, lng, accuracy)
       values ($1, now(), $2, 48.85, 2.36, 5)`,
        [o.id, c.partner.id],
      ),
      /row-level security|permission denied/,
    );
    assert.equal(await stored(t, o.id), 5);

    await moveOn(t, c, o.id, "picked_up");
    expectOk(await sendFixes(t, c.partner, o.id, fresh(PICKUP, 1)));
    const picked = expectOk(await track(t, c.customer, o.id));
    assert.deepEqual([picked.visible, picked.trail, picked.position], [false, [], null]);
    assert.equal((await asCustomer("select 1 from public.order_locations")).length, 0);

    await moveOn(t, c, o.id, "en_route_dropoff");
    const leg2 = fresh(moveBy(PICKUP, 20, 0), 2);
    expectOk(await sendFixes(t, c.partner, o.id, leg2));
    assert.deepEqual(times(expectOk(await track(t, c.customer, o.id)).trail), times(leg2));
    assert.deepEqual(
      (await asCustomer("select recorded_at from public.order_locations order by recorded_at")).map((r) =>
        new Date(r.recorded_at).toISOString()
      ),
      times(leg2),
    );

    await moveOn(t, c, o.id, "delivered");
    const gone = expectOk(await track(t, c.customer, o.id));
    assert.deepEqual([gone.visible, gone.trail, gone.position, gone.eta_seconds], [false, [], null, null]);
    assert.equal((await asCustomer("select 1 from public.order_locations")).length, 0);
    assert.equal(expectOk(await track(t, c.partner, o.id)).trail.length, 8);
    const admin = expectOk(await track(t, c.admin, o.id));
    assert.equal(admin.visible, true);
    assert.equal(admin.trail.length, 8);
  },
);

/** `n` fixes along the straight line from `a` to `b`, `stepS` seconds apart, ending at `end`. */
function towards(a: LatLng, b: LatLng, n: number, end: number, stepS = 5, speed = 8) {
  return Array.from({ length: n }, (_, i) => {
    const f = i / (n - 1);
    const p = { lat: a.lat + (b.lat - a.lat) * f, lng: a.lng + (b.lng - a.lng) * f };
    return fix(p, end - (n - 1 - i) * stepS * 1000, { speed });
  });
}

appTest(
  "[locations] geofence: arrival at the dropoff once, one notification; not in the wrong leg",
  async (t) => {
    const c = await cast(t);
    const o = await orderIn(t, c, "en_route_pickup");
    // Near the dropoff while going to the pickup: no arrival of either kind.
    expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(DROPOFF, 50, 0), Date.now() - 300_000)]));
    // Badly accurate fixes at the pickup do not count.
    expectOk(await sendFixes(t, c.partner, o.id, [fix(PICKUP, Date.now() - 200_000, { accuracy: 400 })]));
    assert.equal(await events(t, o.id, "arrived_dropoff"), 0);
    assert.equal(await events(t, o.id, "arrived_pickup"), 0);
    expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(PICKUP, 60, 90), Date.now() - 100_000)]));
    assert.equal(await events(t, o.id, "arrived_pickup"), 1, "pickup geofence");
    await moveOn(t, c, o.id, "picked_up");
    await moveOn(t, c, o.id, "en_route_dropoff");

    const start = moveBy(DROPOFF, 600, 180);
    const end = Date.now();
    const approach = towards(start, moveBy(DROPOFF, 200, 180), 5, end - 12_000, 2);
    expectOk(await sendFixes(t, c.partner, o.id, approach));
    assert.equal(await events(t, o.id, "arrived_dropoff"), 0);
    expectOk(
      await sendFixes(
        t,
        c.partner,
        o.id,
        towards(moveBy(DROPOFF, 180, 180), moveBy(DROPOFF, 100, 180), 3, end - 4000, 2),
      ),
    );
    assert.equal(await events(t, o.id, "arrived_dropoff"), 1);
    expectOk(
      await sendFixes(t, c.partner, o.id, [fix(moveBy(DROPOFF, 60, 180), end - 2000), fix(DROPOFF, end)]),
    );
    expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(DROPOFF, 5, 0), end + 1000)]));
    assert.equal(await events(t, o.id, "arrived_dropoff"), 1);
    await until(
      "the arrival notifications",
      async () => (await notificationsOf(t, c.customer.id, "orders.arrived")).length >= 2,
      10_000,
    );
    await flushOrderOutbox(t.platform);
    const arrived = await t.platform.db.query<{ kind: string }>(
      "select data->>'kind' as kind from public.notifications where user_id = $1 and template = 'orders.arrived' order by id",
      [c.customer.id],
    );
    assert.deepEqual(arrived.map((r) => r.kind), ["pickup", "dropoff"]);
    const view = expectOk(await api(t, c.customer, "GET", `/orders/${o.id}`));
    assert.equal(view.timeline.filter((e: { kind: string }) => e.kind === "arrived_dropoff").length, 1);
    const tr = expectOk(await track(t, c.customer, o.id));
    assert.ok(tr.arrived.pickup && tr.arrived.dropoff, JSON.stringify(tr.arrived));
  },
);

appTest("[locations] ETA falls as the partner approaches and is 0 after arrival", async (t) => {
  const c = await cast(t);
  const o = await orderIn(t, c, "en_route_pickup");
  const etas: number[] = [];
  const now = Date.now();
  for (const [i, metres] of [1500, 1000, 500].entries()) {
    const p = moveBy(PICKUP, metres, 180);
    expectOk(await sendFixes(t, c.partner, o.id, [fix(p, now - (3 - i) * 10_000, { speed: 10 })]));
    const v = expectOk(await track(t, c.admin, o.id));
    assert.equal(v.eta_target, "pickup");
    assert.equal(v.eta_seconds, Math.round(distanceM(p, PICKUP) * 1.3 / 10), `at ${metres} m`);
    etas.push(v.eta_seconds);
  }
  assert.ok(etas[0] > etas[1] && etas[1] > etas[2], JSON.stringify(etas));
  expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(PICKUP, 30, 180), now, { speed: 10 })]));
  const there = expectOk(await track(t, c.admin, o.id));
  assert.equal(there.eta_seconds, 0);
  assert.ok(there.arrived.pickup);
});

appTest("[locations] share links: customer only, signed out viewing, tamper, revoke, expiry", async (t) => {
  const c = await cast(t);
  const stranger = await randomUser(t, "stranger");
  const o = await orderIn(t, c, "assigned");
  expectOk(await sendFixes(t, c.partner, o.id, route(moveBy(PICKUP, 800, 180), 2, 20, 2, Date.now() - 3000)));
  const share = (u: TestUser, b: unknown = {}) => api(t, u, "POST", `/orders/${o.id}/share`, b);
  expectError(await share(c.partner), 403);
  expectError(await share(stranger), 404);
  expectError(await share(c.customer, { ttl_minutes: 5 }), 422);
  const link = expectOk(await share(c.customer, { ttl_minutes: 30 }), 201);
  assert.equal(link.url, `/track/${link.token}`);
  const ttl = Date.parse(link.expires_at) - Date.now();
  assert.ok(ttl > 29 * 60_000 && ttl <= 30 * 60_000, link.expires_at);
  const view = async (token: string) => {
    const res = await t.request(`/api/v1/track/${token}`);
    return { status: res.status, body: await res.json() };
  };
  const hidden = expectOk(await view(link.token));
  assert.deepEqual([hidden.status, hidden.visible, hidden.trail, hidden.position], [
    "assigned",
    false,
    [],
    null,
  ]);
  for (const key of ["customer", "partner", "notes", "room_id", "customer_id", "partner_id"]) {
    assert.equal(key in hidden, false, `no ${key} in a shared view`);
  }
  await moveOn(t, c, o.id, "en_route_pickup");
  const leg = fresh(moveBy(PICKUP, 790, 180), 2);
  expectOk(await sendFixes(t, c.partner, o.id, leg));
  const shown = expectOk(await view(link.token));
  assert.equal(shown.visible, true);
  assert.deepEqual(times(shown.trail), times(leg));

  const last = link.token.at(-1) === "A" ? "B" : "A";
  expectError(await view(link.token.slice(0, -1) + last), 404);
  expectError(
    await view(link.token.replace(/\.(\d+)\./, (_m: string, e: string) => `.${Number(e) + 60}.`)),
    404,
  );
  expectError(await view("garbage"), 404);

  const [{ share_version }] = await t.platform.db.query<{ share_version: number }>(
    "select share_version from public.orders where id = $1",
    [o.id],
  );
  const past = Math.floor(Date.now() / 1000) - 60;
  const expired = await signShare(t.platform.shareKey, o.id, past, Number(share_version));
  expectError(await view(expired), 410, "link_expired");

  expectError(await api(t, c.partner, "DELETE", `/orders/${o.id}/share`), 404);
  assert.equal(expectOk(await view(link.token)).visible, true, "a failed revoke changes nothing");
  const del = await api(t, c.customer, "DELETE", `/orders/${o.id}/share`);
  assert.equal(del.status, 204);
  expectError(await view(link.token), 404);
  const again = expectOk(await share(c.admin), 201);
  assert.equal(expectOk(await view(again.token)).visible, true);
  await moveOn(t, c, o.id, "picked_up");
  await moveOn(t, c, o.id, "en_route_dropoff");
  await moveOn(t, c, o.id, "delivered");
  const done = expectOk(await view(again.token));
  assert.deepEqual([done.status, done.visible, done.trail, done.position], ["delivered", false, [], null]);
  expectError(await share(c.customer), 409, "order_finished");
});

appTest(
  "[locations] retention: fixes older than 30 days are purged by purgeTrails and the job",
  async (t) => {
    const c = await cast(t);
    const o = await orderIn(t, c, "en_route_pickup");
    const insert = (ageSql: string) =>
      t.platform.db.query(
        `insert into public.order_locations (order_id, recorded_at, partner_id, lat, lng, accuracy)
       select $1, now() - (${ageSql}) - make_interval(secs => g), $2, 48.85, 2.36, 10 from generate_series(1, 3) g`,
        [o.id, c.partner.id],
      );
    await insert("interval '31 days'");
    await insert("interval '29 days'");
    expectOk(await sendFixes(t, c.partner, o.id, route(PICKUP, 2)));
    assert.equal(await stored(t, o.id), 8);
    assert.equal(await purgeTrails(t.platform.db), 3);
    const left = await t.platform.db.query<{ old: number }>(
      "select count(*)::int as old from public.order_locations where recorded_at < now() - interval '30 days'",
    );
    assert.equal(Number(left[0].old), 0);
    assert.equal(await stored(t, o.id), 5);

    await insert("interval '40 days'");
    assert.equal(await stored(t, o.id), 8);
    await locationPurge(t.platform).run({}, { jobId: 1, attempt: 1 });
    assert.equal(await stored(t, o.id), 5, "the job deletes the old ones and keeps the recent");
  },
);
