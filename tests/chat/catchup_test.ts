/**
 * Chat delivery guarantees (docs/chat.md, "Catch-up"): ids grow in commit order per room, live
 * events arrive in that order, and a client that lost its socket fills the gap with
 * `GET …/messages?after=` so that, deduplicated by id, it has every message exactly once.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import { fetchAfter, joinPrivate, type Received, roomWith, say, until, userClient } from "../support/chat.ts";
import { client, closeAll, collector, listen } from "../support/realtime.ts";

// deno-lint-ignore no-explicit-any
type Message = any;

/**
 * A supabase-js client whose network the test cuts and restores: `drop()` closes the socket and,
 * until `restore()`, every reconnection attempt (one each 50 ms) is refused, as in a tunnel.
 */
async function flakyClient(t: TestContext, url: string, user: TestUser) {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = probe.addr.port;
  probe.close();
  const net = { up: true, current: undefined as WebSocket | undefined, attempts: 0 };
  const live = new URL(url).host;
  class FlakySocket extends WebSocket {
    constructor(target: string | URL, protocols?: string | string[]) {
      const to = net.up ? String(target) : String(target).replace(live, `127.0.0.1:${deadPort}`);
      super(to, protocols);
      net.attempts++;
      net.current = this;
    }
  }
  const c = createClient(url, t.platform.apiKeys.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    accessToken: () => Promise.resolve(user.session.access_token),
    realtime: {
      params: { vsn: "2.0.0" },
      heartbeatIntervalMs: 25_000,
      reconnectAfterMs: () => 50,
      // deno-lint-ignore no-explicit-any
      transport: FlakySocket as any,
    },
  });
  await c.realtime.setAuth();
  return {
    c,
    net,
    drop() {
      net.up = false;
      net.current?.close();
    },
    restore() {
      net.up = true;
    },
  };
}

/** The positions where `ids` fails to increase, as "index: previous -> next". */
function inversions(ids: number[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < ids.length; i++) if (ids[i] <= ids[i - 1]) out.push(`${i}: ${ids[i - 1]} -> ${ids[i]}`);
  return out;
}

