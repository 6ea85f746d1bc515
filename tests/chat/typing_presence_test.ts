/**
 * Chat over realtime, the members' side (docs/chat.md, "Realtime"): typing as a client broadcast on
 * `room:<id>`, presence there, and what a muted member may still do. Driven with real supabase-js.
 */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser } from "../support/factories.ts";
import { api, barrier, joinPrivate, roomWith, say, until, userClient, waitEvent } from "../support/chat.ts";
import { closeAll, listen } from "../support/realtime.ts";

appTest(
  "[chat] typing: a member's client broadcast reaches the others; a stranger cannot send",
  async (t) => {
    const server = listen(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const stranger = await randomUser(t, "stranger");
    const room = await roomWith(t, ada, [bo]);
    const topic = `room:${room.id}`;
    const a = userClient(t, server.url, ada);
    const b = userClient(t, server.url, bo);
    const s = userClient(t, server.url, stranger);
    try {
      const subA = await joinPrivate(a, topic);
      const subB = await joinPrivate(b, topic, { broadcast: { ack: true } });
      assert.equal(subA.status, "SUBSCRIBED");
      assert.equal(subB.status, "SUBSCRIBED");
      const typing = { user_id: bo.id, name: bo.name, typing: true };
      assert.equal(await subB.channel.send({ type: "broadcast", event: "typing", payload: typing }), "ok");
      const got = await waitEvent(subA.events, "typing", (e) => e.event === "typing");
      assert.deepEqual(got.payload, typing);
      assert.equal(
        await subB.channel.send({
          type: "broadcast",
          event: "typing",
          payload: { ...typing, typing: false },
        }),
        "ok",
      );
      await until("typing stopped", () => subA.events.items.filter((e) => e.event === "typing").length >= 2);

      // The stranger: the join is refused, and neither REST route lets them send.
      const subS = await joinPrivate(s, topic);
      assert.equal(subS.status, "CHANNEL_ERROR");
      const fake = { user_id: ada.id, name: ada.name, typing: true };
      await assert.rejects(subS.channel.httpSend("typing", fake));
      const rest = await fetch(`${server.url}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          apikey: t.platform.apiKeys.anonKey,
          authorization: `Bearer ${stranger.session.access_token}`,
        },
        body: JSON.stringify({ messages: [{ topic, event: "typing", payload: fake, private: true }] }),
      });
      assert.equal(rest.status, 403);
      await rest.body?.cancel();
      await barrier(t, topic, subA.events);
      const seen = subA.events.items.filter((e) => e.event === "typing").map((e) => e.payload);
      assert.deepEqual(seen, [typing, { ...typing, typing: false }], "only Bo's own two");
      assert.deepEqual(subB.events.items.filter((e) => e.event === "typing"), [], "no echo without self");
    } finally {
      await closeAll(a, b, s);
      await server.stop();
    }
  },
);

/** What a muted member's attempts to write on the room channel come to, and what Ada saw of them. */
async function mutedAttempts(
  t: TestContext,
  sub: Awaited<ReturnType<typeof joinPrivate>>,
  adaSub: Awaited<ReturnType<typeof joinPrivate>>,
  topic: string,
) {
  const typing = await sub.channel.send({
    type: "broadcast",
    event: "typing",
    payload: { typing: true, marker: crypto.randomUUID() },
  });
  const track = await sub.channel.track({ name: "muted" });
  await barrier(t, topic, adaSub.events);
  return {
    typing,
    track,
    adaSawTyping: adaSub.events.items.filter((e) => e.event === "typing").length,
    adaSawPresence: Object.keys(adaSub.channel.presenceState()).length,
  };
}

const refusedAll = { typing: "error", track: "error", adaSawTyping: 0, adaSawPresence: 0 };

appTest(
  "[chat] a member muted before joining receives the room channel but may not send typing or track presence",
  async (t) => {
    const server = listen(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const room = await roomWith(t, ada, [bo]);
    const topic = `room:${room.id}`;
    const muted = await api(t, ada, "POST", `/rooms/${room.id}/mute`, { user_id: bo.id, minutes: 30 });
    assert.equal(muted.status, 200, JSON.stringify(muted.body));
    assert.ok(muted.body.muted_until);
    const a = userClient(t, server.url, ada);
    const b = userClient(t, server.url, bo);
    try {
      const subA = await joinPrivate(a, topic, { presence: { enabled: true } });
      const subB = await joinPrivate(b, topic, { broadcast: { ack: true }, presence: { enabled: true } });
      assert.equal(subA.status, "SUBSCRIBED");
      assert.equal(subB.status, "SUBSCRIBED", "muted members may read");
      const message = await say(t, ada, room.id, "you can read this");
      await waitEvent(subB.events, "the message", (e) => e.payload?.id === message.id);
      // docs/chat.md: the policies "let members who are not muted send (typing) and track presence".
      assert.deepEqual(await mutedAttempts(t, subB, subA, topic), refusedAll);
    } finally {
      await closeAll(a, b);
      await server.stop();
    }
  },
);

appTest(
  "[chat] a member muted while on the room channel can no longer send typing or track presence there",
  async (t) => {
    const server = listen(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const room = await roomWith(t, ada, [bo]);
    const topic = `room:${room.id}`;
    const a = userClient(t, server.url, ada);
    const b = userClient(t, server.url, bo);
    try {
      const subA = await joinPrivate(a, topic, { presence: { enabled: true } });
      const subB = await joinPrivate(b, topic, { broadcast: { ack: true }, presence: { enabled: true } });
      assert.equal(subA.status, "SUBSCRIBED");
      assert.equal(subB.status, "SUBSCRIBED");
      assert.equal(
        await subB.channel.send({ type: "broadcast", event: "typing", payload: { typing: true } }),
        "ok",
        "before the mute",
      );
      await waitEvent(subA.events, "typing before the mute", (e) => e.event === "typing");
      const muted = await api(t, ada, "POST", `/rooms/${room.id}/mute`, { user_id: bo.id, minutes: 30 });
      assert.equal(muted.status, 200, JSON.stringify(muted.body));
      // The server re-authorizes open channels after a mute asynchronously (on Postgres the check
      // runs on another connection): probe until a send is refused, within a few seconds.
      await until(
        "the mute to reach Bo's open channel",
        async () => (await subB.channel.send({ type: "broadcast", event: "probe", payload: {} })) === "error",
      );
      subA.events.items.length = 0;
      assert.deepEqual(await mutedAttempts(t, subB, subA, topic), refusedAll);
    } finally {
      await closeAll(a, b);
      await server.stop();
    }
  },
);

appTest(
  "[chat] presence on the room channel: each member sees the other with a server-stamped user_id",
  async (t) => {
    const server = listen(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const room = await roomWith(t, ada, [bo]);
    const a = userClient(t, server.url, ada);
    const b = userClient(t, server.url, bo);
    try {
      const presence = { presence: { enabled: true } };
      const subA = await joinPrivate(a, `room:${room.id}`, presence);
      const subB = await joinPrivate(b, `room:${room.id}`, presence);
      assert.equal(subA.status, "SUBSCRIBED");
      assert.equal(subB.status, "SUBSCRIBED");
      assert.equal(await subA.channel.track({ name: ada.name }), "ok");
      // Bo claims to be Ada: the stamp says who he is.
      assert.equal(await subB.channel.track({ name: bo.name, user_id: ada.id }), "ok");
      type Meta = { name?: string; user_id?: string };
      const metas = (ch: typeof subA.channel) => Object.values(ch.presenceState()).flat() as Meta[];
      const names = (ch: typeof subA.channel) =>
        metas(ch).map((m) => `${m.name}=${m.user_id}`).sort().join(" ");
      const both = [`${ada.name}=${ada.id}`, `${bo.name}=${bo.id}`].sort().join(" ");
      await until("Ada sees both", () => names(subA.channel) === both);
      await until("Bo sees both", () => names(subB.channel) === both);
      // Bo leaves: Ada's view drops him.
      await b.removeChannel(subB.channel);
      await until("Bo gone from Ada's view", () => names(subA.channel) === `${ada.name}=${ada.id}`);
    } finally {
      await closeAll(a, b);
      await server.stop();
    }
  },
);
