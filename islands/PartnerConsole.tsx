/**
 * The partner's console (`/partner`, docs/orders.md): each assigned open order with its stops, the
 * next-step button, and location sharing. Sharing watches `navigator.geolocation` in the chosen
 * battery mode, keeps the fixes worth sending in a per-order buffer in `localStorage`
 * (lib/client/location_stream.ts) and sends them in batches, retrying with backoff while offline.
 * A screen wake lock keeps the phone awake while sharing, where the browser has one.
 *
 * Server-rendered, each step button is a plain form posting to `/partner/orders/:id/status`, so the
 * steps work without JavaScript; sharing needs it.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import {
  browserStorage as storage,
  FixBuffer,
  loadMode,
  MODE_ORDER,
  MODES,
  type QueuedFix,
  saveMode,
  shouldKeep,
  type StreamMode,
  toFix,
} from "@/lib/client/location_stream.ts";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";
import type { OrderView } from "@/lib/orders/orders.ts";

/** Props: the assigned open orders at render time, who is looking, and the realtime config. */
export interface PartnerConsoleProps {
  [key: string]: unknown;
  orders: OrderView[];
  me: { id: string; name: string };
  supabaseUrl: string;
  supabaseAnonKey: string;
}

/** What the console shows about one order's stream. */
interface StreamStats {
  queued: number;
  sent: number;
  dropped: number;
  error: string;
}

type WakeState = "off" | "held" | "unsupported" | "refused";

const STEP_LABELS: Record<string, string> = {
  en_route_pickup: "Start to pickup",
  picked_up: "Picked up",
  en_route_dropoff: "Start to dropoff",
  delivered: "Delivered",
  cancelled: "Cancel order",
};
const STATUS_LABELS: Record<string, string> = {
  requested: "Requested",
  assigned: "Assigned",
  en_route_pickup: "On the way to pickup",
  picked_up: "Picked up",
  en_route_dropoff: "On the way to dropoff",
  delivered: "Delivered",
  cancelled: "Cancelled",
};
const WAKE_LABELS: Record<WakeState, string> = {
  held: "Screen stays on",
  unsupported: "Screen lock not supported",
  refused: "Screen may sleep",
  off: "Screen lock off",
};
const ACTIVE = ["assigned", "en_route_pickup", "picked_up", "en_route_dropoff"];
const REFRESH_MS = 30_000;

const time = (iso: string) =>
  new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

async function readJson<T>(res: Response): Promise<T> {
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `Something went wrong (HTTP ${res.status}).`);
  return body as T;
}

