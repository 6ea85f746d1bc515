/**
 * Orders over realtime (docs/orders.md, "Realtime"), with Plaza served on a free port and real
 * supabase-js clients: who may join `order:<id>` and `admin:dispatch`, and what each of them gets.
 */
import assert from "node:assert/strict";
import { moveBy } from "@/lib/location/geo.ts";
import { appTest } from "../support/app.ts";
import { barrier, joinPrivate, type Received, userClient, waitEvent } from "../support/chat.ts";
import { expectOk } from "../support/events.ts";
import { randomUser } from "../support/factories.ts";
import { api, cast, fix, orderIn, PICKUP, sendFixes } from "../support/orders.ts";
import { closeAll, listen } from "../support/realtime.ts";

const of = (events: { items: Received[] }, event: string) => events.items.filter((e) => e.event === event);

appTest("[orders realtime] joins: customer, partner and admin may; a stranger and members not", async (t) => {
  const server = listen(t);
  const c = await cast(t);
  const stranger = await randomUser(t, "stranger");
  const o = await orderIn(t, c, "assigned");
  const clients = [c.customer, c.partner, c.admin, stranger].map((u) => userClient(t, server.url, u));
  try {
    const topic = `order:${o.id}`;
    for (const cl of clients.slice(0, 3)) {
      const j = await joinPrivate(cl, topic);
      assert.equal(j.status, "SUBSCRIBED", String(j.error));
    }
    assert.equal((await joinPrivate(clients[3], topic)).status, "CHANNEL_ERROR", "a stranger is refused");
    const other = await orderIn(t, c, "requested");
    assert.equal(
      (await joinPrivate(clients[1], `order:${other.id}`)).status,
      "CHANNEL_ERROR",
      "a partner not (yet) assigned is refused",
    );
    assert.equal((await joinPrivate(clients[3], "admin:dispatch")).status, "CHANNEL_ERROR");
    assert.equal((await joinPrivate(clients[0], "admin:dispatch")).status, "CHANNEL_ERROR");
    assert.equal((await joinPrivate(clients[1], "admin:dispatch")).status, "CHANNEL_ERROR");
    const admin = await joinPrivate(clients[2], "admin:dispatch");
    assert.equal(admin.status, "SUBSCRIBED", String(admin.error));
  } finally {
    await closeAll(...clients);
    await server.stop();
  }
});

appTest("[orders realtime] status, location (en route only, oldest first) and one arrival", async (t) => {
  const server = listen(t);
  const c = await cast(t);
  const o = await orderIn(t, c, "assigned");
  const cust = userClient(t, server.url, c.customer);
  const part = userClient(t, server.url, c.partner);
  try {
    const topic = `order:${o.id}`;
    const cs = await joinPrivate(cust, topic);
    const ps = await joinPrivate(part, topic);
    assert.equal(cs.status, "SUBSCRIBED", String(cs.error));
    assert.equal(ps.status, "SUBSCRIBED", String(ps.error));

    // While assigned: fixes are stored but broadcast to nobody.
    const start = moveBy(PICKUP, 1200, 180);
    const t0 = Date.now() - 60_000;
    expectOk(await sendFixes(t, c.partner, o.id, [fix(start, t0), fix(moveBy(start, 20, 0), t0 + 2000)]));
    await barrier(t, topic, cs.events);
    await barrier(t, topic, ps.events);
    assert.deepEqual(of(cs.events, "location"), [], "no location for the customer while assigned");
    assert.deepEqual(of(ps.events, "location"), [], "location broadcasts are only sent en route");

    expectOk(await api(t, c.partner, "POST", `/orders/${o.id}/status`, { status: "en_route_pickup" }));
    const st = await waitEvent(cs.events, "status en_route_pickup", (e) => e.event === "status");
    assert.equal(st.payload.order_id, o.id);
    assert.equal(st.payload.status, "en_route_pickup");
    assert.equal(st.payload.partner_id, c.partner.id);
    assert.ok(st.payload.status_changed_at);
    await waitEvent(ps.events, "status for the partner", (e) => e.event === "status");

    // A batch sent newest first arrives oldest first. (Recorded after the status change: the
    // customer only gets fixes of the current leg.)
    const now = Date.now() + 5000;
    const sorted = [2, 1, 0].map((i) => fix(moveBy(start, 80 - i * 20, 0), now - i * 2000));
    expectOk(await sendFixes(t, c.partner, o.id, [...sorted].reverse()));
    const loc = await waitEvent(cs.events, "location for the customer", (e) => e.event === "location");
    assert.equal(loc.payload.order_id, o.id);
    assert.deepEqual(
      loc.payload.fixes.map((f: { recorded_at: string }) => new Date(f.recorded_at).toISOString()),
      sorted.map((f) => f.recorded_at),
    );
    assert.equal(loc.payload.fixes[0].lat, sorted[0].lat);
    await waitEvent(ps.events, "location for the partner", (e) => e.event === "location");

    // Into the pickup geofence, twice: one arrival.
    // (Recorded a little ahead, within the allowed clock skew, so the 1 km is not a jump.)
    const later = Date.now();
    expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(PICKUP, 100, 180), later + 30_000)]));
    expectOk(await sendFixes(t, c.partner, o.id, [fix(moveBy(PICKUP, 20, 180), later + 35_000)]));
    const arr = await waitEvent(cs.events, "arrival", (e) => e.event === "arrival");
    assert.equal(arr.payload.kind, "pickup");
    assert.equal(arr.payload.order_id, o.id);
    await barrier(t, topic, cs.events);
    assert.equal(of(cs.events, "arrival").length, 1);
    assert.equal(of(cs.events, "location").length, 3);

    // picked_up: out of the customer's window again.
    expectOk(await api(t, c.partner, "POST", `/orders/${o.id}/status`, { status: "picked_up" }));
    await waitEvent(
      cs.events,
      "status picked_up",
      (e) => e.event === "status" && e.payload.status === "picked_up",
    );
    expectOk(await sendFixes(t, c.partner, o.id, [fix(PICKUP, Date.now())]));
    await barrier(t, topic, cs.events);
    assert.equal(of(cs.events, "location").length, 3, "no location while picked up");
    assert.deepEqual(of(cs.events, "status").map((e) => e.payload.status), ["en_route_pickup", "picked_up"]);
  } finally {
    await closeAll(cust, part);
    await server.stop();
  }
});

