/**
 * Who is online right now: presence on the private `online` channel, which every signed-in member
 * may join (policy in migration 0004). Shows a reconnecting notice while the socket is down.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { joinChannel, realtimeClient, stateFromStatus } from "@/lib/client/realtime.ts";

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
    return joinChannel(client, "online", {
      config: { presence: { key: me.id } },
      setup(ch) {
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
      },
      onStatus(s, ch) {
        // A closed channel is joined anew by joinChannel: until then, we are reconnecting.
        status.value = s === "CLOSED" ? "reconnecting" : stateFromStatus(s);
        if (s === "SUBSCRIBED") ch.track({ name: me.name });
      },
    });
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
