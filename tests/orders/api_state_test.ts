/**
 * Orders API (docs/orders.md): creating (validation, idempotency, rate limit), the state machine and
 * who may do what, assignment, the order's chat room, notifications, listing, and racing requests.
 */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { expectError, expectOk, notificationsOf } from "../support/events.ts";
import { json, randomUser, type TestUser } from "../support/factories.ts";
import {
  api,
  cast,
  DROPOFF,
  type OrderCast,
  orderIn,
  PICKUP,
  placeOrder,
  randomPartner,
} from "../support/orders.ts";

const body = (extra: Record<string, unknown> = {}) => ({ pickup: PICKUP, dropoff: DROPOFF, ...extra });
const status = (t: TestContext, u: TestUser, id: string, s: string) =>
  api(t, u, "POST", `/orders/${id}/status`, { status: s });
const orderCount = async (t: TestContext) =>
  Number((await t.platform.db.query<{ n: number }>("select count(*)::int as n from public.orders"))[0].n);

appTest("[orders] create: 201 with the order view, its timeline and what the customer may do", async (t) => {
  const customer = await randomUser(t, "customer");
  const res = await api(t, customer, "POST", "/orders", body({ notes: "  Ring twice " }));
  const o = expectOk(res, 201);
  assert.match(o.id, /^[0-9a-f-]{36}$/);
  assert.equal(o.status, "requested");
  assert.equal(o.customer.id, customer.id);
  assert.equal(o.partner, null);
  assert.deepEqual(o.pickup, PICKUP);
  assert.deepEqual(o.dropoff, DROPOFF);
  assert.equal(o.notes, "Ring twice");
  assert.match(o.room_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(o.allowed, ["cancelled"]);
  assert.equal(o.fixes_dropped, 0);
  assert.equal(o.timeline.length, 1);
  assert.equal(o.timeline[0].kind, "created");
  assert.equal(o.timeline[0].status, "requested");
  assert.equal(o.timeline[0].actor_id, customer.id);
  const again = expectOk(await api(t, customer, "GET", `/orders/${o.id}`));
  assert.equal(again.id, o.id);
  assert.equal(again.status, "requested");
});

appTest("[orders] create: Idempotency-Key and client_id return the first order with 200", async (t) => {
  const customer = await randomUser(t, "customer");
  const withKey = (key: string) =>
    t.request("/api/v1/orders", json("POST", body(), { ...customer.bearer, "idempotency-key": key }));
  const r1 = await withKey("key-1");
  assert.equal(r1.status, 201);
  const first = await r1.json();
  const r2 = await withKey("key-1");
  assert.equal(r2.status, 200);
  assert.equal((await r2.json()).id, first.id);

  const c1 = expectOk(await api(t, customer, "POST", "/orders", body({ client_id: "cid-1" })), 201);
  assert.notEqual(c1.id, first.id);
  const c2 = expectOk(await api(t, customer, "POST", "/orders", body({ client_id: "cid-1" })), 200);
  assert.equal(c2.id, c1.id);

  // Another person's identical key is their own order.
  const other = await randomUser(t, "other");
  const o1 = expectOk(await api(t, other, "POST", "/orders", body({ client_id: "cid-1" })), 201);
  assert.notEqual(o1.id, c1.id);
  assert.equal(await orderCount(t), 3);

  const bad = await t.request(
    "/api/v1/orders",
    json("POST", body(), { ...customer.bearer, "idempotency-key": "a b" }),
  );
  assert.equal(bad.status, 422);
  assert.equal(await orderCount(t), 3);
});

appTest("[orders] create: garbage bodies are refused with 4xx and store nothing", async (t) => {
  const customer = await randomUser(t, "customer");
  const far = { ...DROPOFF, lat: PICKUP.lat + 2 }; // ~222 km north
  const cases: [string, unknown, string][] = [
    ["pickup is a string", body({ pickup: "here" }), "pickup"],
    ["lat is a string", body({ pickup: { ...PICKUP, lat: "48.8" } }), "pickup.lat"],
    ["lat is 'NaN'", body({ pickup: { ...PICKUP, lat: "NaN" } }), "pickup.lat"],
    ["lat is null", body({ dropoff: { ...DROPOFF, lat: null } }), "dropoff.lat"],
    ["lat 91", body({ pickup: { ...PICKUP, lat: 91 } }), "pickup.lat"],
    ["lat -90.5", body({ dropoff: { ...DROPOFF, lat: -90.5 } }), "dropoff.lat"],
    ["lng 181", body({ pickup: { ...PICKUP, lng: 181 } }), "pickup.lng"],
    ["lng -180.01", body({ dropoff: { ...DROPOFF, lng: -180.01 } }), "dropoff.lng"],
    ["unknown field", body({ price: 3 }), "price"],
    ["unknown stop field", body({ pickup: { ...PICKUP, floor: 2 } }), "pickup.floor"],
    ["missing dropoff", { pickup: PICKUP }, "dropoff"],
    ["same place", body({ dropoff: { ...PICKUP, address: "Same" } }), "dropoff"],
    ["over 200 km apart", body({ dropoff: far }), "dropoff"],
    ["address too long", body({ pickup: { ...PICKUP, address: "x".repeat(201) } }), "pickup.address"],
    ["empty address", body({ dropoff: { ...DROPOFF, address: "   " } }), "dropoff.address"],
    ["notes too long", body({ notes: "n".repeat(1001) }), "notes"],
    ["notes a number", body({ notes: 5 }), "notes"],
    ["bad client_id", body({ client_id: "has spaces" }), "client_id"],
    ["an array", [body()], "(body)"],
  ];
  for (const [what, b, path] of cases) {
    const err = expectError(await api(t, customer, "POST", "/orders", b), 422);
    assert.ok(
      Array.isArray(err.details) && err.details.some((d: { path: string }) => d.path === path),
      `${what}: expected a problem at ${path}, got ${JSON.stringify(err.details)}`,
    );
  }
  // 200 km is fine just below the limit.
  const near = { ...DROPOFF, lat: PICKUP.lat + 1.7, lng: PICKUP.lng }; // ~189 km
  expectOk(await api(t, customer, "POST", "/orders", body({ dropoff: near })), 201);
  assert.equal(await orderCount(t), 1);

  const notJson = await t.request("/api/v1/orders", {
    method: "POST",
    headers: { ...customer.bearer, "content-type": "application/json" },
    body: '{"pickup": {"lat": NaN}}',
  });
  assert.equal(notJson.status, 400);
  const text = await t.request("/api/v1/orders", {
    method: "POST",
    headers: { ...customer.bearer, "content-type": "text/plain" },
    body: JSON.stringify(body()),
  });
  assert.equal(text.status, 415);
  const signedOut = await t.request("/api/v1/orders", json("POST", body()));
  assert.equal(signedOut.status, 401);
  assert.equal((await t.request("/api/v1/orders")).status, 401);
  assert.equal(await orderCount(t), 1);
});

appTest("[orders] create: the 31st order in an hour gets 429 with Retry-After", async (t) => {
  const customer = await randomUser(t, "customer");
  // The limiter weighs fixed hour-long windows: start well inside one so all hits land in it.
  const left = 3600_000 - (Date.now() % 3600_000);
  if (left < 20_000) await new Promise((r) => setTimeout(r, left + 100));
  for (let i = 0; i < 30; i++) {
    expectOk(await api(t, customer, "POST", "/orders", body()), 201);
  }
  const res = await t.request("/api/v1/orders", json("POST", body(), customer.bearer));
  assert.equal(res.status, 429);
  const retry = Number(res.headers.get("retry-after"));
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 3943, `Retry-After ${retry}`);
  assert.equal((await res.json()).error.code, "rate_limited");
  assert.equal(await orderCount(t), 30);
  // Someone else is not limited.
  expectOk(await api(t, await randomUser(t, "other"), "POST", "/orders", body()), 201);
});

