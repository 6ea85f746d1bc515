import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import type { TestContext } from "../support/app.ts";
import { nobody, ok, refused } from "./helpers.ts";

const unreadIn = async (t: TestContext, user: TestUser, roomId: string) =>
  ok(await api(t, user, "GET", "/rooms")).rooms.find((r: { id: string }) => r.id === roomId).unread_count;

appTest("[chat reads] the read position only moves forward; unread counts follow it", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const carol = await randomUser(t, "carol");
  const room = await roomWith(t, alice, [bob]);
  const other = await roomWith(t, alice);
  const m1 = await say(t, bob, room.id, "one");
  const m2 = await say(t, bob, room.id, "two");
  await say(t, alice, room.id, "alice's own message is never unread for her");
  const m3 = await say(t, bob, room.id, "three");
  const foreign = await say(t, alice, other.id, "elsewhere");
  assert.equal(await unreadIn(t, alice, room.id), 3);

  const read = (who: TestUser, body: unknown, roomId = room.id) =>
    api(t, who, "POST", `/rooms/${roomId}/read`, body);
  assert.deepEqual(ok(await read(alice, { message_id: m1.id })), {
    room_id: room.id,
    last_read_id: m1.id,
    unread_count: 2,
  });
  assert.equal(await unreadIn(t, alice, room.id), 2);
  assert.equal(ok(await read(alice, { message_id: m3.id })).unread_count, 0);
  assert.equal(await unreadIn(t, alice, room.id), 0);
  assert.deepEqual(ok(await read(alice, { message_id: m2.id })), {
    room_id: room.id,
    last_read_id: m3.id,
    unread_count: 0,
  }, "reading an older message does not go back");
  assert.equal(ok(await api(t, alice, "GET", `/rooms/${room.id}`)).last_read_id, m3.id);
  assert.equal(await unreadIn(t, bob, room.id), 1, "bob's count is his own: alice's message");

  const error = refused(await read(alice, { message_id: foreign.id }), 422, "validation_failed");
  assert.deepEqual(error.details.map((d: { path: string }) => d.path), ["message_id"]);
  refused(await read(alice, { message_id: m3.id + 1000 }), 422);
  refused(await read(alice, { message_id: "latest" }), 422);
  refused(await read(alice, { message_id: m3.id, extra: true }), 422);
  refused(await read(alice, {}), 422);
  refused(await read(carol, { message_id: m3.id }), 404);
  refused(await read(alice, { message_id: m3.id }, nobody()), 404);
  assert.equal(ok(await api(t, alice, "GET", `/rooms/${room.id}`)).last_read_id, m3.id);
});

appTest(
  "[chat reads] with read receipts off, others see null for that person; they see their own",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const room = await roomWith(t, alice, [bob]);
    const m1 = await say(t, alice, room.id, "one");
    const m2 = await say(t, bob, room.id, "two");

    assert.deepEqual(ok(await api(t, alice, "GET", "/chat/settings")), { read_receipts: true });
    assert.deepEqual(ok(await api(t, alice, "PUT", "/chat/settings", { read_receipts: false })), {
      read_receipts: false,
    });
    assert.deepEqual(ok(await api(t, alice, "GET", "/chat/settings")), { read_receipts: false });
    assert.deepEqual(ok(await api(t, bob, "GET", "/chat/settings")), { read_receipts: true }, "per person");
    refused(await api(t, alice, "PUT", "/chat/settings", { read_receipts: "no" }), 422);
    refused(await api(t, alice, "PUT", "/chat/settings", { read_receipts: false, theme: "dark" }), 422);

    ok(await api(t, alice, "POST", `/rooms/${room.id}/read`, { message_id: m2.id }));
    ok(await api(t, bob, "POST", `/rooms/${room.id}/read`, { message_id: m1.id }));
    const memberOf = (view: { members: { id: string; last_read_id: number | null }[] }, who: TestUser) =>
      view.members.find((m) => m.id === who.id)!;

    const bobsView = ok(await api(t, bob, "GET", `/rooms/${room.id}`));
    assert.equal(memberOf(bobsView, alice).last_read_id, null, "hidden from others");
    assert.equal(memberOf(bobsView, bob).last_read_id, m1.id);
    const alicesView = ok(await api(t, alice, "GET", `/rooms/${room.id}`));
    assert.equal(alicesView.last_read_id, m2.id, "alice still sees her own read position");
    assert.equal(memberOf(alicesView, bob).last_read_id, m1.id, "bob shares his");
    const listed = ok(await api(t, alice, "GET", "/rooms")).rooms.find((r: { id: string }) =>
      r.id === room.id
    );
    assert.equal(listed.last_read_id, m2.id);

    ok(await api(t, alice, "PUT", "/chat/settings", { read_receipts: true }));
    assert.equal(memberOf(ok(await api(t, bob, "GET", `/rooms/${room.id}`)), alice).last_read_id, m2.id);
  },
);