/** The partner console. */
export default function PartnerConsole(props: PartnerConsoleProps) {
  const orders = useSignal<OrderView[]>(props.orders);
  const mode = useSignal<StreamMode>("balanced");
  const ready = useSignal(false);
  const streaming = useSignal<string[]>([]);
  const stats = useSignal<Record<string, StreamStats>>({});
  const lastFix = useSignal<QueuedFix | null>(null);
  const wake = useSignal<WakeState>("off");
  const geoError = useSignal("");
  const error = useSignal("");
  const busy = useSignal("");
  const buffers = useRef(new Map<string, FixBuffer>()).current;
  const lastKept = useRef(new Map<string, QueuedFix>()).current;
  const retries = useRef(new Map<string, ReturnType<typeof setTimeout>>()).current;

  const bufferOf = (id: string) => {
    let b = buffers.get(id);
    if (!b) {
      b = new FixBuffer(id, { store: storage(), fetch: (u, i) => fetch(u, i) });
      buffers.set(id, b);
    }
    return b;
  };
  const showStats = (id: string, patch: Partial<StreamStats> = {}) => {
    const b = bufferOf(id);
    const prev = stats.value[id];
    stats.value = {
      ...stats.value,
      [id]: { error: prev?.error ?? "", ...patch, queued: b.queued, sent: b.sent, dropped: b.dropped },
    };
  };
  const stop = (id: string) => {
    streaming.value = streaming.value.filter((x) => x !== id);
    lastKept.delete(id);
  };

  const flush = async (id: string, force = false) => {
    clearTimeout(retries.get(id));
    const r = await bufferOf(id).flush(force);
    if (r.outcome === "done") showStats(id, { error: "" });
    else showStats(id, { error: r.error ?? "" });
    if (r.outcome === "waiting" && r.retryAt) {
      retries.set(id, setTimeout(() => flush(id), Math.max(0, r.retryAt - Date.now())));
    } else if (r.outcome === "inactive") {
      stop(id);
    } else if (r.outcome === "dropped" && bufferOf(id).queued) {
      flush(id);
    }
  };

  const refresh = async () => {
    try {
      const res = await fetch("/api/v1/orders?scope=assigned&status=open&limit=100", {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      const body = await readJson<{ orders: OrderView[] }>(res);
      orders.value = body.orders;
      const open = new Set(body.orders.filter((o) => ACTIVE.includes(o.status)).map((o) => o.id));
      for (const id of streaming.value) if (!open.has(id)) stop(id);
    } catch { /* the next tick tries again */ }
  };

  // Mount: the saved mode, whatever was left queued by an earlier visit, the periodic refresh,
  // and a flush whenever the browser comes back online.
  useEffect(() => {
    mode.value = loadMode(storage());
    ready.value = true;
    for (const o of props.orders) {
      showStats(o.id);
      if (bufferOf(o.id).queued) flush(o.id);
    }
    const timer = setInterval(refresh, REFRESH_MS);
    const online = () => {
      for (const id of buffers.keys()) if (bufferOf(id).queued) flush(id, true);
    };
    addEventListener("online", online);
    return () => {
      clearInterval(timer);
      removeEventListener("online", online);
      for (const t of retries.values()) clearTimeout(t);
    };
  }, []);

  // Live status changes of the listed orders.
  const ids = orders.value.map((o) => o.id).join(",");
  useEffect(() => {
    if (!ids) return;
    const { client } = realtimeClient({
      supabaseUrl: props.supabaseUrl,
      supabaseAnonKey: props.supabaseAnonKey,
    });
    let soon: ReturnType<typeof setTimeout> | undefined;
    const refreshSoon = () => {
      clearTimeout(soon);
      soon = setTimeout(refresh, 300);
    };
    const leave = ids.split(",").map((id) =>
      joinChannel(client, `order:${id}`, {
        setup: (ch) => void ch.on("broadcast", { event: "status" }, refreshSoon),
      })
    );
    return () => {
      clearTimeout(soon);
      leave.forEach((l) => l());
    };
  }, [ids]);

  // One position watch while anything is shared, in the chosen mode.
  const sharing = streaming.value.length > 0;
  useEffect(() => {
    if (!sharing) return;
    const geo = navigator.geolocation;
    if (!geo) {
      geoError.value = "This browser cannot share its location.";
      streaming.value = [];
      return;
    }
    const m = MODES[mode.value];
    const watch = geo.watchPosition(
      (pos) => {
        geoError.value = "";
        const fix = toFix(pos);
        lastFix.value = fix;
        for (const id of streaming.value) {
          if (!shouldKeep(lastKept.get(id) ?? null, fix, mode.value)) continue;
          lastKept.set(id, fix);
          bufferOf(id).push(fix);
          showStats(id);
          flush(id);
        }
      },
      (err) => {
        geoError.value = err.code === err.PERMISSION_DENIED
          ? "Location access was refused: allow it in the browser's site settings to share."
          : `No position yet (${err.message || "unavailable"}).`;
        if (err.code === err.PERMISSION_DENIED) streaming.value = [];
      },
      { enableHighAccuracy: m.enableHighAccuracy, maximumAge: m.maximumAge, timeout: 60_000 },
    );
    return () => geo.clearWatch(watch);
  }, [sharing, mode.value]);

  // The screen stays on while sharing, re-acquired when the page is visible again.
  useEffect(() => {
    if (!sharing) return;
    const api = (navigator as Navigator & { wakeLock?: { request(t: "screen"): Promise<WakeLockSentinel> } })
      .wakeLock;
    if (!api) {
      wake.value = "unsupported";
      return;
    }
    let lock: WakeLockSentinel | null = null;
    let done = false;
    const acquire = async () => {
      if (document.visibilityState !== "visible" || (lock && !lock.released)) return;
      try {
        lock = await api.request("screen");
        if (done) return void lock.release();
        wake.value = "held";
        lock.addEventListener("release", () => !done && (wake.value = "off"));
      } catch {
        wake.value = "refused";
      }
    };
    acquire();
    document.addEventListener("visibilitychange", acquire);
    return () => {
      done = true;
      document.removeEventListener("visibilitychange", acquire);
      lock?.release().catch(() => {});
      wake.value = "off";
    };
  }, [sharing]);

  const chooseMode = (m: StreamMode) => {
    mode.value = m;
    saveMode(storage(), m);
  };

  const step = async (e: SubmitEvent, order: OrderView) => {
    e.preventDefault();
    const to = (e.submitter as HTMLButtonElement | null)?.value;
    if (!to) return;
    busy.value = order.id;
    error.value = "";
    try {
      const res = await fetch(`/api/v1/orders/${order.id}/status`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ status: to }),
      });
      const next = await readJson<OrderView>(res);
      orders.value = orders.value.map((o) => o.id === next.id ? next : o)
        .filter((o) => o.status !== "delivered" && o.status !== "cancelled");
      if (!ACTIVE.includes(next.status)) stop(next.id);
    } catch (err) {
      error.value = (err as Error).message;
      refresh();
    } finally {
      busy.value = "";
    }
  };

  const toggle = (id: string) => {
    if (streaming.value.includes(id)) return stop(id);
    geoError.value = "";
    showStats(id, { error: "" });
    streaming.value = [...streaming.value, id];
  };

  const fix = lastFix.value;
  return (
    <div class="partner-console stack" data-testid="partner-console">
      <section class="card partner-settings" aria-label="Sharing settings">
        <div class="row spread">
          <h2>Location sharing</h2>
          <span class={`wake-lock wake-${wake.value}`} data-testid="wake-lock">
            {WAKE_LABELS[wake.value]}
          </span>
        </div>
        <div class="mode-picker" role="radiogroup" aria-label="Battery mode">
          {MODE_ORDER.map((m) => (
            <button
              key={m}
              type="button"
              role="radio"
              aria-checked={mode.value === m}
              class={mode.value === m ? "mode-choice chosen" : "mode-choice"}
              data-testid={`mode-${m}`}
              disabled={!ready.value}
              onClick={() => chooseMode(m)}
            >
              <strong>{MODES[m].label}</strong>
              <span>{MODES[m].hint}</span>
            </button>
          ))}
        </div>
        <p class="muted partner-last-fix" data-testid="last-fix" aria-live="polite">
          {fix
            ? `Last fix ${time(fix.recorded_at)}, ±${Math.round(fix.accuracy)} m`
            : sharing
            ? "Waiting for a position…"
            : "Not sharing."}
        </p>
        {geoError.value && <p class="alert" role="alert" data-testid="geo-error">{geoError.value}</p>}
      </section>
      {error.value && <p class="alert" role="alert" data-testid="partner-error">{error.value}</p>}
      {orders.value.length === 0 && (
        <p class="card muted" data-testid="no-orders">No open orders are assigned to you right now.</p>
      )}
      {orders.value.map((o) => {
        const on = streaming.value.includes(o.id);
        const s = stats.value[o.id];
        const steps = o.allowed.filter((a) => a !== "assigned");
        return (
          <article key={o.id} class="card partner-order" data-testid="partner-order" data-order-id={o.id}>
            <div class="row spread">
              <h3>Order for {o.customer.name}</h3>
              <span class={`order-status status-${o.status}`} data-testid="order-status">
                {STATUS_LABELS[o.status] ?? o.status}
              </span>
            </div>
            <dl class="partner-stops">
              <dt>Pickup</dt>
              <dd>{o.pickup.address}</dd>
              <dt>Dropoff</dt>
              <dd>{o.dropoff.address}</dd>
              {o.notes && (
                <>
                  <dt>Notes</dt>
                  <dd>{o.notes}</dd>
                </>
              )}
            </dl>
            <div class="partner-actions">
              {steps.length > 0 && (
                <form
                  method="post"
                  action={`/partner/orders/${o.id}/status`}
                  class="row tight"
                  onSubmit={(e) => step(e, o)}
                >
                  {steps.map((st) => (
                    <button
                      key={st}
                      type="submit"
                      name="status"
                      value={st}
                      class={st === "cancelled" ? "danger" : ""}
                      disabled={busy.value === o.id}
                      data-testid={`step-${st}`}
                    >
                      {STEP_LABELS[st] ?? st}
                    </button>
                  ))}
                </form>
              )}
              {ACTIVE.includes(o.status) && (
                <button
                  type="button"
                  class={on ? "secondary" : "share-start"}
                  aria-pressed={on}
                  disabled={!ready.value}
                  data-testid="share-toggle"
                  onClick={() => toggle(o.id)}
                >
                  {on ? "Stop" : "Start sharing location"}
                </button>
              )}
            </div>
            {(on || (s && (s.queued || s.sent || s.error))) && (
              <p class="partner-stream muted" data-testid="stream-stats" aria-live="polite">
                <span class={on ? "stream-dot live" : "stream-dot"} />
                {on ? `Sharing · ${MODES[mode.value].label}` : "Not sharing"} ·{" "}
                <span data-testid="queued">
                  {s?.queued ?? 0}
                </span>{" "}
                queued · <span data-testid="sent">{s?.sent ?? 0}</span> sent
                {s?.dropped ? ` · ${s.dropped} dropped` : ""}
              </p>
            )}
            {s?.error && <p class="alert" role="alert" data-testid="stream-error">{s.error}</p>}
          </article>
        );
      })}
    </div>
  );
}
