/**
 * The order state machine (docs/orders.md). The database function `order_transition` checks the
 * same table under a row lock; this copy answers with precise errors and tells pages which buttons
 * to show.
 */

/** Every status, in the order an order goes through them. */
export const STATUSES = [
  "requested",
  "assigned",
  "en_route_pickup",
  "picked_up",
  "en_route_dropoff",
  "delivered",
  "cancelled",
] as const;
export type OrderStatus = typeof STATUSES[number];

/** Statuses a partner sends locations in. */
export const ACTIVE: readonly OrderStatus[] = [
  "assigned",
  "en_route_pickup",
  "picked_up",
  "en_route_dropoff",
];
/** Statuses in which the customer sees the partner's position. */
export const EN_ROUTE: readonly OrderStatus[] = ["en_route_pickup", "en_route_dropoff"];
/** Statuses an order never leaves. */
export const FINAL: readonly OrderStatus[] = ["delivered", "cancelled"];
/** Statuses an admin may (re-)assign from. */
export const ASSIGNABLE: readonly OrderStatus[] = ["requested", "assigned", "en_route_pickup"];

/** The partner's steps. */
export const PARTNER_STEPS: Partial<Record<OrderStatus, OrderStatus>> = {
  assigned: "en_route_pickup",
  en_route_pickup: "picked_up",
  picked_up: "en_route_dropoff",
  en_route_dropoff: "delivered",
};

export const isActive = (s: OrderStatus) => ACTIVE.includes(s);
export const isEnRoute = (s: OrderStatus) => EN_ROUTE.includes(s);
export const isFinal = (s: OrderStatus) => FINAL.includes(s);

/** Who is asking, relative to one order. */
export interface Actor {
  userId: string;
  admin: boolean;
}

/** The parts of an order the rules look at. */
export interface OrderFacts {
  status: OrderStatus;
  customer_id: string;
  partner_id: string | null;
}

/** What `actor` may move the order to now (assignment not included: that is `POST /assign`). */
export function allowedTransitions(order: OrderFacts, actor: Actor): OrderStatus[] {
  const out: OrderStatus[] = [];
  const step = PARTNER_STEPS[order.status];
  if (step && order.partner_id === actor.userId) out.push(step);
  const early = ["requested", "assigned", "en_route_pickup"].includes(order.status);
  const late = ["picked_up", "en_route_dropoff"].includes(order.status);
  if ((early && (order.customer_id === actor.userId || actor.admin)) || (late && actor.admin)) {
    out.push("cancelled");
  }
  return out;
}

/** Why a transition is refused: `forbidden` (not this person's to do) or `illegal` (not from here). */
export function refusal(order: OrderFacts, actor: Actor, to: OrderStatus): "forbidden" | "illegal" | null {
  if (allowedTransitions(order, actor).includes(to)) return null;
  if (to === "cancelled") {
    const mayCancelSometimes = order.customer_id === actor.userId || actor.admin;
    return mayCancelSometimes ? "illegal" : "forbidden";
  }
  if (order.partner_id !== actor.userId) return "forbidden";
  return "illegal";
}
