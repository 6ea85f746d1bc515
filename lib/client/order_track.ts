/**
 * Pure helpers for the order tracker (islands/OrderTracker.tsx): the trail kept sorted by
 * `recorded_at` whatever order fixes arrive in, the ETA line, status and timeline labels, and what
 * the page says while the position is hidden. No DOM, no network: unit tested.
 */
import type { FixView } from "../location/fixes.ts";
import { distanceM } from "../location/geo.ts";
import type { TrackView } from "../location/track.ts";
import type { OrderStatus } from "../orders/state.ts";

/** Trail points kept in the browser (the API sends at most as many). */
export const TRAIL_KEEP = 2_000;

/**
 * Merges `incoming` fixes into `trail` (sorted by `recorded_at`, one fix per instant). Returns the
 * new trail and whether the newest fix changed (an older fix that arrives late only fills the trail
 * in; it never moves the marker back).
 */
export function mergeFixes(trail: FixView[], incoming: FixView[]): { trail: FixView[]; newest: boolean } {
  if (!incoming.length) return { trail, newest: false };
  const before = trail.at(-1)?.recorded_at ?? "";
  const byTime = new Map<number, FixView>();
  for (const f of trail) byTime.set(Date.parse(f.recorded_at), f);
  for (const f of incoming) {
    const t = Date.parse(f.recorded_at);
    if (Number.isFinite(t) && Number.isFinite(f.lat) && Number.isFinite(f.lng)) byTime.set(t, f);
  }
  const merged = [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f).slice(-TRAIL_KEEP);
  const after = merged.at(-1)?.recorded_at ?? "";
  return { trail: merged, newest: !!after && Date.parse(after) > (before ? Date.parse(before) : -Infinity) };
}

/** "about 7 min", "arriving", or "" when there is no estimate. */
export function etaLabel(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  if (seconds < 60) return "arriving";
  return `about ${Math.round(seconds / 60)} min`;
}

/** What each status is called on the page. */
export const STATUS_LABELS: Record<OrderStatus, string> = {
  requested: "Requested",
  assigned: "Partner assigned",
  en_route_pickup: "On the way to pick up",
  picked_up: "Picked up",
  en_route_dropoff: "On the way to you",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

/** The label of a status (unknown ones as they are). */
export const statusLabel = (s: string): string => STATUS_LABELS[s as OrderStatus] ?? s;

/** One timeline entry as the tracker shows it. */
export interface TimelineItem {
  id: number;
  kind: string;
  status: string | null;
  created_at: string;
}

/** The line a timeline entry shows. */
export function timelineLabel(e: TimelineItem): string {
  switch (e.kind) {
    case "created":
      return "Order placed";
    case "assigned":
      return "Partner assigned";
    case "arrived_pickup":
      return "Partner arrived at the pickup";
    case "arrived_dropoff":
      return "Partner arrived at the dropoff";
    default:
      return e.status ? statusLabel(e.status) : e.kind;
  }
}

/** Why the position is hidden from the customer in `status` ("" when it is shown). */
export function hiddenReason(status: string): string {
  switch (status) {
    case "requested":
      return "Waiting for a partner. Their position shows once they are on the way.";
    case "assigned":
      return "Your partner's position shows once they are on the way to the pickup.";
    case "picked_up":
      return "Picked up. The position shows again when your partner heads to the dropoff.";
    case "delivered":
      return "Delivered. The route is no longer shown.";
    case "cancelled":
      return "This order was cancelled.";
    default:
      return "The partner's position is hidden right now.";
  }
}

/** Local time of day for a timestamp ("14:05"). */
export const clock = (iso: string): string =>
  new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The ETA after a live fix, by the server's rule (docs/orders.md, ETA): distance to the next stop
 * × 1.3 ÷ the median speed of the last 2 minutes (2–25 m/s, 8 when unknown); 0 once arrived.
 */
export function estimateEta(view: TrackView, trail: FixView[]): number | null {
  const stop = view.status === "assigned" || view.status === "en_route_pickup"
    ? "pickup"
    : view.status === "picked_up" || view.status === "en_route_dropoff"
    ? "dropoff"
    : null;
  const position = trail.at(-1);
  if (!stop || !position) return null;
  if (view.arrived[stop]) return 0;
  const last = Date.parse(position.recorded_at);
  const speeds = trail.slice(-30)
    .filter((f) => f.speed != null && last - Date.parse(f.recorded_at) <= 120_000)
    .map((f) => f.speed!);
  const speed = speeds.length ? Math.min(25, Math.max(2, median(speeds))) : 8;
  return Math.round(distanceM(position, view[stop]) * 1.3 / speed);
}
