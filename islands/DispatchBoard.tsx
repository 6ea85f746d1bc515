/**
 * The dispatch board (`/admin/dispatch`, docs/orders.md): one Leaflet map with every partner's
 * latest position and every open order's pickup (unassigned ones highlighted), and a side list of
 * both. Click an order (pin or row), then a partner (marker or row), to assign. Positions follow
 * the `positions` broadcasts of `admin:dispatch`; an `order` broadcast re-reads the board.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
// @ts-types="@types/leaflet"
import type * as L from "leaflet";
import {
  createMap,
  loadLeaflet,
  type MapSettings,
  partnerIcon,
  pinIcon,
  smoothMover,
} from "@/lib/client/map.ts";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";
import type { DispatchPartner, OrderView } from "@/lib/orders/orders.ts";

/** Props: the board at render time, the map settings and the realtime config. */
export interface DispatchBoardProps {
  [key: string]: unknown;
  view: { partners: DispatchPartner[]; orders: OrderView[] };
  map: MapSettings;
  supabaseUrl: string;
  supabaseAnonKey: string;
}

/** One entry of a `positions` broadcast. */
interface PositionMessage {
  partner_id: string;
  order_id: string | null;
  lat: number;
  lng: number;
  heading: number | null;
  speed: number | null;
  recorded_at: string;
}

const ASSIGNABLE = ["requested", "assigned", "en_route_pickup"];
const label = (s: string) => s.replaceAll("_", " ");

interface MapState {
  leaflet: typeof L;
  map: L.Map;
  partners: Map<string, { marker: L.Marker; move: (to: { lat: number; lng: number }) => void }>;
  orders: Map<string, L.Marker>;
  fitted: boolean;
}