// The table of docs/orders.md, written out independently of lib/orders/state.ts.
const STEP: Record<string, string> = {
  assigned: "en_route_pickup",
  en_route_pickup: "picked_up",
  picked_up: "en_route_dropoff",
  en_route_dropoff: "delivered",
};
type Who = "customer" | "partner" | "admin";
function expected(from: string, to: string, who: Who): "ok" | 403 | 409 {
  if (to === "cancelled") {
    const early = ["requested", "assigned", "en_route_pickup"].includes(from);
    const late = ["picked_up", "en_route_dropoff"].includes(from);
    if ((early && who !== "partner") || (late && who === "admin")) return "ok";
    return who === "partner" ? 403 : 409;
  }
  if (who !== "partner") return 403;
  return STEP[from] === to ? "ok" : 409;
}
const allowedFor = (from: string, who: Who) =>
  ["en_route_pickup", "picked_up", "en_route_dropoff", "delivered", "cancelled"].filter((to) =>
    expected(from, to, who) === "ok"
  );

appTest(
  "[orders] state machine: every refused step by everyone at every status, then the path",
  async (t) => {
    const c = await cast(t);
    const stranger = await randomUser(t, "stranger");
    let order = await placeOrder(t, c.customer);
    const targets = ["en_route_pickup", "picked_up", "en_route_dropoff", "delivered", "cancelled"];
    const path = ["requested", "assigned", "en_route_pickup", "picked_up", "en_route_dropoff", "delivered"];
    for (const from of path) {
      assert.equal(order.status, from);
      for (const who of ["customer", "partner", "admin"] as Who[]) {
        if (from === "requested" && who === "partner") {
          // Not assigned yet: the partner is a stranger to this order.
          expectError(await status(t, c.partner, order.id, "en_route_pickup"), 404);
          continue;
        }
        const view = expectOk(await api(t, c[who], "GET", `/orders/${order.id}`));
        assert.deepEqual(view.allowed, allowedFor(from, who), `${who} at ${from}`);
        for (const to of targets) {
          const want = expected(from, to, who);
          if (want === "ok") continue;
          const res = await status(t, c[who], order.id, to);
          const err = expectError(res, want, want === 409 ? "illegal_transition" : "forbidden");
          if (want === 409) {
            assert.deepEqual(
              err.details,
              { from, to, allowed: allowedFor(from, who) },
              `${who} ${from}->${to}`,
            );
          }
        }
      }
      for (const to of ["requested", "assigned", "lost"]) {
        expectError(await status(t, c.admin, order.id, to), 422);
      }
      expectError(await status(t, stranger, order.id, "cancelled"), 404);
      expectError(await api(t, stranger, "GET", `/orders/${order.id}`), 404);
      const [row] = await t.platform.db.query<{ status: string }>(
        "select status from public.orders where id = $1",
        [
          order.id,
        ],
      );
      assert.equal(row.status, from, "refused requests changed nothing");
      if (from === "delivered") break;
      order = from === "requested"
        ? expectOk(await api(t, c.admin, "POST", `/orders/${order.id}/assign`, { partner_id: c.partner.id }))
        : expectOk(await status(t, c.partner, order.id, STEP[from]));
      assert.equal(order.status, path[path.indexOf(from) + 1]);
    }
    const final = expectOk(await api(t, c.customer, "GET", `/orders/${order.id}`));
    assert.deepEqual(final.timeline.map((e: { kind: string; status: string }) => `${e.kind}:${e.status}`), [
      "created:requested",
      "assigned:assigned",
      "status:en_route_pickup",
      "status:picked_up",
      "status:en_route_dropoff",
      "status:delivered",
    ]);
    assert.deepEqual(final.allowed, []);
    expectError(
      await api(t, c.admin, "POST", `/orders/${order.id}/assign`, { partner_id: c.partner.id }),
      409,
    );
  },
);

