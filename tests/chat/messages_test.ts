import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomAdmin, randomUser } from "../support/factories.ts";
import { countMessages, nobody, ok, refused } from "./helpers.ts";

appTest("[chat messages] post 201; the same client_id again returns that message with 200", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const room = await roomWith(t, alice, [bob]);
  const rows = await countMessages(t);
  const first = ok(
    await api(t, bob, "POST", `/rooms/${room.id}/messages`, { body: "Hello", client_id: "c-1" }),
    201,
  );
  assert.equal(first.room_id, room.id);
  assert.deepEqual(first.author, { id: bob.id, name: bob.name });
  assert.equal(first.kind, "text");
  assert.equal(first.body, "Hello");
  assert.equal(first.client_id, "c-1");
  assert.equal(first.data, null);
  assert.equal(first.reply_to, null);
  assert.deepEqual(first.attachments, []);
  assert.deepEqual(first.reactions, []);
  assert.equal(first.edited_at, null);
  assert.equal(first.deleted_at, null);
  assert.match(first.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(await countMessages(t), rows + 1);

  const retry = ok(
    await api(t, bob, "POST", `/rooms/${room.id}/messages`, { body: "Hello", client_id: "c-1" }),
  );
  assert.deepEqual(retry, first);
  const changed = ok(
    await api(t, bob, "POST", `/rooms/${room.id}/messages`, { body: "Different", client_id: "c-1" }),
  );
  assert.equal(changed.body, "Hello", "the first message wins");
  assert.equal(await countMessages(t), rows + 1, "no new row");
  // client_ids are per person: alice may use the same one.
  const hers = ok(
    await api(t, alice, "POST", `/rooms/${room.id}/messages`, { body: "Hi", client_id: "c-1" }),
    201,
  );
  assert.notEqual(hers.id, first.id);
  assert.ok(hers.id > first.id);
});

appTest("[chat messages] 10 concurrent posts with one client_id create exactly one message", async (t) => {
  const alice = await randomUser(t, "alice");
  const room = await roomWith(t, alice);
  const rows = await countMessages(t, room.id);
  const results = await Promise.all(
    Array.from(
      { length: 10 },
      () => api(t, alice, "POST", `/rooms/${room.id}/messages`, { body: "Once", client_id: "same-id" }),
    ),
  );
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
  assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
  assert.equal(await countMessages(t, room.id), rows + 1);
});

appTest("[chat messages] a client_id used in another room is a 409 and creates nothing", async (t) => {
  const alice = await randomUser(t, "alice");
  const one = await roomWith(t, alice);
  const two = await roomWith(t, alice);
  ok(await api(t, alice, "POST", `/rooms/${one.id}/messages`, { body: "Here", client_id: "k" }), 201);
  const rows = await countMessages(t);
  refused(
    await api(t, alice, "POST", `/rooms/${two.id}/messages`, { body: "There", client_id: "k" }),
    409,
    "client_id_reused",
  );
  assert.equal(await countMessages(t), rows);
});

appTest("[chat messages] history pages by keyset: before newest first, after oldest first", async (t) => {
  const alice = await randomUser(t, "alice");
  const room = await roomWith(t, alice);
  const [created] = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages`)).messages;
  const m: number[] = [created.id];
  for (let i = 1; i <= 7; i++) m.push((await say(t, alice, room.id, `m${i}`)).id);
  const page = async (query: string) => {
    const body = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages?${query}`));
    return { ids: body.messages.map((x: { id: number }) => x.id), has_more: body.has_more };
  };
  assert.deepEqual(await page(""), { ids: [...m].reverse(), has_more: false }, "default: newest first");
  assert.deepEqual(await page("limit=3"), { ids: [m[7], m[6], m[5]], has_more: true });
  assert.deepEqual(await page(`limit=3&before=${m[5]}`), { ids: [m[4], m[3], m[2]], has_more: true });
  assert.deepEqual(await page(`limit=3&before=${m[2]}`), { ids: [m[1], m[0]], has_more: false });
  assert.deepEqual(await page("after=0&limit=3"), { ids: [m[0], m[1], m[2]], has_more: true });
  assert.deepEqual(await page(`after=${m[2]}&limit=10`), { ids: m.slice(3), has_more: false });
  assert.deepEqual(await page(`after=${m[7]}`), { ids: [], has_more: false });
  assert.deepEqual(await page("limit=100"), { ids: [...m].reverse(), has_more: false });

  for (
    const bad of ["limit=101", "limit=0", "limit=x", `before=${m[3]}&after=${m[1]}`, "before=abc", "page=2"]
  ) {
    refused(await api(t, alice, "GET", `/rooms/${room.id}/messages?${bad}`), 422, "validation_failed");
  }
});

