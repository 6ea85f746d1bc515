import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomUser } from "../support/factories.ts";
import { client, closeAll, collector, listen, subscribe } from "../support/realtime.ts";

appTest("[chat] a member removed from a room loses its live channel at once", async (t) => {
  const server = listen(t);
  const anon = t.platform.apiKeys.anonKey;
  const owner = await randomUser(t, "owner");
  const kept = await randomUser(t, "kept");
  const gone = await randomUser(t, "gone");
  const room = await roomWith(t, owner, [kept, gone]);
  const sockets = [kept, gone].map((u) =>
    client(server.url, anon, { accessToken: () => Promise.resolve(u.session.access_token) })
  );
  try {
    const seen = [collector<{ payload: { body: string } }>(), collector<{ payload: { body: string } }>()];
    const closed: string[] = [];
    const channels = sockets.map((s, i) =>
      s.channel(`room:${room.id}`, { config: { private: true } })
        .on("broadcast", { event: "message" }, (m) =>
          seen[i].push(m as unknown as { payload: { body: string } }))
        .on("system", {}, (m: { message?: string }) =>
          closed.push(String(m.message ?? "")))
    );
    for (const ch of channels) assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
    await say(t, owner, room.id, "before");
    await Promise.all(seen.map((c) => c.waitFor(1)));

    const removed = await api(t, owner, "DELETE", `/rooms/${room.id}/members/${gone.id}`);
    assert.equal(removed.status, 204);
    const deadline = Date.now() + 5000;
    while (!closed.some((m) => /no longer have permission/.test(m)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(closed.some((m) => /no longer have permission/.test(m)), `system messages: ${closed}`);

    await say(t, owner, room.id, "after");
    await seen[0].waitFor(3); // "before", the "was removed" system message, "after"
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen[1].items.map((m) => m.payload.body), ["before"], "nothing after the removal");
    assert.ok(seen[0].items.some((m) => m.payload.body === "after"));
  } finally {
    await closeAll(...sockets);
    await server.stop();
  }
});