appTest("[orders] cancel: customer early, admin late, never the partner; cancelled is final", async (t) => {
  const c = await cast(t);
  for (const s of ["requested", "assigned", "en_route_pickup"] as const) {
    const o = await orderIn(t, c, s);
    expectError(await status(t, c.partner, o.id, "cancelled"), s === "requested" ? 404 : 403);
    const done = expectOk(await status(t, c.customer, o.id, "cancelled"));
    assert.equal(done.status, "cancelled");
    assert.equal(done.timeline.at(-1).actor_id, c.customer.id);
  }
  for (const s of ["picked_up", "en_route_dropoff"] as const) {
    const o = await orderIn(t, c, s);
    const err = expectError(await status(t, c.customer, o.id, "cancelled"), 409, "illegal_transition");
    assert.deepEqual(err.details, { from: s, to: "cancelled", allowed: [] });
    expectError(await status(t, c.partner, o.id, "cancelled"), 403);
    assert.equal(expectOk(await status(t, c.admin, o.id, "cancelled")).status, "cancelled");
    // Final: nobody moves it again, not even back to assigned.
    expectError(await status(t, c.admin, o.id, "cancelled"), 409, "illegal_transition");
    expectError(await status(t, c.partner, o.id, STEP[s]), 409, "illegal_transition");
    expectError(
      await api(t, c.admin, "POST", `/orders/${o.id}/assign`, { partner_id: c.partner.id }),
      409,
      "illegal_transition",
    );
    assert.equal(expectOk(await api(t, c.admin, "GET", `/orders/${o.id}`)).status, "cancelled");
  }
  const delivered = await orderIn(t, c, "delivered");
  expectError(await status(t, c.admin, delivered.id, "cancelled"), 409, "illegal_transition");
  expectError(await status(t, c.customer, delivered.id, "cancelled"), 409, "illegal_transition");
});

