/**
 * What watchers of an order get (docs/orders.md): the partner's position, the trail, and an ETA,
 * with the customer's privacy window applied.
 */
import type { Queryable } from "../db/port.ts";
import { type FixView } from "./fixes.ts";
import { distanceM, type LatLng } from "./geo.ts";

/** Trail points returned at most. */
export const TRAIL_MAX = 2_000;
/** Straight lines are shorter than roads. */
export const ROAD_FACTOR = 1.3;
/** Speed assumed without recent speeds (m/s, ~29 km/h), and the bounds of a measured one. */
export const DEFAULT_SPEED = 8;
export const MIN_SPEED = 2;
export const MAX_SPEED = 25;
/** Which fixes' speeds count for the ETA. */
export const SPEED_WINDOW_MS = 2 * 60_000;

/** A place with an address. */
export interface Stop extends LatLng {
  address: string;
}

/** The order facts a track view needs. */
export interface TrackOrder {
  id: string;
  status: string;
  /** The current partner: the trail and arrivals are theirs (a re-assigned order starts over). */
  partner_id: string | null;
  status_changed_at: string;
  pickup: Stop;
  dropoff: Stop;
}

/** `GET /orders/:id/track`. */
export interface TrackView {
  status: string;
  visible: boolean;
  position: FixView | null;
  trail: FixView[];
  eta_seconds: number | null;
  eta_target: "pickup" | "dropoff" | null;
  arrived: { pickup: string | null; dropoff: string | null };
  pickup: Stop;
  dropoff: Stop;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The next stop of an order in this status, or null when it has none. */
export function nextStop(status: string): "pickup" | "dropoff" | null {
  if (status === "assigned" || status === "en_route_pickup") return "pickup";
  if (status === "picked_up" || status === "en_route_dropoff") return "dropoff";
  return null;
}

/** Seconds until the next stop (see docs/orders.md), or null. */
export function estimateEta(
  order: Pick<TrackOrder, "status" | "pickup" | "dropoff">,
  position: FixView | null,
  recent: FixView[],
  arrived: TrackView["arrived"],
): { eta_seconds: number | null; eta_target: "pickup" | "dropoff" | null } {
  const target = nextStop(order.status);
  if (!target || !position) return { eta_seconds: null, eta_target: target };
  if (arrived[target]) return { eta_seconds: 0, eta_target: target };
  const last = Date.parse(position.recorded_at);
  const speeds = recent
    .filter((f) => f.speed != null && last - Date.parse(f.recorded_at) <= SPEED_WINDOW_MS)
    .map((f) => f.speed!);
  const speed = speeds.length ? Math.min(MAX_SPEED, Math.max(MIN_SPEED, median(speeds))) : DEFAULT_SPEED;
  const metres = distanceM(position, order[target]) * ROAD_FACTOR;
  return { eta_seconds: Math.round(metres / speed), eta_target: target };
}

const iso = (v: unknown) => v == null ? null : new Date(v as string).toISOString();

/**
 * Builds the track view. `customerRules`: only fixes of the current en-route leg (the database's
 * policy says the same when `q` runs as the customer; share links run as the service and rely on
 * this). `since`: only fixes recorded after it.
 */
export async function trackView(
  q: Queryable,
  order: TrackOrder,
  opts: { customerRules: boolean; since?: Date },
): Promise<TrackView> {
  const enRoute = order.status === "en_route_pickup" || order.status === "en_route_dropoff";
  const visible = !opts.customerRules || enRoute;
  const events = await q.query<{ kind: string; created_at: string }>(
    `select kind, created_at from public.order_events
     where order_id = $1 and kind in ('arrived_pickup', 'arrived_dropoff') and actor_id is not distinct from $2`,
    [order.id, order.partner_id],
  );
  const arrived = {
    pickup: iso(events.find((e) => e.kind === "arrived_pickup")?.created_at),
    dropoff: iso(events.find((e) => e.kind === "arrived_dropoff")?.created_at),
  };
  let trail: FixView[] = [];
  if (visible && order.partner_id) {
    const from = opts.customerRules ? new Date(order.status_changed_at) : new Date(0);
    const after = opts.since && opts.since > from ? opts.since : null;
    const rows = await q.query<Record<string, unknown>>(
      `select * from (
         select lat, lng, accuracy, speed, heading, recorded_at from public.order_locations
         where order_id = $1 and partner_id = $5 and recorded_at >= $2
           and ($3::timestamptz is null or recorded_at > $3)
         order by recorded_at desc limit $4) t
       order by recorded_at`,
      [order.id, from.toISOString(), after?.toISOString() ?? null, TRAIL_MAX, order.partner_id],
    );
    trail = rows.map(rowToView);
  }
  // With `since` and nothing new, the position is the latest fix before it.
  let position = trail.at(-1) ?? null;
  if (visible && order.partner_id && !position && opts.since) {
    const from = opts.customerRules ? new Date(order.status_changed_at) : new Date(0);
    const [last] = await q.query<Record<string, unknown>>(
      `select lat, lng, accuracy, speed, heading, recorded_at from public.order_locations
       where order_id = $1 and partner_id = $3 and recorded_at >= $2 order by recorded_at desc limit 1`,
      [order.id, from.toISOString(), order.partner_id],
    );
    position = last ? rowToView(last) : null;
  }
  const eta = estimateEta(order, position, trail.slice(-30), arrived);
  return {
    status: order.status,
    visible,
    position,
    trail,
    ...eta,
    arrived,
    pickup: order.pickup,
    dropoff: order.dropoff,
  };
}

function rowToView(r: Record<string, unknown>): FixView {
  return {
    lat: Number(r.lat),
    lng: Number(r.lng),
    accuracy: Number(r.accuracy),
    speed: r.speed == null ? null : Number(r.speed),
    heading: r.heading == null ? null : Number(r.heading),
    recorded_at: iso(r.recorded_at)!,
  };
}
