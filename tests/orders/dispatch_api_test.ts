/** `GET /api/v1/dispatch` and the edges of the share-link endpoints. */
import assert from "node:assert/strict";
import { moveBy } from "@/lib/location/geo.ts";
import { appTest } from "../support/app.ts";
import { expectError, expectOk } from "../support/events.ts";
import { randomUser } from "../support/factories.ts";
import { api, cast, fix, orderIn, PICKUP, placeOrder, sendFixes } from "../support/orders.ts";

appTest("[dispatch api] admins only; partners with their latest position, every open order", async (t) => {
  const c = await cast(t);
  const live = await orderIn(t, c, "en_route_pickup");
  const waiting = await placeOrder(t, c.customer);
  const done = await orderIn(t, c, "delivered");
  expectOk(await sendFixes(t, c.partner, live.id, [fix(moveBy(PICKUP, 800, 180), Date.now() + 1000)]));

  assert.equal((await t.request("/api/v1/dispatch")).status, 401);
  for (const who of [c.customer, c.partner, await randomUser(t, "member")]) {
    expectError(await api(t, who, "GET", "/dispatch"), 403, "forbidden");
  }
  const view = expectOk(await api(t, c.admin, "GET", "/dispatch"));
  const ids = view.orders.map((o: { id: string }) => o.id);
  assert.ok(ids.includes(live.id) && ids.includes(waiting.id), "open orders are on the board");
  assert.ok(!ids.includes(done.id), "delivered orders are not");
  const partner = view.partners.find((p: { id: string }) => p.id === c.partner.id);
  assert.ok(partner, "the partner is listed");
  assert.deepEqual(partner.active_orders, [live.id]);
  assert.ok(Math.abs(partner.position.lat - moveBy(PICKUP, 800, 180).lat) < 1e-9);
  assert.equal(
    view.partners.some((p: { id: string }) => p.id === c.customer.id),
    false,
    "members are not partners",
  );
});

appTest("[dispatch api] share links: garbage bodies, finished orders, twice, and odd tokens", async (t) => {
  const c = await cast(t);
  const o = await orderIn(t, c, "en_route_pickup");
  for (const body of [{ ttl_minutes: "60" }, { ttl_minutes: 2000 }, { ttl_minutes: 60, extra: 1 }, []]) {
    expectError(await api(t, c.customer, "POST", `/orders/${o.id}/share`, body), 422);
  }
  // Twice: two working links, both revoked together.
  const a = expectOk(await api(t, c.customer, "POST", `/orders/${o.id}/share`, {}), 201);
  const b = expectOk(await api(t, c.customer, "POST", `/orders/${o.id}/share`, {}), 201);
  for (const link of [a, b]) assert.equal((await t.request(`/api/v1/track/${link.token}`)).status, 200);
  assert.equal((await api(t, c.admin, "DELETE", `/orders/${o.id}/share`)).status, 204, "admins revoke too");
  for (const link of [a, b]) assert.equal((await t.request(`/api/v1/track/${link.token}`)).status, 404);
  expectError(await api(t, c.partner, "DELETE", `/orders/${o.id}/share`), 404);
  for (const token of ["x".repeat(300), "%00", `${o.id}.1.1.`]) {
    assert.equal(
      (await t.request(`/api/v1/track/${encodeURIComponent(token)}`)).status,
      404,
      token.slice(0, 20),
    );
  }
  const done = await orderIn(t, c, "delivered");
  expectError(await api(t, c.customer, "POST", `/orders/${done.id}/share`, {}), 409, "order_finished");
});