appTest(
  "[chat search] full text with stemming, only in the caller's rooms, newest first, paged",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const carol = await randomUser(t, "carol");
    const shared = await roomWith(t, alice, [bob]);
    const own = await roomWith(t, alice);
    const carolsPrivate = await roomWith(t, carol, [], "private");
    const carolsPublic = await roomWith(t, carol, [], "public");
    const m1 = await say(t, bob, shared.id, "The meeting moved to Friday");
    const m2 = await say(t, bob, shared.id, "Lunch after the meeting?");
    const m3 = await say(t, bob, shared.id, "nothing to see here");
    const m4 = await say(t, alice, own.id, "Meeting notes are in the drive");
    await say(t, carol, carolsPrivate.id, "secret meeting tonight");
    await say(t, carol, carolsPublic.id, "public meeting at noon");

    const search = async (query: string, who = alice) => {
      const body = ok(await api(t, who, "GET", `/search/messages?${query}`));
      return { ids: body.messages.map((m: { id: number }) => m.id), has_more: body.has_more, body };
    };
    const found = await search("q=meetings");
    assert.deepEqual(
      [found.ids, found.has_more],
      [[m4.id, m2.id, m1.id], false],
      "'meetings' finds 'meeting'",
    );
    const hit = found.body.messages[1];
    assert.equal(hit.body, "Lunch after the meeting?");
    assert.equal(hit.room_id, shared.id);
    assert.deepEqual(hit.author, { id: bob.id, name: bob.name });
    assert.equal(hit.room_name, shared.name);

    assert.deepEqual((await search(`q=meeting&room_id=${shared.id}`)).ids, [m2.id, m1.id]);
    const page1 = await search("q=meeting&limit=2");
    assert.deepEqual([page1.ids, page1.has_more], [[m4.id, m2.id], true]);
    const page2 = await search(`q=meeting&limit=2&before=${m2.id}`);
    assert.deepEqual([page2.ids, page2.has_more], [[m1.id], false]);
    assert.deepEqual((await search("q=meeting", carol)).ids.length, 2, "carol sees her rooms only");
    assert.deepEqual((await search("q=friday OR lunch")).ids, [m2.id, m1.id], "web search syntax");
    assert.deepEqual((await search('q="meeting moved"')).ids, [m1.id]);
    assert.deepEqual((await search("q=created")).ids, [], "system messages are not searched");

    // Another room's messages never come back, not even when asked for by room.
    refused(await api(t, alice, "GET", `/search/messages?q=meeting&room_id=${carolsPrivate.id}`), 404);
    refused(await api(t, alice, "GET", `/search/messages?q=meeting&room_id=${carolsPublic.id}`), 403);
    refused(await api(t, alice, "GET", `/search/messages?q=meeting&room_id=${nobody()}`), 404);

    ok(await api(t, bob, "DELETE", `/messages/${m2.id}`));
    assert.deepEqual((await search("q=meeting")).ids, [m4.id, m1.id], "deleted messages are not found");
    ok(await api(t, bob, "PATCH", `/messages/${m3.id}`, { body: "Team meetings are on Mondays" }));
    assert.deepEqual((await search("q=meeting")).ids, [m4.id, m3.id, m1.id], "edits are searchable");

    const stopWords = await search("q=the%20and%20of");
    assert.deepEqual(
      [stopWords.ids, stopWords.has_more],
      [[], false],
      "only stop words: nothing, not an error",
    );
    for (
      const bad of [
        "q=",
        "q=%20%20",
        "",
        `q=${"x".repeat(201)}`,
        "q=a&limit=51",
        "q=a&limit=0",
        "q=a&sort=rank",
      ]
    ) {
      refused(await api(t, alice, "GET", `/search/messages?${bad}`), 422, "validation_failed");
    }
    refused(await api(t, alice, "GET", "/search/messages?q=a&room_id=general"), 422);
    assert.equal((await t.request("/api/v1/search/messages?q=meeting")).status, 401);
  },
);
