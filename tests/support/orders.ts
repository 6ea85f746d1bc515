/** Order fixtures: customers, partners, admins, orders in a given status, fixes along a route. */
import type { TestContext } from "./app.ts";
import { api } from "./chat.ts";
import { randomAdmin, randomUser, randomUserWithRole, type TestUser } from "./factories.ts";
import { type LatLng, moveBy } from "@/lib/location/geo.ts";

export { api };

/** Near the Bastille, Paris: pickup, and a dropoff about 2 km north-west. */
export const PICKUP = { address: "1 Rue de la Roquette, Paris", lat: 48.8534, lng: 2.3699 };
export const DROPOFF = { address: "12 Rue de Bretagne, Paris", lat: 48.8625, lng: 2.3601 };

/** Signs up a user and makes them a partner. */
export function randomPartner(t: TestContext, prefix = "partner"): Promise<TestUser> {
  return randomUserWithRole(t, "partner", prefix);
}

/** The people of one order. */
export interface OrderCast {
  customer: TestUser;
  partner: TestUser;
  admin: TestUser;
}

/** A customer, a partner and an admin. */
export async function cast(t: TestContext): Promise<OrderCast> {
  return {
    customer: await randomUser(t, "customer"),
    partner: await randomPartner(t),
    admin: await randomAdmin(t),
  };
}

/** Creates an order as `customer`; returns its view. */
export async function placeOrder(
  t: TestContext,
  customer: TestUser,
  extra: Record<string, unknown> = {},
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const res = await api(t, customer, "POST", "/orders", {
    pickup: PICKUP,
    dropoff: DROPOFF,
    notes: "",
    ...extra,
  });
  if (res.status !== 201) throw new Error(`order failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const PATH = ["assigned", "en_route_pickup", "picked_up", "en_route_dropoff", "delivered"] as const;

/** Places an order and moves it to `status` through the API (assign by the admin, steps by the partner). */
export async function orderIn(
  t: TestContext,
  c: OrderCast,
  status: typeof PATH[number] | "requested",
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  let order = await placeOrder(t, c.customer);
  if (status === "requested") return order;
  let res = await api(t, c.admin, "POST", `/orders/${order.id}/assign`, { partner_id: c.partner.id });
  if (res.status !== 200) throw new Error(`assign failed: ${res.status} ${JSON.stringify(res.body)}`);
  order = res.body;
  for (const s of PATH.slice(1, PATH.indexOf(status) + 1)) {
    res = await api(t, c.partner, "POST", `/orders/${order.id}/status`, { status: s });
    if (res.status !== 200) throw new Error(`status ${s} failed: ${res.status} ${JSON.stringify(res.body)}`);
    order = res.body;
  }
  return order;
}

/** A fix as the API takes it. */
export function fix(p: LatLng, at: number | Date = Date.now(), extra: Record<string, unknown> = {}) {
  return {
    lat: p.lat,
    lng: p.lng,
    accuracy: 10,
    speed: 8,
    heading: 0,
    recorded_at: new Date(at).toISOString(),
    ...extra,
  };
}

/** `n` fixes every `stepS` seconds, moving `stepM` metres north each, ending now. */
export function route(from: LatLng, n: number, stepM = 20, stepS = 2, end = Date.now()) {
  const out = [];
  let p = from;
  for (let i = 0; i < n; i++) {
    out.push(fix(p, end - (n - 1 - i) * stepS * 1000));
    p = moveBy(p, stepM, 0);
  }
  return out;
}

/** Posts fixes as `user`. */
export function sendFixes(t: TestContext, user: TestUser, orderId: string, fixes: unknown) {
  return api(t, user, "POST", `/orders/${orderId}/locations`, fixes);
}