async function roomMembers(t: TestContext, roomId: string): Promise<string[]> {
  const rows = await t.platform.db.query<{ id: string }>(
    "select user_id::text as id from public.room_members where room_id = $1 order by user_id",
    [roomId],
  );
  return rows.map((r) => r.id);
}

appTest("[orders] assign: admins only, partners only, re-assigning swaps the chat member", async (t) => {
  const c = await cast(t);
  const other = await randomPartner(t, "other");
  const order = await placeOrder(t, c.customer);
  const assign = (u: TestUser, partner: string, id = order.id) =>
    api(t, u, "POST", `/orders/${id}/assign`, { partner_id: partner });
  expectError(await assign(c.customer, c.partner.id), 403, "forbidden");
  expectError(await assign(c.partner, c.partner.id), 403);
  expectError(await assign(c.admin, c.customer.id), 422, "not_a_partner");
  expectError(await assign(c.admin, crypto.randomUUID()), 422, "not_a_partner");
  expectError(await api(t, c.admin, "POST", `/orders/${order.id}/assign`, { partner_id: "nope" }), 422);
  expectError(await assign(c.admin, c.partner.id, crypto.randomUUID()), 404);
  assert.deepEqual(await roomMembers(t, order.room_id), [c.customer.id]);

  const a = expectOk(await assign(c.admin, c.partner.id));
  assert.equal(a.status, "assigned");
  assert.equal(a.partner.id, c.partner.id);
  assert.deepEqual(await roomMembers(t, order.room_id), [c.customer.id, c.partner.id].sort());
  expectOk(await status(t, c.partner, order.id, "en_route_pickup"));

  const b = expectOk(await assign(c.admin, other.id));
  assert.equal(b.status, "assigned", "re-assigning starts over at assigned");
  assert.equal(b.partner.id, other.id);
  assert.deepEqual(await roomMembers(t, order.room_id), [c.customer.id, other.id].sort());
  expectError(await api(t, c.partner, "GET", `/orders/${order.id}`), 404);
  expectError(await status(t, c.partner, order.id, "picked_up"), 404);
  expectError(await api(t, c.partner, "GET", `/rooms/${order.room_id}/messages`), 404);
  expectOk(await api(t, other, "GET", `/rooms/${order.room_id}/messages`));
  assert.deepEqual(expectOk(await api(t, other, "GET", `/orders/${order.id}`)).allowed, ["en_route_pickup"]);

  expectOk(await status(t, other, order.id, "en_route_pickup"));
  expectOk(await status(t, other, order.id, "picked_up"));
  const err = expectError(await assign(c.admin, c.partner.id), 409, "illegal_transition");
  assert.equal(err.details.from, "picked_up");
  const after = expectOk(await api(t, c.admin, "GET", `/orders/${order.id}`));
  assert.equal(after.partner.id, other.id);
  assert.equal(after.status, "picked_up");
});

