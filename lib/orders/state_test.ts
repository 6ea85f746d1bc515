import assert from "node:assert/strict";
import { allowedTransitions, type OrderStatus, refusal, STATUSES } from "./state.ts";

const customer = { userId: "c", admin: false };
const partner = { userId: "p", admin: false };
const admin = { userId: "a", admin: true };
const stranger = { userId: "s", admin: false };
const order = (status: OrderStatus) => ({
  status,
  customer_id: "c",
  partner_id: status === "requested" ? null : "p",
});

Deno.test("[order state] who may move an order where, from every status", () => {
  const table: Record<OrderStatus, [string[], string[], string[]]> = {
    requested: [["cancelled"], [], ["cancelled"]],
    assigned: [["cancelled"], ["en_route_pickup"], ["cancelled"]],
    en_route_pickup: [["cancelled"], ["picked_up"], ["cancelled"]],
    picked_up: [[], ["en_route_dropoff"], ["cancelled"]],
    en_route_dropoff: [[], ["delivered"], ["cancelled"]],
    delivered: [[], [], []],
    cancelled: [[], [], []],
  };
  for (const s of STATUSES) {
    const [c, p, a] = table[s];
    assert.deepEqual(allowedTransitions(order(s), customer), c, `customer from ${s}`);
    assert.deepEqual(allowedTransitions(order(s), partner), p, `partner from ${s}`);
    assert.deepEqual(allowedTransitions(order(s), admin), a, `admin from ${s}`);
    assert.deepEqual(allowedTransitions(order(s), stranger), [], `stranger from ${s}`);
  }
});

Deno.test("[order state] refusals say forbidden for the wrong person and illegal for the wrong step", () => {
  assert.equal(refusal(order("assigned"), partner, "picked_up"), "illegal");
  assert.equal(refusal(order("assigned"), customer, "en_route_pickup"), "forbidden");
  assert.equal(refusal(order("assigned"), stranger, "cancelled"), "forbidden");
  assert.equal(refusal(order("picked_up"), customer, "cancelled"), "illegal");
  assert.equal(refusal(order("delivered"), admin, "cancelled"), "illegal");
  assert.equal(refusal(order("en_route_dropoff"), partner, "delivered"), null);
});
