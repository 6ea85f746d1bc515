/**
 * Who is online right now: presence on the private `online` channel, which every signed-in member
 * may join (policy in migration 0004). Shows a reconnecting notice while the socket is down.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
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
    const channel = client.channel("online", { config: { private: true, presence: { key: me.id } } });
    channel.on("presence", { event: "sync" }, () => {
      const state = channel.presenceState<{ name?: string }>();
      online.value = Object.entries(state)
        .map(([id, metas]) => ({ id, name: metas[0]?.name ?? "Someone" }))
        .sort((a, b) => (a.id === me.id ? -1 : b.id === me.id ? 1 : a.name.localeCompare(b.name)));
    });
    let cancelled = false;
    client.setAuth().then(() => {
      if (cancelled) return;
      channel.subscribe((s) => {
        status.value = stateFromStatus(s);
        if (s === "SUBSCRIBED") channel.track({ name: me.name });
      });
    });
    return () => {
      cancelled = true;
      client.removeChannel(channel);
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