appTest("[orders] chat room: kind order, status changes as system messages", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "delivered");
  const [room] = await t.platform.db.query<{ kind: string; order_id: string }>(
    "select kind, order_id::text from public.rooms where id = $1",
    [order.room_id],
  );
  assert.equal(room.kind, "order");
  assert.equal(room.order_id, order.id);
  const page = expectOk(
    await api(t, c.customer, "GET", `/rooms/${order.room_id}/messages?after=0&limit=100`),
  );
  const system = page.messages.filter((m: { kind: string }) => m.kind === "system");
  assert.deepEqual(system.map((m: { data: { status: string } }) => m.data.status), [
    "assigned",
    "en_route_pickup",
    "picked_up",
    "en_route_dropoff",
    "delivered",
  ]);
  assert.ok(
    system.every((m: { user_id: unknown; data: { order_id: string } }) => m.data.order_id === order.id),
  );
  assert.match(system.at(-1).body, /Delivered/);
  const stranger = await randomUser(t, "stranger");
  expectError(await api(t, stranger, "GET", `/rooms/${order.room_id}/messages`), 404);
});

appTest(
  "[orders] notifications: the customer hears of changes they did not make; the partner of assignment",
  async (t) => {
    const c: OrderCast = await cast(t);
    const order = await orderIn(t, c, "en_route_dropoff"); // assign + 3 steps by others
    const rows = () =>
      t.platform.db.query<
        { template: string; category: string; data: { status?: string; order_id: string } }
      >(
        "select template, category, data from public.notifications where user_id = $1 order by id",
        [c.customer.id],
      );
    const mine = await rows();
    assert.deepEqual(mine.map((r) => r.template), Array(4).fill("orders.status"));
    assert.ok(mine.every((r) => r.category === "orders" && r.data.order_id === order.id));
    assert.deepEqual(mine.map((r) => r.data.status), [
      "assigned",
      "en_route_pickup",
      "picked_up",
      "en_route_dropoff",
    ]);
    assert.deepEqual(await notificationsOf(t, c.partner.id), ["orders.assigned"]);

    // The customer's own cancellation tells them nothing; the admin's does.
    const own = await orderIn(t, c, "requested");
    expectOk(await status(t, c.customer, own.id, "cancelled"));
    assert.equal((await rows()).length, 4);
    expectOk(await status(t, c.admin, order.id, "cancelled"));
    const last = await rows();
    assert.equal(last.length, 5);
    assert.equal(last.at(-1)!.data.status, "cancelled");
    assert.deepEqual(await notificationsOf(t, c.partner.id), ["orders.assigned"]);
    const [{ n }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.order_events where notify and notified_at is null",
    );
    assert.equal(Number(n), 0, "the outbox is empty");
  },
);

