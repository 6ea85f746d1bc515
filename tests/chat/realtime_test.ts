/**
 * Chat over realtime (docs/chat.md, "Realtime"), driven with the real supabase-js client: the
 * events of `room:<id>`, who may join it, and `user:<id>`. Typing and presence:
 * typing_presence_test.ts; catch-up and ordering: catchup_test.ts.
 */
import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { randomUser } from "../support/factories.ts";
import { api, barrier, joinPrivate, roomWith, say, until, userClient, waitEvent } from "../support/chat.ts";
import { closeAll, listen } from "../support/realtime.ts";

appTest(
  "[chat] room channel: message, message_updated (edit, reaction, tombstone) and read, none for receipts off",
  async (t) => {
    const server = listen(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const cy = await randomUser(t, "cy");
    const room = await roomWith(t, ada, [bo, cy]);
    const off = await api(t, cy, "PUT", "/chat/settings", { read_receipts: false });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const a = userClient(t, server.url, ada);
    try {
      const topic = `room:${room.id}`;
      const sub = await joinPrivate(a, topic);
      assert.equal(sub.status, "SUBSCRIBED", String(sub.error));
      const of = (id: number) => sub.events.items.filter((e) => e.payload?.id === id);

      // A new message: the MessageView, exactly as the API returned it to its author.
      const first = await say(t, bo, room.id, `hello @${ada.name}`);
      const created = await waitEvent(
        sub.events,
        "message",
        (e) => e.event === "message" && e.payload.id === first.id,
      );
      assert.deepEqual(created.payload, first);
      assert.deepEqual(created.payload.mentions, [ada.id]);

      // An edit.
      const edited = await api(t, bo, "PATCH", `/messages/${first.id}`, { body: `hello again @${ada.name}` });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      assert.ok(edited.body.edited_at);
      await until("the edit", () => of(first.id).length >= 2);
      assert.equal(of(first.id)[1].event, "message_updated");
      assert.deepEqual(of(first.id)[1].payload, edited.body);

      // A reaction.
      const reacted = await api(t, cy, "POST", `/messages/${first.id}/reactions`, { emoji: "👍" });
      assert.equal(reacted.status, 200, JSON.stringify(reacted.body));
      await until("the reaction", () => of(first.id).length >= 3);
      const withReaction = of(first.id)[2];
      assert.equal(withReaction.event, "message_updated");
      assert.deepEqual(withReaction.payload.reactions, reacted.body.reactions);
      assert.deepEqual(withReaction.payload.reactions, [{ emoji: "👍", count: 1, user_ids: [cy.id] }]);
      assert.equal(withReaction.payload.body, `hello again @${ada.name}`);

      // The deletion: the last event of the message is the tombstone the API returned.
      const deleted = await api(t, bo, "DELETE", `/messages/${first.id}`);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.equal(deleted.body.body, "");
      assert.ok(deleted.body.deleted_at);
      const tombstone = await waitEvent(
        sub.events,
        "the tombstone",
        (e) => e.event === "message_updated" && e.payload.id === first.id && e.payload.deleted_at !== null,
      );
      assert.deepEqual(tombstone.payload, deleted.body);
      assert.deepEqual(tombstone.payload.reactions, []);
      await barrier(t, topic, sub.events);
      assert.equal(of(first.id).at(-1), tombstone, "nothing about the message after its tombstone");
      assert.deepEqual(of(first.id).map((e) => e.event).slice(0, 1), ["message"]);
      assert.ok(of(first.id).slice(1).every((e) => e.event === "message_updated"));

      // Reads: Bo's position goes out; Cy turned receipts off, so hers does not.
      const second = await say(t, ada, room.id, "second");
      const third = await say(t, ada, room.id, "third");
      const readByBo = await api(t, bo, "POST", `/rooms/${room.id}/read`, { message_id: second.id });
      assert.equal(readByBo.status, 200, JSON.stringify(readByBo.body));
      const read = await waitEvent(sub.events, "Bo's read", (e) => e.event === "read");
      assert.deepEqual(read.payload, { user_id: bo.id, last_read_id: second.id });
      const readByCy = await api(t, cy, "POST", `/rooms/${room.id}/read`, { message_id: third.id });
      assert.equal(readByCy.status, 200, JSON.stringify(readByCy.body));
      assert.equal(readByCy.body.last_read_id, third.id);
      // Bo reads on after Cy: his event is delivered after any that Cy's read would have caused.
      await api(t, bo, "POST", `/rooms/${room.id}/read`, { message_id: third.id });
      await until("Bo's second read", () => sub.events.items.filter((e) => e.event === "read").length >= 2);
      await barrier(t, topic, sub.events);
      const reads = sub.events.items.filter((e) => e.event === "read").map((e) => e.payload);
      assert.deepEqual(reads, [
        { user_id: bo.id, last_read_id: second.id },
        { user_id: bo.id, last_read_id: third.id },
      ]);
      // Reading the same position again moves nothing and sends nothing.
      await api(t, bo, "POST", `/rooms/${room.id}/read`, { message_id: second.id });
      await barrier(t, topic, sub.events);
      assert.equal(sub.events.items.filter((e) => e.event === "read").length, 2);
    } finally {
      await closeAll(a);
      await server.stop();
    }
  },
);

appTest(
  "[chat] room channels are for members: a stranger (private room) and a visitor (public room, not joined) are refused and get nothing until they join",
  async (t) => {
    const server = listen(t);
    const owner = await randomUser(t, "owner");
    const stranger = await randomUser(t, "stranger");
    const visitor = await randomUser(t, "visitor");
    const priv = await roomWith(t, owner, [], "private");
    const pub = await roomWith(t, owner, [], "public");
    const o = userClient(t, server.url, owner);
    const s = userClient(t, server.url, stranger);
    const v = userClient(t, server.url, visitor);
    try {
      const ownerPriv = await joinPrivate(o, `room:${priv.id}`);
      const ownerPub = await joinPrivate(o, `room:${pub.id}`);
      assert.equal(ownerPriv.status, "SUBSCRIBED");
      assert.equal(ownerPub.status, "SUBSCRIBED");
      // Each outsider's own user topic, to know when their socket has had everything sent so far.
      const sMine = await joinPrivate(s, `user:${stranger.id}`);
      const vMine = await joinPrivate(v, `user:${visitor.id}`);
      assert.equal(sMine.status, "SUBSCRIBED");
      assert.equal(vMine.status, "SUBSCRIBED");

      const sPriv = await joinPrivate(s, `room:${priv.id}`);
      assert.equal(sPriv.status, "CHANNEL_ERROR");
      assert.match(String(sPriv.error?.message), /Unauthorized/);
      const sPub = await joinPrivate(s, `room:${pub.id}`);
      assert.equal(sPub.status, "CHANNEL_ERROR", "a public room's channel is for its members too");
      const vPub = await joinPrivate(v, `room:${pub.id}`);
      assert.equal(vPub.status, "CHANNEL_ERROR");
      assert.match(String(vPub.error?.message), /Unauthorized/);
      // Their history is closed too: 404 for the private room, 403 "join first" for the public one.
      assert.equal((await api(t, stranger, "GET", `/rooms/${priv.id}/messages`)).status, 404);
      const notJoined = await api(t, visitor, "GET", `/rooms/${pub.id}/messages`);
      assert.equal(notJoined.status, 403);
      assert.equal(notJoined.body.error.code, "not_a_member");

      const secret = await say(t, owner, priv.id, "members only");
      const open = await say(t, owner, pub.id, "public, but for members");
      await waitEvent(ownerPriv.events, "the private message", (e) => e.payload?.id === secret.id);
      await waitEvent(ownerPub.events, "the public-room message", (e) => e.payload?.id === open.id);
      await barrier(t, `user:${stranger.id}`, sMine.events);
      await barrier(t, `user:${visitor.id}`, vMine.events);
      assert.deepEqual(sPriv.events.items, []);
      assert.deepEqual(sPub.events.items, []);
      assert.deepEqual(vPub.events.items, []);
      assert.deepEqual(
        sMine.events.items.map((e) => e.event),
        ["barrier"],
        "nothing else on their user topic",
      );

      // The visitor joins the public room; now the channel is theirs.
      const joined = await api(t, visitor, "POST", `/rooms/${pub.id}/join`);
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      assert.equal(joined.body.joined, true);
      assert.equal(await v.removeChannel(vPub.channel), "ok");
      const vAgain = await joinPrivate(v, `room:${pub.id}`);
      assert.equal(vAgain.status, "SUBSCRIBED", String(vAgain.error));
      const welcome = await say(t, owner, pub.id, "welcome");
      const got = await waitEvent(vAgain.events, "the welcome", (e) => e.event === "message");
      assert.deepEqual(got.payload, welcome);
      // ... and the owner saw the join: the member count and the system message.
      const members = await waitEvent(ownerPub.events, "members", (e) => e.event === "members");
      assert.deepEqual(members.payload, { room_id: pub.id, member_count: 2 });
      const system = await waitEvent(
        ownerPub.events,
        "the join message",
        (e) => e.payload?.kind === "system",
      );
      assert.deepEqual(system.payload.data, { event: "joined", user_id: visitor.id, name: visitor.name });
      // The stranger is still out.
      await barrier(t, `user:${stranger.id}`, sMine.events);
      assert.deepEqual(sPub.events.items, []);
    } finally {
      await closeAll(o, s, v);
      await server.stop();
    }
  },
);

appTest(
  "[chat] user topic: chat_unread after others' messages and after one's own read, chat_rooms on joined and left",
  async (t) => {
    const server = listen(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const cy = await randomUser(t, "cy");
    const room = await roomWith(t, ada, [bo]);
    const other = await roomWith(t, cy);
    const a = userClient(t, server.url, ada);
    const b = userClient(t, server.url, bo);
    try {
      const mine = await joinPrivate(b, `user:${bo.id}`);
      const adaMine = await joinPrivate(a, `user:${ada.id}`);
      assert.equal(mine.status, "SUBSCRIBED");
      assert.equal(adaMine.status, "SUBSCRIBED");
      const peek = await joinPrivate(a, `user:${bo.id}`);
      assert.equal(peek.status, "CHANNEL_ERROR", "nobody else's user topic");
      const unread = () => mine.events.items.filter((e) => e.event === "chat_unread").map((e) => e.payload);

      const m1 = await say(t, ada, room.id, "one");
      await until("the first count", () => unread().length >= 1);
      assert.deepEqual(unread()[0], { room_id: room.id, unread_count: 1, message_id: m1.id });
      const m2 = await say(t, ada, room.id, "two");
      await until("the second count", () => unread().length >= 2);
      assert.deepEqual(unread()[1], { room_id: room.id, unread_count: 2, message_id: m2.id });
      // Bo's own message changes nobody's count for Bo.
      await say(t, bo, room.id, "mine");
      const read = await api(t, bo, "POST", `/rooms/${room.id}/read`, { message_id: m2.id });
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body.unread_count, 0);
      await until("the count after reading", () => unread().length >= 3);
      assert.deepEqual(unread()[2], { room_id: room.id, unread_count: 0, message_id: m2.id });
      await barrier(t, `user:${bo.id}`, mine.events);
      assert.equal(unread().length, 3, "no count for Bo's own message");
      // Ada got a count for Bo's message, none for her own.
      await barrier(t, `user:${ada.id}`, adaMine.events);
      const adas = adaMine.events.items.filter((e) => e.event === "chat_unread").map((e) => e.payload);
      assert.equal(adas.length, 1);
      assert.equal(adas[0].unread_count, 1);

      // Added to a room, then leaving it.
      const added = await api(t, cy, "POST", `/rooms/${other.id}/members`, { user_id: bo.id });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const joined = await waitEvent(mine.events, "chat_rooms joined", (e) => e.event === "chat_rooms");
      assert.deepEqual(joined.payload, { room_id: other.id, change: "joined" });
      const left = await api(t, bo, "DELETE", `/rooms/${other.id}/members/${bo.id}`);
      assert.equal(left.status, 204);
      await until(
        "chat_rooms left",
        () => mine.events.items.filter((e) => e.event === "chat_rooms").length >= 2,
      );
      assert.deepEqual(mine.events.items.filter((e) => e.event === "chat_rooms").map((e) => e.payload), [
        { room_id: other.id, change: "joined" },
        { room_id: other.id, change: "left" },
      ]);
      await barrier(t, `user:${ada.id}`, adaMine.events); // the socket of Ada's refused peek
      assert.deepEqual(peek.events.items, []);
    } finally {
      await closeAll(a, b);
      await server.stop();
    }
  },
);
