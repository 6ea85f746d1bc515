/**
 * Who is online right now: presence on the private `online` channel, which every signed-in member
 * may join (policy in migration 0004). Shows a reconnecting notice while the socket is down.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { RealtimeChannel } from "@supabase/realtime-js";
import { realtimeClient, stateFromStatus } from "@/lib/client/realtime.ts";

/** Props: the client configuration and who this member is. */
export interface OnlineMembersProps {
  [key: string]: unknown;
  supabaseUrl: string;
  supabaseAnonKey: string;
  me: { id: string; name: string };
}

interface Present {
  id: string;
  name: string;
}

/** The online list. */
export default function OnlineMembers({ supabaseUrl, supabaseAnonKey, me }: OnlineMembersProps) {
  const online = useSignal<Present[]>([{ id: me.id, name: me.name }]);
  const status = useSignal<"connecting" | "online" | "reconnecting" | "offline">("connecting");

  useEffect(() => {
    const { client } = realtimeClient({ supabaseUrl, supabaseAnonKey });
    let channel: RealtimeChannel | undefined;
    let cancelled = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;

    const join = async () => {
      await client.setAuth();
      if (cancelled) return;
      const ch = client.channel("online", { config: { private: true, presence: { key: me.id } } });
      channel = ch;
      ch.on("presence", { event: "sync" }, () => {
        // The server stamps user_id into every meta from the tracker's token: keys can be spoofed, ids cannot.
        const byUser = new Map<string, Present>();
        for (const metas of Object.values(ch.presenceState<{ name?: string; user_id?: string }>())) {
          const meta = metas[0];
          if (meta?.user_id) byUser.set(meta.user_id, { id: meta.user_id, name: meta.name ?? "Someone" });
        }
        online.value = [...byUser.values()]
          .sort((a, b) => (a.id === me.id ? -1 : b.id === me.id ? 1 : a.name.localeCompare(b.name)));
      });
      ch.subscribe((s) => {
        status.value = stateFromStatus(s);
        if (s === "SUBSCRIBED") {
          attempt = 0;
          ch.track({ name: me.name });
        }
        // The client does not rejoin a channel the server closed: join anew after a growing pause.
        if (s === "CLOSED" && !cancelled) {
          status.value = "reconnecting";
          retry = setTimeout(join, Math.min(30_000, 1000 * 2 ** attempt++));
        }
      });
    };
    join();
    return () => {
      cancelled = true;
      clearTimeout(retry);
      if (channel) client.removeChannel(channel);
    };
  }, []);

  const count = online.value.length;
  return (
    <section
      class="card"
      aria-labelledby="online-heading"
      data-testid="online-members"
      data-status={status.value}
    >
      <h2 id="online-heading">
        Online now <span class="badge" data-testid="online-count">{count}</span>
      </h2>
      {status.value === "reconnecting" && <p class="status error" role="status">Reconnecting…</p>}
      <ul class="online-list">
        {online.value.slice(0, 12).map((p) => (
          <li key={p.id}>
            <span class="dot" aria-hidden="true"></span>
            {p.name}
            {p.id === me.id && <span class="muted">(you)</span>}
          </li>
        ))}
      </ul>
      {count > 12 && <p class="muted">and {count - 12} more</p>}
    </section>
  );
}