appTest("[orders] listing: scopes, status filters and cursor pages", async (t) => {
  const c = await cast(t);
  const other = await randomUser(t, "other");
  const requested = await placeOrder(t, c.customer);
  const active = await orderIn(t, c, "en_route_pickup");
  const delivered = await orderIn(t, c, "delivered");
  const theirs = await placeOrder(t, other);
  const ids = (r: { body: { orders: { id: string }[] } }) => r.body.orders.map((o) => o.id);
  const list = (u: TestUser, q = "") => api(t, u, "GET", `/orders${q}`);

  const mine = expectOk(await list(c.customer));
  assert.deepEqual(mine.orders.map((o: { id: string }) => o.id), [delivered.id, active.id, requested.id]);
  assert.equal(mine.next, null);
  assert.equal(mine.orders[0].timeline, undefined);
  assert.deepEqual(ids(await list(other, "?scope=mine")), [theirs.id]);
  assert.deepEqual(ids(await list(c.partner, "?scope=assigned")), [delivered.id, active.id]);
  assert.deepEqual(ids(await list(c.partner)), []);
  expectError(await list(c.customer, "?scope=all"), 403);
  expectError(await list(c.partner, "?scope=all"), 403);
  assert.deepEqual(ids(await list(c.admin, "?scope=all")), [
    theirs.id,
    delivered.id,
    active.id,
    requested.id,
  ]);
  assert.deepEqual(ids(await list(c.admin, "?scope=all&status=active")), [active.id]);
  assert.deepEqual(ids(await list(c.admin, "?scope=all&status=final")), [delivered.id]);
  assert.deepEqual(ids(await list(c.admin, "?scope=all&status=requested")), [theirs.id, requested.id]);
  assert.deepEqual(ids(await list(c.customer, "?status=en_route_pickup")), [active.id]);
  assert.deepEqual(ids(await list(c.partner, "?scope=assigned&status=delivered")), [delivered.id]);
  expectError(await list(c.customer, "?status=lost"), 422);
  expectError(await list(c.customer, "?limit=101"), 422);
  expectError(await list(c.customer, "?before=garbage"), 422);

  const seen: string[] = [];
  let cursor = "";
  for (let page = 0; page < 5; page++) {
    const r = expectOk(await list(c.admin, `?scope=all&limit=1${cursor ? `&before=${cursor}` : ""}`));
    seen.push(...r.orders.map((o: { id: string }) => o.id));
    if (!r.next) break;
    assert.equal(r.orders.length, 1);
    cursor = encodeURIComponent(r.next);
  }
  assert.deepEqual(seen, [theirs.id, delivered.id, active.id, requested.id]);
  const two = expectOk(await list(c.admin, "?scope=all&limit=2"));
  assert.equal(two.orders.length, 2);
  const rest = expectOk(await list(c.admin, `?scope=all&limit=2&before=${encodeURIComponent(two.next)}`));
  assert.deepEqual(rest.orders.map((o: { id: string }) => o.id), [active.id, requested.id]);
  assert.equal(rest.next, null);
});

appTest("[orders] race: two simultaneous posts of the same step, exactly one wins", async (t) => {
  const c = await cast(t);
  for (const [from, to] of [["assigned", "en_route_pickup"], ["en_route_pickup", "picked_up"]] as const) {
    const o = await orderIn(t, c, from);
    const results = await Promise.all([status(t, c.partner, o.id, to), status(t, c.partner, o.id, to)]);
    const codes = results.map((r) => r.status).sort();
    assert.deepEqual(codes, [200, 409], JSON.stringify(results.map((r) => r.body)));
    const lost = results.find((r) => r.status === 409)!;
    assert.equal(lost.body.error.code, "illegal_transition");
    const [{ n }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.order_events where order_id = $1 and status = $2",
      [o.id, to],
    );
    assert.equal(Number(n), 1, "one timeline row");
  }
  // Customer cancelling while the partner sets off: one of them wins, the order is consistent.
  const o = await orderIn(t, c, "assigned");
  const [a, b] = await Promise.all([
    status(t, c.partner, o.id, "en_route_pickup"),
    status(t, c.customer, o.id, "cancelled"),
  ]);
  assert.ok(a.status === 200 || b.status === 200, "at least one wins");
  const final = expectOk(await api(t, c.admin, "GET", `/orders/${o.id}`));
  if (b.status === 200) assert.equal(final.status, "cancelled");
  else assert.equal(final.status, "en_route_pickup");
});