/** The dispatch board. */
export default function DispatchBoard(props: DispatchBoardProps) {
  const partners = useSignal<DispatchPartner[]>(props.view.partners);
  const orders = useSignal<OrderView[]>(props.view.orders);
  const selected = useSignal<string | null>(null);
  const error = useSignal("");
  const notice = useSignal("");
  const busy = useSignal(false);
  const mapReady = useSignal(false);
  const mapEl = useRef<HTMLDivElement>(null);
  const state = useRef<MapState | null>(null);
  // Handlers the map's click listeners call: always the latest render's.
  const actions = useRef({ pickOrder: (_id: string) => {}, pickPartner: (_id: string) => {} });

  const refresh = async () => {
    try {
      const res = await fetch("/api/v1/dispatch", {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const view = await res.json() as DispatchBoardProps["view"];
      partners.value = view.partners;
      orders.value = view.orders;
      if (selected.value && !view.orders.some((o) => o.id === selected.value)) selected.value = null;
    } catch { /* the next broadcast or click tries again */ }
  };

  const assign = async (orderId: string, partnerId: string) => {
    busy.value = true;
    error.value = "";
    notice.value = "";
    try {
      const res = await fetch(`/api/v1/orders/${orderId}/assign`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ partner_id: partnerId }),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.error?.message ?? `Could not assign (HTTP ${res.status}).`);
      notice.value = `Assigned to ${(body as OrderView).partner?.name ?? "the partner"}.`;
      selected.value = null;
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
      await refresh();
    }
  };

  actions.current = {
    pickOrder: (id) => {
      const o = orders.value.find((x) => x.id === id);
      error.value = "";
      notice.value = "";
      if (o && !ASSIGNABLE.includes(o.status)) {
        error.value = `This order is ${label(o.status)}: it can no longer be reassigned.`;
        return;
      }
      selected.value = selected.value === id ? null : id;
    },
    pickPartner: (id) => {
      if (!selected.value) {
        error.value = "Pick an order first, then the partner to give it to.";
        return;
      }
      if (!busy.value) assign(selected.value, id);
    },
  };

  // The map, once.
  useEffect(() => {
    let gone = false;
    loadLeaflet(props.map.css).then((leaflet) => {
      if (gone || !mapEl.current) return;
      const map = createMap(leaflet, mapEl.current, props.map);
      map.setView([48.8566, 2.3522], 12);
      state.current = { leaflet, map, partners: new Map(), orders: new Map(), fitted: false };
      mapReady.value = true;
    }).catch(() => error.value = "The map could not load; the lists still work.");
    return () => {
      gone = true;
      state.current?.map.remove();
    };
  }, []);

  // Live positions and order changes.
  useEffect(() => {
    const { client } = realtimeClient({
      supabaseUrl: props.supabaseUrl,
      supabaseAnonKey: props.supabaseAnonKey,
    });
    let soon: ReturnType<typeof setTimeout> | undefined;
    return joinChannel(client, "admin:dispatch", {
      setup(ch) {
        ch.on("broadcast", { event: "positions" }, ({ payload }) => {
          const list = (payload as { partners?: PositionMessage[] }).partners ?? [];
          const byId = new Map(list.map((m) => [m.partner_id, m]));
          if (list.some((m) => !partners.value.some((p) => p.id === m.partner_id))) refresh();
          partners.value = partners.value.map((p) => {
            const m = byId.get(p.id);
            return m
              ? {
                ...p,
                position: {
                  lat: m.lat,
                  lng: m.lng,
                  heading: m.heading,
                  speed: m.speed,
                  recorded_at: m.recorded_at,
                },
              }
              : p;
          });
        });
        ch.on("broadcast", { event: "order" }, () => {
          clearTimeout(soon);
          soon = setTimeout(refresh, 300);
        });
      },
      onStatus: (s) => s === "SUBSCRIBED" && refresh(),
    });
  }, []);

  // Markers follow the lists.
  useEffect(() => {
    const st = state.current;
    if (!st) return;
    const { leaflet, map } = st;
    const points: [number, number][] = [];
    const seenP = new Set<string>();
    for (const p of partners.value) {
      if (!p.position) continue;
      seenP.add(p.id);
      const at = { lat: p.position.lat, lng: p.position.lng };
      points.push([at.lat, at.lng]);
      let m = st.partners.get(p.id);
      if (!m) {
        const marker = leaflet.marker([at.lat, at.lng], { icon: partnerIcon(leaflet, p.name), title: p.name })
          .addTo(map);
        marker.on("click", () => actions.current.pickPartner(p.id));
        const el = marker.getElement();
        if (el) Object.assign(el.dataset, { testid: "dispatch-partner-marker", partnerId: p.id });
        m = { marker, move: smoothMover(marker) };
        st.partners.set(p.id, m);
      } else {
        const now = m.marker.getLatLng();
        if (now.lat !== at.lat || now.lng !== at.lng) m.move(at);
      }
      m.marker.getElement()?.classList.toggle("assignable", !!selected.value);
    }
    for (const [id, m] of st.partners) {
      if (!seenP.has(id)) {
        m.marker.remove();
        st.partners.delete(id);
      }
    }
    const seenO = new Set<string>();
    for (const o of orders.value) {
      seenO.add(o.id);
      points.push([o.pickup.lat, o.pickup.lng]);
      let m = st.orders.get(o.id);
      if (!m) {
        m = leaflet.marker([o.pickup.lat, o.pickup.lng], {
          icon: pinIcon(leaflet, "order", o.customer.name.slice(0, 1).toUpperCase()),
          title: o.pickup.address,
        }).addTo(map);
        m.on("click", () => actions.current.pickOrder(o.id));
        st.orders.set(o.id, m);
      }
      const el = m.getElement();
      if (el) {
        Object.assign(el.dataset, { testid: "dispatch-order-pin", orderId: o.id, status: o.status });
        el.classList.toggle("unassigned", !o.partner);
        el.classList.toggle("selected", selected.value === o.id);
      }
    }
    for (const [id, m] of st.orders) {
      if (!seenO.has(id)) {
        m.remove();
        st.orders.delete(id);
      }
    }
    if (!st.fitted && points.length) {
      st.fitted = true;
      map.fitBounds(leaflet.latLngBounds(points).pad(0.15), { maxZoom: 15 });
    }
  }, [mapReady.value, partners.value, orders.value, selected.value]);

  const chosen = orders.value.find((o) => o.id === selected.value);
  const unassigned = orders.value.filter((o) => !o.partner).length;
  return (
    <div class="dispatch-board" data-testid="dispatch-board" data-selected={selected.value ?? ""}>
      <div class="dispatch-map-wrap">
        <div
          ref={mapEl}
          class="dispatch-map"
          data-testid="dispatch-map"
          role="region"
          aria-label="Dispatch map"
        >
          {!mapReady.value && <div class="map-loading">Loading map…</div>}
        </div>
      </div>
      <aside class="dispatch-side card" aria-label="Orders and partners">
        <p class="dispatch-hint" data-testid="dispatch-hint" aria-live="polite">
          {chosen
            ? (
              <>
                Now pick a partner for <strong>{chosen.pickup.address}</strong>.
              </>
            )
            : "Pick an order, then a partner to assign it."}
        </p>
        {error.value && <p class="alert" role="alert" data-testid="dispatch-error">{error.value}</p>}
        {notice.value && <p class="notice" role="status" data-testid="dispatch-notice">{notice.value}</p>}
        <h2>
          Orders <span class="muted">({orders.value.length}, {unassigned} unassigned)</span>
        </h2>
        <ul class="dispatch-list">
          {orders.value.map((o) => (
            <li key={o.id}>
              <button
                type="button"
                class={`dispatch-row${o.partner ? "" : " unassigned"}${
                  selected.value === o.id ? " selected" : ""
                }`}
                aria-pressed={selected.value === o.id}
                data-testid="dispatch-order"
                data-order-id={o.id}
                onClick={() => actions.current.pickOrder(o.id)}
              >
                <span class="dispatch-row-title">{o.pickup.address}</span>
                <span class="dispatch-row-meta">
                  to {o.dropoff.address} · {label(o.status)} · {o.partner ? o.partner.name : "unassigned"}
                </span>
              </button>
            </li>
          ))}
          {!orders.value.length && <li class="muted">No open orders.</li>}
        </ul>
        <h2>Partners</h2>
        <ul class="dispatch-list">
          {partners.value.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class={`dispatch-row partner${selected.value ? " assignable" : ""}`}
                data-testid="dispatch-partner"
                data-partner-id={p.id}
                disabled={busy.value}
                onClick={() => actions.current.pickPartner(p.id)}
              >
                <span class="dispatch-row-title">{p.name}</span>
                <span class="dispatch-row-meta">
                  {p.active_orders.length} active · {p.position
                    ? `seen ${
                      new Date(p.position.recorded_at).toLocaleTimeString([], {
                        hour: "2-digit",
                        minute: "2-digit",
                      })
                    }`
                    : "no recent position"}
                </span>
              </button>
            </li>
          ))}
          {!partners.value.length && <li class="muted">No partners yet: give someone the partner role.</li>}
        </ul>
      </aside>
    </div>
  );
}