appTest("[chat messages] invalid posts are refused with the right status and leave no row", async (t) => {
  const alice = await randomUser(t, "alice");
  const room = await roomWith(t, alice);
  const other = await roomWith(t, alice);
  const elsewhere = await say(t, alice, other.id, "in the other room");
  const rows = await countMessages(t);
  const post = (body: Record<string, unknown>) =>
    api(t, alice, "POST", `/rooms/${room.id}/messages`, { client_id: crypto.randomUUID(), ...body });
  const invalid: [string, Record<string, unknown>][] = [
    ["empty body", { body: "" }],
    ["only whitespace", { body: "  \n\t " }],
    ["4001 characters", { body: "x".repeat(4001) }],
    ["4001 emoji", { body: "😀".repeat(4001) }],
    ["no body", {}],
    ["body a number", { body: 5 }],
    ["client_id a number", { body: "hi", client_id: 5 }],
    ["client_id with spaces", { body: "hi", client_id: "a b" }],
    ["client_id too long", { body: "hi", client_id: "x".repeat(101) }],
    ["unknown field", { body: "hi", color: "red" }],
    ["NUL character", { body: "a\u0000b" }],
    ["attachments", { body: "hi", attachments: [{ url: "https://example.test/a.png" }] }],
    ["location without data", { body: "Here", kind: "location" }],
    ["location out of range", { body: "Here", kind: "location", data: { lat: 91, lng: 0 } }],
    ["location with extra data", { body: "Here", kind: "location", data: { lat: 1, lng: 2, alt: 3 } }],
    ["text with data", { body: "hi", data: { lat: 1, lng: 2 } }],
    ["system kind", { body: "hi", kind: "system" }],
    ["reply_to of another room", { body: "hi", reply_to: elsewhere.id }],
    ["reply_to of nothing", { body: "hi", reply_to: elsewhere.id + 1000 }],
    ["reply_to not a number", { body: "hi", reply_to: "first" }],
  ];
  for (const [what, body] of invalid) {
    const error = refused(await post(body), 422, "validation_failed");
    assert.ok(Array.isArray(error.details), what);
  }
  const unknown = refused(await post({ body: "hi", color: "red" }), 422);
  assert.deepEqual(unknown.details, [{ path: "color", message: "Unknown field." }]);
  const replyElsewhere = refused(await post({ body: "hi", reply_to: elsewhere.id }), 422);
  assert.deepEqual(replyElsewhere.details.map((d: { path: string }) => d.path), ["reply_to"]);

  const raw = (headers: Record<string, string>, body: string) =>
    t.request(`/api/v1/rooms/${room.id}/messages`, {
      method: "POST",
      headers: { ...alice.bearer, ...headers },
      body,
    });
  const notJson = await raw({ "content-type": "application/json" }, "{body: hi");
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error.code, "bad_request");
  const wrongType = await raw(
    { "content-type": "text/plain" },
    JSON.stringify({ body: "hi", client_id: "x" }),
  );
  assert.equal(wrongType.status, 415);
  assert.equal((await wrongType.json()).error.code, "unsupported_media_type");
  assert.equal((await raw({}, "{}")).status, 415);
  assert.equal(await countMessages(t), rows, "nothing refused left a row");

  const exact = ok(await post({ body: "x".repeat(4000) }), 201);
  assert.equal(exact.body.length, 4000);
  const astral = ok(await post({ body: "😀".repeat(4000) }), 201);
  assert.equal([...astral.body].length, 4000, "characters, not UTF-16 units");
  ok(await post({ body: "no attachments", attachments: [] }), 201);
  const place = ok(
    await post({ body: "The fountain", kind: "location", data: { lat: 48.85, lng: 2.35 } }),
    201,
  );
  assert.equal(place.kind, "location");
  assert.deepEqual(place.data, { lat: 48.85, lng: 2.35 });
  const reply = ok(await post({ body: "Re", reply_to: exact.id }), 201);
  assert.deepEqual(reply.reply_to, {
    id: exact.id,
    author_name: alice.name,
    body: "x".repeat(140),
    deleted: false,
  });
  assert.equal(await countMessages(t), rows + 5);
});

appTest(
  "[chat messages] unknown rooms are 404, rooms one has not joined 403; nothing is written",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const priv = await roomWith(t, alice, [], "private");
    const pub = await roomWith(t, alice, [], "public");
    const rows = await countMessages(t);
    const post = (roomId: string) =>
      api(t, bob, "POST", `/rooms/${roomId}/messages`, { body: "hi", client_id: crypto.randomUUID() });
    refused(await post(nobody()), 404, "not_found");
    refused(await post("not-a-uuid"), 404, "not_found");
    refused(await post(priv.id), 404, "not_found");
    refused(await post(pub.id), 403, "not_a_member");
    refused(await api(t, bob, "GET", `/rooms/${priv.id}/messages`), 404);
    refused(await api(t, bob, "GET", `/rooms/${nobody()}/messages`), 404);
    const anonymous = await t.request(`/api/v1/rooms/${pub.id}/messages`);
    assert.equal(anonymous.status, 401);
    assert.equal(await countMessages(t), rows);
  },
);

