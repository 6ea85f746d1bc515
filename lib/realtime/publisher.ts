/**
 * The one way the rest of Plaza broadcasts to a topic from the server. Embedded: straight into the
 * in-process realtime server (and on to other processes). Cloud: Supabase Realtime's REST
 * broadcast API with the service-role key, the same request shape Plaza's own endpoint accepts.
 */
import type { OutgoingMessage, RealtimeServer } from "./server.ts";

/** Broadcasts messages from the server. */
export interface Publisher {
  broadcast(messages: OutgoingMessage[]): Promise<void>;
}

/** Publishes through the in-process server as the service role. */
export function localPublisher(server: RealtimeServer): Publisher {
  const service = { role: "service_role" as const, claims: null, exp: Number.MAX_SAFE_INTEGER };
  return { broadcast: (messages) => server.broadcast(service, messages) };
}

/** Publishes through a Supabase-compatible REST endpoint (`<url>/realtime/v1/api/broadcast`). */
export function restPublisher(
  baseUrl: string,
  serviceRoleKey: string,
  fetchImpl: typeof fetch = fetch,
): Publisher {
  const url = `${baseUrl.replace(/\/$/, "")}/realtime/v1/api/broadcast`;
  return {
    async broadcast(messages) {
      const res = await fetchImpl(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          apikey: serviceRoleKey,
          authorization: `Bearer ${serviceRoleKey}`,
        },
        body: JSON.stringify({ messages }),
      });
      await res.body?.cancel();
      if (res.status !== 202 && !res.ok) throw new Error(`realtime broadcast failed with HTTP ${res.status}`);
    },
  };
}