appTest(
  "[chat] catch-up: live, a dropped socket, posts while away and during the reconnect, then ?after= pages: every message exactly once, in id order",
  async (t) => {
    const server = listen(t);
    const owner = await randomUser(t, "owner");
    const ann = await randomUser(t, "ann");
    const posters = [await randomUser(t, "bo"), await randomUser(t, "cy"), await randomUser(t, "di")];
    const room = await roomWith(t, owner, [ann, ...posters]);
    const flaky = await flakyClient(t, server.url, ann);
    let caughtUp = false;
    let chatter: Promise<Message[]> | undefined;
    try {
      // Ann opens the room: subscribe first, then load the history, merging by id.
      const live = collector<Message>();
      const statuses = collector<string>();
      const channel = flaky.c.channel(`room:${room.id}`, { config: { private: true } })
        .on("broadcast", { event: "message" }, (m) => live.push((m as unknown as Received).payload));
      channel.subscribe((status) => statuses.push(status));
      await until("the first join", () => statuses.items.includes("SUBSCRIBED"));
      const view = new Map<number, Message>();
      let duplicates = 0;
      const merge = (m: Message) => {
        if (!view.has(m.id)) return void view.set(m.id, m);
        duplicates++;
        assert.deepEqual(m, view.get(m.id), `both copies of ${m.id} are the same`);
      };
      const initial = await fetchAfter(t, ann, room.id, 0);
      initial.messages.forEach(merge);
      assert.ok(initial.messages.length >= 5, "the room's system messages (created, four joins)");

      // Live while connected.
      for (let i = 0; i < 6; i++) await say(t, posters[i % 3], room.id, `before ${i}`);
      await live.waitFor(6);
      live.items.forEach(merge);
      const lastLive = Math.max(...live.items.map((m) => m.id));
      const before = (await fetchAfter(t, owner, room.id, 0)).messages.map((m) => m.id);
      assert.deepEqual(
        live.items.map((m) => m.id),
        before.filter((id) => id > initial.messages.at(-1).id),
        "live before the drop: every message since the load, in id order, no gaps",
      );

      // The socket drops; while Ann is away the others post, concurrently.
      flaky.drop();
      await until("the channel noticed", () => statuses.items.filter((s) => s !== "SUBSCRIBED").length > 0);
      const liveBeforeDrop = live.items.length;
      const away = await Promise.all(
        Array.from({ length: 24 }, (_, i) => say(t, posters[i % 3], room.id, `while away ${i}`)),
      );
      assert.equal(live.items.length, liveBeforeDrop, "nothing arrives while the network is down");

      // The network is back: the socket reconnects and the channel rejoins while others keep posting.
      const attempts = flaky.net.attempts;
      await until("a refused reconnection attempt", () => flaky.net.attempts > attempts);
      flaky.restore();
      chatter = (async () => {
        const posted = [];
        for (let i = 0; i < 120 && !caughtUp; i++) {
          posted.push(await say(t, posters[i % 3], room.id, `during ${i}`));
          await new Promise((r) => setTimeout(r, 5));
        }
        return posted;
      })();
      await until("the rejoin", () => statuses.items.lastIndexOf("SUBSCRIBED") > 0, 10_000);
      // One that surely arrives both ways: live now, and in the catch-up below.
      const overlap = await say(t, owner, room.id, "posted after the rejoin");
      await until("the overlap live", () => live.items.some((m) => m.id === overlap.id));
      // Catch-up in small pages (several round trips), merged with whatever arrives live.
      const caught = await fetchAfter(t, ann, room.id, lastLive, 7);
      assert.ok(caught.pages >= 4, `paged: ${caught.pages}`);
      assert.ok(caught.messages.some((m) => m.id === overlap.id));
      caught.messages.forEach(merge);
      caughtUp = true;
      const during = await chatter;
      // One more after the catch-up: it can only come live.
      const final = await say(t, posters[2], room.id, "after the catch-up");
      await until("the final message live", () => live.items.some((m) => m.id === final.id));
      live.items.slice(liveBeforeDrop).forEach(merge);

      const history = (await fetchAfter(t, owner, room.id, 0)).messages;
      const mine = [...view.values()].sort((x, y) => x.id - y.id);
      assert.deepEqual(mine.map((m) => m.id), history.map((m) => m.id), "the same ids as the room's history");
      assert.deepEqual(mine, history, "and the same messages");
      for (const m of [...away, ...during, final]) assert.ok(view.has(m.id), `has ${m.id}`);
      const liveIds = live.items.map((m) => m.id);
      assert.deepEqual(inversions(liveIds), [], `live ids in order: ${liveIds.join(" ")}`);
      assert.ok(duplicates >= 1, "at least the overlap arrived twice, and counts once");
    } finally {
      caughtUp = true;
      await chatter?.catch(() => {});
      await closeAll(flaky.c);
      await server.stop();
    }
  },
);

appTest(
  "[chat] ordering: 30 messages posted concurrently by several members arrive live in strictly increasing id order",
  async (t) => {
    const server = listen(t);
    const owner = await randomUser(t, "owner");
    const reader = await randomUser(t, "reader");
    const posters = [await randomUser(t, "bo"), await randomUser(t, "cy"), await randomUser(t, "di")];
    const room = await roomWith(t, owner, [reader, ...posters]);
    const v2 = userClient(t, server.url, reader);
    const v1 = client(server.url, t.platform.apiKeys.anonKey, {
      vsn: "1.0.0",
      accessToken: () => Promise.resolve(reader.session.access_token),
    });
    try {
      const subs = [await joinPrivate(v2, `room:${room.id}`), await joinPrivate(v1, `room:${room.id}`)];
      for (const s of subs) assert.equal(s.status, "SUBSCRIBED");
      const posted = await Promise.all(
        Array.from({ length: 30 }, (_, i) => say(t, posters[i % 3], room.id, `concurrent ${i}`)),
      );
      const postedIds = posted.map((m) => m.id).sort((x, y) => x - y);
      assert.equal(new Set(postedIds).size, 30);
      const history = (await fetchAfter(t, owner, room.id, 0)).messages.map((m: Message) => m.id);
      for (const [i, s] of subs.entries()) {
        const ids = () =>
          s.events.items.filter((e) => e.event === "message").map((e) => e.payload.id as number);
        await until(`all 30 on subscriber ${i}`, () => ids().length >= 30);
        const got = ids();
        assert.deepEqual(
          inversions(got),
          [],
          `subscriber ${i} (${i ? "vsn 1.0.0" : "vsn 2.0.0"}) on ${t.platform.db.kind}: live ids ${
            got.join(" ")
          }`,
        );
        assert.deepEqual([...got].sort((x, y) => x - y), postedIds, "exactly the posted messages");
        assert.deepEqual(got, history.filter((id: number) => postedIds.includes(id)), "the history's order");
      }
    } finally {
      await closeAll(v2, v1);
      await server.stop();
    }
  },
);
