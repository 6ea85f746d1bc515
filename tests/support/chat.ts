/** Chat fixtures: rooms, members and messages through the API. */
import assert from "node:assert/strict";
import type { TestContext } from "./app.ts";
import { json, type TestUser } from "./factories.ts";

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
