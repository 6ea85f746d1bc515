/**
 * Live counters on the analytics dashboard (docs/analytics.md, "Live"): who was active in the last
 * five minutes, how many visitors, how many messages the last minute saw. Follows the `live`
 * broadcasts of the private channel `admin:live`; while the channel is not subscribed, or when no
 * broadcast came for a while, it polls `GET /api/v1/analytics/live` every 15 seconds instead.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";
import type { LiveCounters as Counters } from "@/lib/analytics/dashboard.ts";

/** Props: the counters at render time and the realtime config. */
export interface LiveCountersProps {
  [key: string]: unknown;
  initial: Counters;
  supabaseUrl: string;
  supabaseAnonKey: string;
}

const POLL_MS = 15_000;

const clock = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : `${d.toISOString().slice(11, 19)} UTC`;
};

/** The live counters. */
export default function LiveCounters(props: LiveCountersProps) {
  const counters = useSignal<Counters>(props.initial);
  const state = useSignal<"connecting" | "live" | "reconnecting">("connecting");

  useEffect(() => {
    let subscribed = false;
    let lastEvent = 0;
    let gone = false;
    const poll = async () => {
      try {
        const res = await fetch("/api/v1/analytics/live", {
          credentials: "same-origin",
          headers: { accept: "application/json" },
        });
        if (res.ok && !gone) counters.value = await res.json() as Counters;
      } catch { /* the next tick tries again */ }
    };
    const timer = setInterval(() => {
      if (!subscribed || Date.now() - lastEvent > POLL_MS) poll();
    }, POLL_MS);
    const { client } = realtimeClient({
      supabaseUrl: props.supabaseUrl,
      supabaseAnonKey: props.supabaseAnonKey,
    });
    const leave = joinChannel(client, "admin:live", {
      setup(ch) {
        ch.on("broadcast", { event: "live" }, ({ payload }) => {
          const p = payload as Partial<Counters>;
          if (typeof p?.active_users !== "number") return;
          lastEvent = Date.now();
          state.value = "live";
          counters.value = {
            active_users: p.active_users,
            visitors: p.visitors ?? 0,
            messages_last_minute: p.messages_last_minute ?? 0,
            at: p.at ?? new Date().toISOString(),
          };
        });
      },
      onStatus(status) {
        subscribed = status === "SUBSCRIBED";
        state.value = subscribed ? "live" : "reconnecting";
        if (!subscribed) poll();
      },
    });
    return () => {
      gone = true;
      clearInterval(timer);
      leave();
    };
  }, []);

  const c = counters.value;
  const label = state.value === "live"
    ? "Live"
    : state.value === "reconnecting"
    ? "Reconnecting…"
    : "Connecting…";
  return (
    <section
      class="card live-counters"
      aria-label="Live counters"
      data-testid="live-counters"
      data-state={state.value}
    >
      <div class="live-head">
        <h2>Right now</h2>
        <span class={`live-badge ${state.value}`} role="status">
          <span class="live-dot" aria-hidden="true" />
          {label}
        </span>
      </div>
      <dl class="stats live-stats">
        <div>
          <dt>Active now (5 min)</dt>
          <dd data-testid="live-active">{c.active_users}</dd>
        </div>
        <div>
          <dt>Visitors now</dt>
          <dd data-testid="live-visitors">{c.visitors}</dd>
        </div>
        <div>
          <dt>Messages in the last minute</dt>
          <dd data-testid="live-messages">{c.messages_last_minute}</dd>
        </div>
      </dl>
      <p class="hint live-at">Updated {clock(c.at)}</p>
    </section>
  );
}
