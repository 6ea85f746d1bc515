/**
 * Browser side of realtime: one realtime client for the page, pointed at Plaza (embedded) or at
 * Supabase (cloud) by the server-provided config, with the user's access token kept fresh from
 * `/api/v1/auth/token` (session cookies are HttpOnly, so the page asks the server for it) and a
 * connection state islands can show ("reconnecting…"). It is supabase-js's own realtime module
 * (`@supabase/realtime-js`, the client behind `supabase.channel()`), without the REST, auth and
 * storage clients the pages do not use: about 19 KB instead of 60 KB gzipped.
 */
import { type Signal, signal } from "@preact/signals";
import { type RealtimeChannel, RealtimeClient } from "@supabase/realtime-js";

/** Where and with which public key to connect (`GET /api/v1/client-config`, also passed as island props). */
export interface ClientConfig {
  supabaseUrl: string;
  supabaseAnonKey: string;
}

/** What islands show about the connection. */
export type ConnectionState = "connecting" | "online" | "reconnecting" | "offline";

interface Shared {
  client: RealtimeClient;
  state: Signal<ConnectionState>;
}

let shared: Shared | undefined;
let token: { value: string; expiresAt: number } | null = null;

/** The current access token, refreshed a minute before it expires; the anon key when signed out. */
async function accessToken(anonKey: string): Promise<string> {
  if (token && token.expiresAt - 60 > Date.now() / 1000) return token.value;
  try {
    const res = await fetch("/api/v1/auth/token", {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (res.status === 401) {
      token = null; // signed out
      return anonKey;
    }
    // Any other failure (a deploy, a rate limit) keeps the last token rather than downgrading to anon.
    if (!res.ok) return token?.value ?? anonKey;
    const body = await res.json() as { access_token: string; expires_at: number };
    token = { value: body.access_token, expiresAt: body.expires_at };
    return token.value;
  } catch {
    return token?.value ?? anonKey;
  }
}

/** The page's realtime client (created once) and its connection state. */
export function realtimeClient(config: ClientConfig): Shared {
  if (shared) return shared;
  const state = signal<ConnectionState>("connecting");
  const url = `${config.supabaseUrl.replace(/^http/, "ws").replace(/\/$/, "")}/realtime/v1`;
  const client = new RealtimeClient(url, {
    params: { apikey: config.supabaseAnonKey, vsn: "2.0.0" },
    accessToken: () => accessToken(config.supabaseAnonKey),
  });
  client.onHeartbeat((status) => {
    if (status === "ok") state.value = "online";
    else if (status === "timeout" || status === "error") state.value = "reconnecting";
    else if (status === "disconnected") state.value = "offline";
  });
  shared = { client, state };
  return shared;
}

/** Maps a channel's subscribe status to a connection state. */
export function stateFromStatus(status: string): ConnectionState {
  if (status === "SUBSCRIBED") return "online";
  if (status === "CLOSED") return "offline";
  return "reconnecting";
}

/** How {@link joinChannel} sets up and follows a channel. */
export interface JoinOptions {
  /** Channel config (presence key, …); channels are private unless it says `private: false`. */
  config?: Record<string, unknown>;
  /** Registers the channel's listeners; called for every (re)join. */
  setup(channel: RealtimeChannel): void;
  /** Each subscription status, with the channel it is about. */
  onStatus?(status: string, channel: RealtimeChannel): void;
}

/**
 * Joins the channel `topic` (private unless `config.private` is false) with a fresh token, and joins anew after the server closed it
 * (the client does not rejoin a closed channel) after a growing pause, up to 30 s.
 * Returns the function that leaves for good.
 */
export function joinChannel(client: RealtimeClient, topic: string, options: JoinOptions): () => void {
  let channel: RealtimeChannel | undefined;
  let cancelled = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  const join = async () => {
    await client.setAuth();
    if (cancelled) return;
    const ch = client.channel(topic, { config: { private: true, ...options.config } });
    channel = ch;
    options.setup(ch);
    ch.subscribe((status) => {
      if (status === "SUBSCRIBED") attempt = 0;
      options.onStatus?.(status, ch);
      if (status === "CLOSED" && !cancelled) {
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
}