appTest(
  "[chat messages] edit: the author only, sets edited_at; deleted and system messages refused",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const carol = await randomUser(t, "carol");
    const room = await roomWith(t, alice, [bob]);
    const msg = await say(t, bob, room.id, "Helo");

    const edited = ok(await api(t, bob, "PATCH", `/messages/${msg.id}`, { body: "Hello" }));
    assert.equal(edited.body, "Hello");
    assert.equal(edited.id, msg.id);
    assert.ok(edited.edited_at && Date.parse(edited.edited_at) >= Date.parse(msg.created_at));
    assert.equal(edited.created_at, msg.created_at);
    const [latest] = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages?limit=1`)).messages;
    assert.equal(latest.body, "Hello");
    assert.equal(latest.edited_at, edited.edited_at);

    refused(await api(t, alice, "PATCH", `/messages/${msg.id}`, { body: "Mine now" }), 403, "forbidden");
    refused(await api(t, carol, "PATCH", `/messages/${msg.id}`, { body: "Who?" }), 404, "not_found");
    refused(await api(t, bob, "PATCH", `/messages/${msg.id}`, { body: " " }), 422);
    refused(await api(t, bob, "PATCH", `/messages/${msg.id}`, { body: "x", kind: "text" }), 422);
    refused(await api(t, bob, "PATCH", `/messages/${msg.id + 1000}`, { body: "x" }), 404);
    refused(await api(t, bob, "PATCH", "/messages/abc", { body: "x" }), 404);

    const system = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages?after=0&limit=1`)).messages[0];
    assert.equal(system.kind, "system");
    refused(await api(t, alice, "PATCH", `/messages/${system.id}`, { body: "Rewritten" }), 403);

    ok(await api(t, bob, "DELETE", `/messages/${msg.id}`));
    refused(await api(t, bob, "PATCH", `/messages/${msg.id}`, { body: "Back" }), 409, "message_deleted");
  },
);

