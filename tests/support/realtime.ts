/** Helpers for realtime tests: Plaza on a free port, real supabase-js clients, waiting for events. */
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import type { TestContext } from "./app.ts";

/** Serves the test app on a free port; returns its URL and a stop function. */
export function listen(t: TestContext): { url: string; stop(): Promise<void> } {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => t.app.fetch(req, info),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

/** A supabase-js client pointed at Plaza, optionally with a user's access token. */
export function client(
  url: string,
  anonKey: string,
  options: { accessToken?: () => Promise<string>; vsn?: "1.0.0" | "2.0.0"; heartbeatIntervalMs?: number } =
    {},
): SupabaseClient {
  return createClient(url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    realtime: {
      params: { vsn: options.vsn ?? "2.0.0" },
      ...(options.vsn ? { vsn: options.vsn } : {}),
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 25_000,
    },
  });
}

/**
 * Subscribes and resolves with the first final status (SUBSCRIBED, CHANNEL_ERROR, TIMED_OUT, CLOSED).
 * As Supabase's docs say for private channels, the token is set first (`realtime.setAuth()`):
 * otherwise the first join goes out before supabase-js has fetched it.
 */
export async function subscribe(
  channel: RealtimeChannel,
  timeoutMs = 5000,
): Promise<{ status: string; error?: Error }> {
  await channel.socket.setAuth();
  return await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ status: "TEST_TIMEOUT" }), timeoutMs);
    channel.subscribe((status, error) => {
      clearTimeout(timer);
      resolve({ status, error });
    });
  });
}

/** Collects values pushed by callbacks; `next()` waits for the n-th. */
export function collector<T>() {
  const items: T[] = [];
  const waiters: { n: number; resolve: (v: T[]) => void }[] = [];
  return {
    items,
    push(v: T) {
      items.push(v);
      for (const w of waiters.splice(0)) {
        if (items.length >= w.n) w.resolve(items);
        else waiters.push(w);
      }
    },
    /** Resolves when at least `n` items arrived, or rejects after `timeoutMs`. */
    waitFor(n: number, timeoutMs = 5000): Promise<T[]> {
      if (items.length >= n) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`waited for ${n} items, got ${items.length}`)),
          timeoutMs,
        );
        waiters.push({ n, resolve: (v) => (clearTimeout(timer), resolve(v)) });
      });
    },
  };
}

/** Closes every channel and socket of the clients. */
export async function closeAll(...clients: SupabaseClient[]) {
  for (const c of clients) {
    await c.removeAllChannels();
    c.realtime.disconnect();
  }
}
