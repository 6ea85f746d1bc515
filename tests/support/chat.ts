/** Chat fixtures: rooms, members and messages through the API. */
import assert from "node:assert/strict";
import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";
import type { TestContext } from "./app.ts";
import { json, type TestUser } from "./factories.ts";
import { client, collector, subscribe } from "./realtime.ts";

/** Calls the chat API as `user` and returns status and JSON body. */
export async function api(
  t: TestContext,
  user: TestUser,
  method: string,
  path: string,
  body?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const init: RequestInit = body === undefined
    ? { method, headers: user.bearer }
    : json(method, body, user.bearer);
  const res = await t.request(`/api/v1${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Creates a room owned by `owner` and adds `members`. */
export async function roomWith(
  t: TestContext,
  owner: TestUser,
  members: TestUser[] = [],
  kind: "public" | "private" = "private",
): Promise<{ id: string; name: string }> {
  const created = await api(t, owner, "POST", "/rooms", {
    name: `Room ${crypto.randomUUID().slice(0, 6)}`,
    kind,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const m of members) {
    const added = await api(t, owner, "POST", `/rooms/${created.body.id}/members`, { user_id: m.id });
    assert.equal(added.status, 201, JSON.stringify(added.body));
  }
  return created.body;
}

/** Posts a text message and returns it. */
export async function say(t: TestContext, user: TestUser, roomId: string, body: string, extra = {}) {
  const res = await api(t, user, "POST", `/rooms/${roomId}/messages`, {
    body,
    client_id: crypto.randomUUID(),
    ...extra,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

// Realtime helpers for the chat tests (tests/chat/).

/** A broadcast as supabase-js hands it to `on("broadcast", …)`. */
export interface Received {
  event: string;
  // deno-lint-ignore no-explicit-any
  payload: any;
  meta?: { id?: string; replayed?: boolean };
}

/** A supabase-js client signed in as `user`, against Plaza served at `url`. */
export function userClient(t: TestContext, url: string, user: TestUser): SupabaseClient {
  return client(url, t.platform.apiKeys.anonKey, {
    accessToken: () => Promise.resolve(user.session.access_token),
  });
}

/**
 * Joins the private channel `topic` on `c` and collects its broadcasts; `status` is how the join
 * ended (SUBSCRIBED, CHANNEL_ERROR, …).
 */
export async function joinPrivate(
  c: SupabaseClient,
  topic: string,
  config: { broadcast?: Record<string, unknown>; presence?: Record<string, unknown> } = {},
): Promise<
  { channel: RealtimeChannel; events: ReturnType<typeof collector<Received>>; status: string; error?: Error }
> {
  const events = collector<Received>();
  const channel = c.channel(topic, { config: { ...config, private: true } })
    .on("broadcast", { event: "*" }, (m) => events.push(m as unknown as Received));
  const { status, error } = await subscribe(channel);
  return { channel, events, status, error };
}

/** Polls `probe` every 20 ms until it returns a value other than undefined/null/false; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the first collected broadcast matching `match`. */
export function waitEvent(
  events: { items: Received[] },
  what: string,
  match: (e: Received) => boolean,
  timeoutMs = 5000,
): Promise<Received> {
  return until(what, () => events.items.find(match), timeoutMs);
}

/**
 * Sends a marker on `topic` through realtime.send (the same NOTIFY pipeline as the chat triggers,
 * delivered in order) and waits until `events` has it: by then every database broadcast committed
 * earlier, and every broadcast the server delivered earlier, has reached that socket.
 */
export async function barrier(t: TestContext, topic: string, events: { items: Received[] }): Promise<void> {
  const mark = crypto.randomUUID();
  await t.platform.db.query(
    "select realtime.send(jsonb_build_object('mark', $1::text), 'barrier', $2, true)",
    [
      mark,
      topic,
    ],
  );
  await waitEvent(
    events,
    `the barrier on ${topic}`,
    (e) => e.event === "barrier" && e.payload?.mark === mark,
  );
}

/** Every message of a room after `after`, oldest first, page by page as `user`; also the page count. */
export async function fetchAfter(
  t: TestContext,
  user: TestUser,
  roomId: string,
  after = 0,
  limit = 100,
  // deno-lint-ignore no-explicit-any
): Promise<{ messages: any[]; pages: number }> {
  // deno-lint-ignore no-explicit-any
  const messages: any[] = [];
  let pages = 0;
  for (let cursor = after;;) {
    const page = await api(t, user, "GET", `/rooms/${roomId}/messages?after=${cursor}&limit=${limit}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    pages++;
    messages.push(...page.body.messages);
    if (!page.body.has_more) return { messages, pages };
    assert.ok(page.body.messages.length > 0, "has_more with an empty page");
    cursor = page.body.messages.at(-1).id;
  }
}