appTest("[orders realtime] admin:dispatch gets positions and order changes", async (t) => {
  const server = listen(t);
  const c = await cast(t);
  const o = await orderIn(t, c, "assigned");
  const adm = userClient(t, server.url, c.admin);
  try {
    const d = await joinPrivate(adm, "admin:dispatch");
    assert.equal(d.status, "SUBSCRIBED", String(d.error));
    const fresh = await api(t, c.customer, "POST", "/orders", {
      pickup: PICKUP,
      dropoff: { address: "Elsewhere", lat: PICKUP.lat + 0.01, lng: PICKUP.lng },
    });
    const created = await waitEvent(
      d.events,
      "order for the new order",
      (e) => e.event === "order" && e.payload.order_id === fresh.body.id,
    );
    assert.equal(created.payload.status, "requested");
    assert.equal(created.payload.partner_id, null);

    expectOk(await api(t, c.partner, "POST", `/orders/${o.id}/status`, { status: "en_route_pickup" }));
    const changed = await waitEvent(
      d.events,
      "order en_route_pickup",
      (e) => e.event === "order" && e.payload.order_id === o.id && e.payload.status === "en_route_pickup",
    );
    assert.equal(changed.payload.partner_id, c.partner.id);

    const p = moveBy(PICKUP, 500, 180);
    const f = fix(p, Date.now(), { heading: 90, speed: 7 });
    expectOk(await sendFixes(t, c.partner, o.id, [f]));
    const pos = await waitEvent(
      d.events,
      "positions with the partner",
      (e) =>
        e.event === "positions" &&
        e.payload.partners.some((x: { partner_id: string }) => x.partner_id === c.partner.id),
      10_000,
    );
    const mine = pos.payload.partners.find((x: { partner_id: string }) => x.partner_id === c.partner.id);
    assert.deepEqual(
      { ...mine, recorded_at: new Date(mine.recorded_at).toISOString() },
      {
        partner_id: c.partner.id,
        order_id: o.id,
        lat: f.lat,
        lng: f.lng,
        heading: 90,
        speed: 7,
        recorded_at: f.recorded_at,
      },
    );
    // Once a second at most: nothing new, no new positions.
    const n = of(d.events, "positions").length;
    await new Promise((r) => setTimeout(r, 2500)); // a few dispatch ticks

    assert.equal(of(d.events, "positions").length, n, "no positions without new fixes");
  } finally {
    await closeAll(adm);
    await server.stop();
  }
});