appTest("[chat messages] delete: tombstones; authors, owners and moderators; members refused", async (t) => {
  const [alice, bob, carol, dave] = await Promise.all(
    ["alice", "bob", "carol", "dave"].map((n) => randomUser(t, n)),
  );
  const room = await roomWith(t, alice, [bob, carol]);
  ok(await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: carol.id, role: "moderator" }));
  const own = await say(t, bob, room.id, "Oops @" + alice.name);
  ok(await api(t, alice, "POST", `/messages/${own.id}/reactions`, { emoji: "👍" }));
  const reply = await say(t, alice, room.id, "Replying", { reply_to: own.id });

  const tombstone = ok(await api(t, bob, "DELETE", `/messages/${own.id}`));
  assert.equal(tombstone.id, own.id);
  assert.equal(tombstone.body, "");
  assert.ok(tombstone.deleted_at);
  assert.deepEqual(tombstone.reactions, []);
  assert.deepEqual(tombstone.mentions, []);
  assert.deepEqual(tombstone.author, { id: bob.id, name: bob.name }, "still shows who wrote it");
  const [{ n }] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.message_reactions where message_id = $1",
    [own.id],
  );
  assert.equal(n, 0, "reactions gone");
  const again = ok(await api(t, bob, "DELETE", `/messages/${own.id}`));
  assert.equal(again.deleted_at, tombstone.deleted_at, "deleting twice is fine");
  const history = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages`)).messages;
  const shown = history.find((x: { id: number }) => x.id === own.id);
  assert.equal(shown.body, "");
  assert.ok(shown.deleted_at);
  const replyShown = history.find((x: { id: number }) => x.id === reply.id);
  assert.deepEqual(replyShown.reply_to, { id: own.id, author_name: bob.name, body: "", deleted: true });

  const byOwner = await say(t, bob, room.id, "owner deletes this");
  assert.ok(ok(await api(t, alice, "DELETE", `/messages/${byOwner.id}`)).deleted_at);
  const byMod = await say(t, alice, room.id, "the moderator deletes even the owner's");
  assert.ok(ok(await api(t, carol, "DELETE", `/messages/${byMod.id}`)).deleted_at);

  const kept = await say(t, carol, room.id, "bob may not delete this");
  refused(await api(t, bob, "DELETE", `/messages/${kept.id}`), 403, "forbidden");
  refused(await api(t, dave, "DELETE", `/messages/${kept.id}`), 404, "not_found");
  refused(await api(t, bob, "DELETE", `/messages/${kept.id + 1000}`), 404);
  const system = history.at(-1);
  assert.equal(system.kind, "system");
  refused(await api(t, alice, "DELETE", `/messages/${system.id}`), 403);
  const [still] = await t.platform.db.query<{ body: string; deleted_at: Date | null }>(
    "select body, deleted_at from public.messages where id = $1",
    [kept.id],
  );
  assert.deepEqual(still, { body: "bob may not delete this", deleted_at: null });
});

appTest(
  "[chat messages] admins delete messages of rooms they are in, and reported ones anywhere",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const admin = await randomAdmin(t);
    const room = await roomWith(t, alice, [bob, admin]);
    const msg = await say(t, bob, room.id, "spam");
    const [system] = ok(await api(t, admin, "GET", `/rooms/${room.id}/messages?after=0&limit=1`)).messages;
    assert.ok(ok(await api(t, admin, "DELETE", `/messages/${msg.id}`)).deleted_at, "as a plain member");
    assert.ok(ok(await api(t, admin, "DELETE", `/messages/${system.id}`)).deleted_at, "even system messages");

    const elsewhere = await roomWith(t, alice, [bob]);
    const reported = await say(t, bob, elsewhere.id, "reported spam");
    ok(await api(t, alice, "POST", `/messages/${reported.id}/report`, { reason: "spam" }), 201);
    assert.ok(ok(await api(t, admin, "DELETE", `/messages/${reported.id}`)).deleted_at, "outside the room");
  },
);

appTest("[chat messages] admins delete unreported messages in rooms they do not belong to", async (t) => {
  const alice = await randomUser(t, "alice");
  const admin = await randomAdmin(t);
  const room = await roomWith(t, alice);
  const msg = await say(t, alice, room.id, "remove me");
  const tombstone = ok(await api(t, admin, "DELETE", `/messages/${msg.id}`));
  assert.ok(tombstone.deleted_at);
});

appTest("[chat messages] reactions: one emoji each, idempotent, removed by DELETE", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const carol = await randomUser(t, "carol");
  const room = await roomWith(t, alice, [bob]);
  const msg = await say(t, alice, room.id, "React!");
  const react = (who: typeof alice, emoji: unknown, id = msg.id) =>
    api(t, who, "POST", `/messages/${id}/reactions`, { emoji });

  assert.deepEqual(ok(await react(alice, "👍")), {
    message_id: msg.id,
    reactions: [{ emoji: "👍", count: 1, user_ids: [alice.id] }],
  });
  ok(await react(bob, "👍"));
  const twice = ok(await react(alice, "👍"));
  assert.deepEqual(twice.reactions, [{ emoji: "👍", count: 2, user_ids: [alice.id, bob.id] }], "idempotent");
  for (const emoji of ["❤️", "🇫🇷", "👍🏽", "👨‍👩‍👧", "1️⃣"]) ok(await react(bob, emoji));
  const all = ok(await react(alice, "❤️")).reactions;
  assert.deepEqual(all.map((r: { emoji: string }) => r.emoji), ["👍", "❤️", "🇫🇷", "👍🏽", "👨‍👩‍👧", "1️⃣"]);
  assert.deepEqual(all[1], { emoji: "❤️", count: 2, user_ids: [bob.id, alice.id] });

  const removed = ok(
    await api(t, alice, "DELETE", `/messages/${msg.id}/reactions/${encodeURIComponent("👍")}`),
  );
  assert.deepEqual(removed.reactions[0], { emoji: "👍", count: 1, user_ids: [bob.id] });
  const removedAgain = ok(
    await api(t, alice, "DELETE", `/messages/${msg.id}/reactions/${encodeURIComponent("👍")}`),
  );
  assert.deepEqual(removedAgain.reactions, removed.reactions);
  const [latest] = ok(await api(t, bob, "GET", `/rooms/${room.id}/messages?limit=1`)).messages;
  assert.deepEqual(latest.reactions, removed.reactions, "history shows the same reactions");

  for (const bad of ["ab", "👍👍", "", "a", "1", "👍a", 5, null]) {
    refused(await react(alice, bad), 422, "validation_failed");
  }
  refused(await api(t, alice, "DELETE", `/messages/${msg.id}/reactions/ab`), 422);
  refused(await api(t, alice, "POST", `/messages/${msg.id}/reactions`, { emoji: "👍", x: 1 }), 422);
  refused(await react(carol, "👍"), 404, "not_found");
  refused(await react(alice, "👍", msg.id + 1000), 404);
  const [system] = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages?after=0&limit=1`)).messages;
  refused(await react(alice, "👍", system.id), 422);

  const gone = await say(t, bob, room.id, "soon deleted");
  ok(await api(t, bob, "DELETE", `/messages/${gone.id}`));
  refused(await react(alice, "👍", gone.id), 409, "message_deleted");
});
