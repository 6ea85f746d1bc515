/**
 * The live order view (docs/orders.md): a Leaflet map with the pickup and dropoff pins, the
 * partner's marker gliding to each new fix and the trail behind it, the ETA, the status timeline, an
 * arrival banner, and (for the customer and the partner) the order chat.
 *
 * Order mode follows the private topic `order:<id>` (`status`, `location`, `arrival`) and, after
 * every (re)join, catches up with `GET …/track?since=<newest fix>`. Share mode (`/track/:token`)
 * polls `GET /api/v1/track/:token?since=…` every 5 s and shows no chat and nobody's ids.
 *
 * Server-rendered, the island shows the status, the ETA and the timeline; the map needs JavaScript.
 */
// @ts-types="@types/leaflet"
import type * as L from "leaflet";
import { useComputed, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { RealtimeClient } from "@supabase/realtime-js";
import type { FixView } from "@/lib/location/fixes.ts";
import type { TrackView } from "@/lib/location/track.ts";
import {
  createMap,
  loadLeaflet,
  type MapSettings,
  partnerIcon,
  pinIcon,
  smoothMover,
} from "@/lib/client/map.ts";
import { OrderChat } from "@/lib/client/order_chat.tsx";
import {
  clock,
  estimateEta,
  etaLabel,
  hiddenReason,
  mergeFixes,
  statusLabel,
  type TimelineItem,
  timelineLabel,
} from "@/lib/client/order_track.ts";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";

/** The order as the tracker needs it: the order view, or its people-free part in share mode. */
export interface TrackerOrder {
  id: string;
  status: string;
  partner: { id?: string; name: string } | null;
  customer?: { id: string; name: string };
  room_id: string | null;
  allowed: string[];
  timeline: TimelineItem[];
}

/** Props (routes/pages/orders.tsx). */
export interface OrderTrackerProps {
  [key: string]: unknown;
  /** "order": signed in, realtime and chat; "share": a share link, polling, no chat. */
  mode: "order" | "share";
  order: TrackerOrder;
  track: TrackView;
  map: MapSettings;
  /** Realtime config (order mode). */
  supabaseUrl?: string;
  supabaseAnonKey?: string;
  me?: { id: string; name: string } | null;
  /** The share token (share mode). */
  token?: string;
}

/** How often a share link's view asks for news. */
const POLL_MS = 5000;

async function getJson<T>(path: string): Promise<{ status: number; body: T | null }> {
  const res = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
  return { status: res.status, body: res.ok ? await res.json() as T : null };
}

const nextStop = (status: string) =>
  status === "assigned" || status === "en_route_pickup"
    ? "pickup"
    : status === "picked_up" || status === "en_route_dropoff"
    ? "dropoff"
    : null;

/** The map's moving parts, created once Leaflet has loaded. */
interface MapParts {
  leaflet: typeof L;
  map: L.Map;
  trail: L.Polyline;
  partner: L.Marker | null;
  move: ((to: { lat: number; lng: number }) => void) | null;
  userMoved: boolean;
}

/** The order tracker. */
export default function OrderTracker(props: OrderTrackerProps) {
  const share = props.mode === "share";
  const order = useSignal<TrackerOrder>(props.order);
  const track = useSignal<TrackView>(props.track);
  const trail = useRef<FixView[]>(props.track.trail);
  const arrival = useSignal<"pickup" | "dropoff" | null>(
    (() => {
      const stop = nextStop(props.track.status);
      return stop && props.track.arrived[stop] ? stop : null;
    })(),
  );
  const gone = useSignal(""); // a share link that expired or was revoked while open
  const client = useSignal<RealtimeClient | null>(null);
  const mapEl = useRef<HTMLDivElement>(null);
  const parts = useRef<MapParts | null>(null);
  const status = useComputed(() => track.value.status);

  /** Draws the trail and moves the marker to the newest fix (or hides both). */
  const draw = (fit = false) => {
    const p = parts.current;
    const el = mapEl.current;
    if (!p || !el) return;
    const visible = track.value.visible;
    const points = visible ? trail.current : [];
    p.trail.setLatLngs(points.map((f) => [f.lat, f.lng] as [number, number]));
    const newest = points.at(-1) ?? (visible ? track.value.position : null);
    if (!newest) {
      p.partner?.remove();
      p.partner = null;
      p.move = null;
      delete el.dataset.lat;
      delete el.dataset.lng;
    } else {
      el.dataset.lat = String(newest.lat);
      el.dataset.lng = String(newest.lng);
      if (!p.partner) {
        p.partner = p.leaflet.marker([newest.lat, newest.lng], {
          icon: partnerIcon(p.leaflet, order.value.partner?.name ?? "Partner"),
          keyboard: false,
          zIndexOffset: 1000,
        }).addTo(p.map);
        p.move = smoothMover(p.partner, 1000);
      } else p.move?.(newest);
      if (!fit && !p.userMoved && !p.map.getBounds().pad(-0.1).contains([newest.lat, newest.lng])) fit = true;
    }
    if (fit) fitAll();
  };

  /** Fits pickup, dropoff and the partner in view. */
  const fitAll = () => {
    const p = parts.current;
    if (!p) return;
    const t = track.value;
    const pts: [number, number][] = [[t.pickup.lat, t.pickup.lng], [t.dropoff.lat, t.dropoff.lng]];
    const newest = t.visible ? trail.current.at(-1) ?? t.position : null;
    if (newest) pts.push([newest.lat, newest.lng]);
    p.map.fitBounds(p.leaflet.latLngBounds(pts), {
      paddingTopLeft: [40, 40],
      paddingBottomRight: [90, 40], // room for the partner's name label
      maxZoom: 17,
    });
  };

  /** Adds fixes (any order); only a newer one moves the marker. */
  const addFixes = (fixes: FixView[]) => {
    if (!track.value.visible) return;
    const merged = mergeFixes(trail.current, fixes);
    trail.current = merged.trail;
    if (merged.newest) {
      const position = merged.trail.at(-1)!;
      track.value = { ...track.value, position, eta_seconds: estimateEta(track.value, merged.trail) };
    }
    draw();
  };

  /** Replaces the whole view (after a status change: the customer's trail is per leg). */
  const replace = (view: TrackView) => {
    const statusChanged = view.status !== track.value.status;
    track.value = view;
    trail.current = view.trail;
    if (statusChanged) {
      const stop = nextStop(view.status);
      arrival.value = stop && view.arrived[stop] ? stop : null;
    }
    draw(statusChanged);
  };

  /** Applies a `?since=` answer: new fixes, or a full reload when the status moved on. */
  const applyDelta = async (view: TrackView, full: () => Promise<void>) => {
    if (view.status !== track.value.status || view.visible !== track.value.visible) return await full();
    const stop = nextStop(view.status);
    if (stop && view.arrived[stop] && !track.value.arrived[stop]) arrival.value = stop;
    track.value = { ...view, trail: track.value.trail };
    addFixes(view.trail);
    if (view.position) track.value = { ...track.value, eta_seconds: view.eta_seconds };
  };

  const since = () => {
    const at = trail.current.at(-1)?.recorded_at ?? track.value.position?.recorded_at;
    return at ? `?since=${encodeURIComponent(at)}` : "";
  };

  // Order mode: realtime on order:<id>, catch-up after each (re)join.
  useEffect(() => {
    if (share || !props.supabaseUrl) return;
    const id = order.value.id;
    const reloadOrder = async () => {
      const { body } = await getJson<TrackerOrder>(`/api/v1/orders/${id}`);
      if (body) order.value = body;
    };
    const reloadTrack = async () => {
      const { body } = await getJson<TrackView>(`/api/v1/orders/${id}/track`);
      if (body) replace(body);
    };
    const catchUp = async () => {
      const { body } = await getJson<TrackView>(`/api/v1/orders/${id}/track${since()}`);
      if (body) await applyDelta(body, () => Promise.all([reloadTrack(), reloadOrder()]).then(() => {}));
      await reloadOrder();
    };
    const rt = realtimeClient({
      supabaseUrl: props.supabaseUrl,
      supabaseAnonKey: props.supabaseAnonKey ?? "",
    });
    client.value = rt.client;
    return joinChannel(rt.client, `order:${id}`, {
      setup(ch) {
        ch.on("broadcast", { event: "status" }, () => {
          reloadTrack().catch(() => {});
          reloadOrder().catch(() => {});
        });
        ch.on("broadcast", { event: "location" }, ({ payload }) => {
          const fixes = (payload as { fixes?: FixView[] }).fixes;
          if (Array.isArray(fixes)) addFixes(fixes);
        });
        ch.on("broadcast", { event: "arrival" }, ({ payload }) => {
          const kind = (payload as { kind?: string }).kind;
          if (kind === "pickup" || kind === "dropoff") arrival.value = kind;
          reloadTrack().catch(() => {});
          reloadOrder().catch(() => {});
        });
      },
      onStatus: (s) => {
        if (s === "SUBSCRIBED") catchUp().catch(() => {});
      },
    });
  }, []);

  // Share mode: poll every 5 s.
  useEffect(() => {
    if (!share || !props.token) return;
    const base = `/api/v1/track/${encodeURIComponent(props.token)}`;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const full = async () => {
      const { body } = await getJson<TrackView>(base);
      if (!body) return;
      if (body.status !== track.value.status) {
        order.value = {
          ...order.value,
          status: body.status,
          timeline: [
            ...order.value.timeline,
            { id: Date.now(), kind: "status", status: body.status, created_at: new Date().toISOString() },
          ],
        };
      }
      replace(body);
    };
    const poll = async () => {
      try {
        const { status, body } = await getJson<TrackView>(`${base}${since()}`);
        if (status === 410) gone.value = "This link has expired. Ask for a new one.";
        else if (status === 404) gone.value = "This link is no longer valid.";
        else if (body) await applyDelta(body, full);
      } catch { /* offline: try again */ }
      if (!stopped && !gone.value) timer = setTimeout(poll, POLL_MS);
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  // The map.
  useEffect(() => {
    let cancelled = false;
    loadLeaflet(props.map.css).then((leaflet) => {
      const el = mapEl.current;
      if (cancelled || !el) return;
      const map = createMap(leaflet, el, props.map);
      const t = track.value;
      leaflet.marker([t.pickup.lat, t.pickup.lng], {
        icon: pinIcon(leaflet, "pickup", "A"),
        title: `Pickup: ${t.pickup.address}`,
        alt: `Pickup: ${t.pickup.address}`,
      }).addTo(map);
      leaflet.marker([t.dropoff.lat, t.dropoff.lng], {
        icon: pinIcon(leaflet, "dropoff", "B"),
        title: `Dropoff: ${t.dropoff.address}`,
        alt: `Dropoff: ${t.dropoff.address}`,
      }).addTo(map);
      const line = leaflet.polyline([], { className: "map-trail", weight: 4, opacity: 0.8 }).addTo(map);
      parts.current = { leaflet, map, trail: line, partner: null, move: null, userMoved: false };
      map.on("dragstart", () => parts.current && (parts.current.userMoved = true));
      fitAll();
      draw(true);
    });
    return () => {
      cancelled = true;
      parts.current?.map.remove();
      parts.current = null;
    };
  }, []);

  const t = track.value;
  const o = order.value;
  const eta = t.visible && t.position ? etaLabel(t.eta_seconds) : "";
  const hidden = !t.visible
    ? hiddenReason(t.status)
    : t.position
    ? ""
    : "Waiting for the partner's first position…";
  const showChat = !share && props.me && o.room_id &&
    (o.customer?.id === props.me.id || o.partner?.id === props.me.id);

  return (
    <div class={showChat ? "order-tracker with-chat" : "order-tracker"} data-testid="order-tracker">
      <div class="order-live stack">
        <div class="order-live-head row spread">
          <p class="order-status-line">
            <span class={`order-badge order-badge-${status.value}`} data-testid="order-status">
              {statusLabel(status.value)}
            </span>
            {!share && (
              <span class="muted" data-testid="order-partner">
                {o.partner ? `Partner: ${o.partner.name}` : "No partner yet"}
              </span>
            )}
          </p>
          <p class="order-eta" data-testid="eta" aria-live="polite" hidden={!eta}>
            {eta === "arriving" ? "Arriving" : eta ? `ETA ${eta}` : ""}
            {eta && t.eta_target && <span class="muted">to the {t.eta_target}</span>}
          </p>
        </div>
        {gone.value && <p class="alert" role="alert">{gone.value}</p>}
        {arrival.value && (
          <p class="notice order-arrival" role="status" data-testid="arrival-notice">
            {arrival.value === "pickup"
              ? "Your partner is arriving at the pickup."
              : "Your partner is arriving."}
          </p>
        )}
        <div class="order-map-wrap">
          <div
            class="order-map"
            ref={mapEl}
            data-testid="order-map"
            role="region"
            aria-label="Map of the order"
          >
            <noscript>The live map needs JavaScript.</noscript>
          </div>
          {hidden && <p class="order-map-note" data-testid="position-hidden">{hidden}</p>}
        </div>
        <p class="order-legend muted">
          <span class="legend-item">
            <span class="legend-pin legend-pickup">A</span> Pickup: {t.pickup.address}
          </span>
          <span class="legend-item">
            <span class="legend-pin legend-dropoff">B</span> Dropoff: {t.dropoff.address}
          </span>
        </p>
        <section aria-label="Timeline">
          <h2 class="sr-only">Timeline</h2>
          <ol class="order-timeline" data-testid="timeline">
            {o.timeline.map((e) => (
              <li key={e.id} class={`timeline-${e.kind}`}>
                <span>{timelineLabel(e)}</span> <time datetime={e.created_at}>{clock(e.created_at)}</time>
              </li>
            ))}
          </ol>
        </section>
        {!share && o.allowed.includes("cancelled") && (
          <form method="post" action={`/orders/${o.id}/cancel`} class="order-cancel">
            <button type="submit" class="danger" data-testid="cancel-order">Cancel order</button>
          </form>
        )}
      </div>
      {showChat && <OrderChat roomId={o.room_id!} me={props.me!} client={client.value} />}
    </div>
  );
}
