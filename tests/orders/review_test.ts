/** Regressions from the review of the orders backend. */
import assert from "node:assert/strict";
import { moveBy } from "@/lib/location/geo.ts";
import { flushOrderOutbox } from "@/lib/orders/outbox.ts";
import { appTest } from "../support/app.ts";
import { expectOk, notificationsOf } from "../support/events.ts";
import { api, cast, fix, orderIn, PICKUP, randomPartner, sendFixes } from "../support/orders.ts";

appTest("[orders review] a heading just under 360 is stored and does not fail the batch", async (t) => {
  const c = await cast(t);
  const o = await orderIn(t, c, "en_route_pickup");
  const res = await sendFixes(t, c.partner, o.id, [
    fix(moveBy(PICKUP, 2000, 180), Date.now(), { heading: 359.99999 }),
  ]);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.accepted, 1);
});

appTest(
  "[orders review] after a re-assignment the new partner starts over: own trail, own arrival",
  async (t) => {
    const c = await cast(t);
    const o = await orderIn(t, c, "en_route_pickup");
    const t0 = Date.now() + 1000;
    // The first partner reaches the pickup.
    expectOk(
      await sendFixes(t, c.partner, o.id, [
        fix(moveBy(PICKUP, 500, 180), t0),
        fix(moveBy(PICKUP, 20, 180), t0 + 30_000),
      ]),
    );
    const other = await randomPartner(t, "other");
    expectOk(await api(t, c.admin, "POST", `/orders/${o.id}/assign`, { partner_id: other.id }));
    const mine = await api(t, other, "GET", `/orders/${o.id}/track`);
    assert.deepEqual(mine.body.trail, [], "the old partner's trail is not the new partner's");
    assert.equal(mine.body.arrived.pickup, null, "the arrival was the old partner's");
    expectOk(await api(t, other, "POST", `/orders/${o.id}/status`, { status: "en_route_pickup" }));
    expectOk(await sendFixes(t, other, o.id, [fix(moveBy(PICKUP, 10, 0), Date.now() + 2000)]));
    const again = await api(t, other, "GET", `/orders/${o.id}/track`);
    assert.ok(again.body.arrived.pickup, "the new partner's own arrival is recorded");
    assert.equal(again.body.trail.length, 1);
    // Assignment notices name the partner each was made to.
    await flushOrderOutbox(t.platform);
    assert.equal((await notificationsOf(t, c.partner.id, "orders.assigned")).length, 1);
    assert.equal((await notificationsOf(t, other.id, "orders.assigned")).length, 1);
  },
);
