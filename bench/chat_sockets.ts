/**
 * What the chat benchmarks' client processes share (bench/chat_clients.ts,
 * bench/media_chat_clients.ts): supabase-js clients with their own socket and access token on the
 * private channel `room:<id>`, a table of items being waited for (arrival offsets per socket, keyed
 * by a string the broadcast payload carries), and a post over HTTP timed from just before the
 * request to its `message` event at every subscribed socket (one clock: poster and subscribers share
 * the process).
 */
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";

export const sleep = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/** One item being waited for: when it was sent and its arrival offsets (ms), one per socket. */
export interface Pending {
  t0: number;
  arrivals: number[];
  done?: () => void;
}

/** A post over HTTP: its duration (ms), status, response body and arrival offsets (ms). */
export interface Posted {
  http: number;
  status: number;
  text: string;
  arrivals: number[];
}

export interface SocketBenchOptions {
  url: string;
  anonKey: string;
  roomId: string;
  /** Sockets an item must reach to count as delivered. */
  expected: number;
  /** How long to wait for an item to reach every socket (ms). */
  timeoutMs: number;
}

export interface SocketBench {
  /** `room:<roomId>`. */
  topic: string;
  /** A supabase-js client with its own socket, authenticated as `token`. */
  client(token: string): SupabaseClient;
  /** Joins `channel`; rejects after 10 s or on any status but SUBSCRIBED. */
  subscribe(channel: RealtimeChannel): Promise<void>;
  /**
   * A client per token, each joined to the private channel one after another, recording arrivals
   * for `events`: broadcast event name -> the payload field that holds the key (registered in order).
   */
  subscribeAll(tokens: string[], events: Record<string, string>): Promise<SupabaseClient[]>;
  /** Starts waiting for `key`, sent now. */
  track(key: string): Pending;
  /** Records that `key` reached one more socket (ignored unless tracked). */
  arrived(key: string | undefined): void;
  /** Waits until every socket has `key`'s item, or `timeoutMs`; stops tracking it; its arrivals. */
  waitAll(key: string): Promise<number[]>;
  /** Posts `body` to the room as `token` with `client_id` `key`; timed to every socket. */
  post(token: string, key: string, body: string): Promise<Posted>;
}

/** The shared client side of the chat benchmarks for one room. */
export function createSocketBench(o: SocketBenchOptions): SocketBench {
  const topic = `room:${o.roomId}`;
  const pending = new Map<string, Pending>();

  function client(token: string): SupabaseClient {
    return createClient(o.url, o.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false },
      accessToken: () => Promise.resolve(token),
      realtime: { params: { vsn: "2.0.0" }, heartbeatIntervalMs: 25_000 },
    });
  }

  async function subscribe(channel: RealtimeChannel): Promise<void> {
    await channel.socket.setAuth();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`joining ${topic} timed out`)), 10_000);
      channel.subscribe((status, err) => {
        if (status === "SUBSCRIBED") {
          clearTimeout(timer);
          resolve();
        } else if (status !== "CLOSED") {
          clearTimeout(timer);
          reject(new Error(`joining ${topic}: ${status} ${err?.message ?? ""}`));
        }
      });
    });
  }

  async function subscribeAll(tokens: string[], events: Record<string, string>): Promise<SupabaseClient[]> {
    const clients: SupabaseClient[] = [];
    for (const token of tokens) {
      const c = client(token);
      clients.push(c);
      let channel = c.channel(topic, { config: { private: true } });
      for (const [event, field] of Object.entries(events)) {
        channel = channel.on(
          "broadcast",
          { event },
          (m) => arrived((m.payload as Record<string, string | undefined>)[field]),
        );
      }
      await subscribe(channel);
    }
    return clients;
  }

  function track(key: string): Pending {
    const p: Pending = { t0: performance.now(), arrivals: [] };
    pending.set(key, p);
    return p;
  }

  function arrived(key: string | undefined): void {
    const p = key ? pending.get(key) : undefined;
    if (!p) return;
    p.arrivals.push(performance.now() - p.t0);
    if (p.arrivals.length >= o.expected) p.done?.();
  }

  async function waitAll(key: string): Promise<number[]> {
    const p = pending.get(key);
    if (!p) return [];
    if (p.arrivals.length < o.expected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.timeoutMs);
        p.done = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    pending.delete(key);
    return p.arrivals;
  }

  async function post(token: string, key: string, body: string): Promise<Posted> {
    const p = track(key);
    const res = await fetch(`${o.url}/api/v1/rooms/${o.roomId}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
    });
    const text = await res.text();
    const http = performance.now() - p.t0;
    const arrivals = await waitAll(key);
    return { http, status: res.status, text, arrivals };
  }

  return { topic, client, subscribe, subscribeAll, track, arrived, waitAll, post };
}

/** Leaves every channel and closes the socket of each of `clients`. */
export async function closeAll(clients: SupabaseClient[]): Promise<void> {
  for (const c of clients) {
    await c.removeAllChannels();
    c.realtime.disconnect();
  }
}
