import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomAdmin, randomUser } from "../support/factories.ts";
import { nobody, ok, refused } from "./helpers.ts";

appTest("[chat rooms] create: 201, the caller is the owner, a system message says so", async (t) => {
  const alice = await randomUser(t, "alice");
  const room = ok(
    await api(t, alice, "POST", "/rooms", { name: "  General  ", kind: "public", topic: "Anything" }),
    201,
  );
  assert.equal(room.name, "General", "trimmed");
  assert.equal(room.kind, "public");
  assert.equal(room.topic, "Anything");
  assert.equal(room.joined, true);
  assert.equal(room.role, "owner");
  assert.equal(room.member_count, 1);
  assert.equal(room.dm_user, null);
  assert.deepEqual(room.members.map((m: { id: string; role: string }) => [m.id, m.role]), [[
    alice.id,
    "owner",
  ]]);

  const history = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages`));
  assert.equal(history.messages.length, 1);
  const [created] = history.messages;
  assert.equal(created.kind, "system");
  assert.equal(created.author, null);
  assert.equal(created.body, `${alice.name} created the room`);
  assert.deepEqual(created.data, { event: "created", user_id: alice.id, name: alice.name });

  refused(await api(t, alice, "POST", "/rooms", { name: "x", kind: "dm" }), 422, "validation_failed");
  refused(await api(t, alice, "POST", "/rooms", { name: "   ", kind: "public" }), 422);
  refused(await api(t, alice, "POST", "/rooms", { name: "x".repeat(81), kind: "public" }), 422);
  refused(await api(t, alice, "POST", "/rooms", { name: "x", kind: "public", extra: 1 }), 422);
});

appTest(
  "[chat rooms] list: own rooms with unread and last message, then public rooms not joined",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const mine = await roomWith(t, alice, [], "private");
    const ownPublic = await roomWith(t, alice, [], "public");
    const bobsPrivate = await roomWith(t, bob, [], "private");
    const bobsPublic = await roomWith(t, bob, [], "public");
    const shared = await roomWith(t, bob, [alice], "private");
    await say(t, bob, shared.id, "one");
    const last = await say(t, bob, shared.id, "two");
    await say(t, alice, shared.id, "mine does not count as unread");
    const latest = await say(t, alice, shared.id, "latest");
    await say(t, bob, bobsPublic.id, "alice cannot read this yet");

    const { rooms } = ok(await api(t, alice, "GET", "/rooms"));
    const byId = new Map(rooms.map((r: { id: string }) => [r.id, r]));
    // deno-lint-ignore no-explicit-any
    const get = (id: string): any => byId.get(id);
    assert.equal(rooms[0].id, shared.id, "newest activity first");
    assert.deepEqual(
      rooms.slice(0, 3).map((r: { joined: boolean }) => r.joined),
      [true, true, true],
      "joined rooms come first",
    );
    assert.equal(get(shared.id).unread_count, 2);
    assert.equal(get(shared.id).last_message.id, latest.id);
    assert.equal(get(shared.id).last_message.body, "latest");
    assert.equal(get(shared.id).role, "member");
    assert.ok(last.id < latest.id);
    assert.equal(get(mine.id).unread_count, 0);
    assert.equal(get(mine.id).last_message.kind, "system", "the 'created' message");
    assert.ok(get(ownPublic.id).joined);

    const other = get(bobsPublic.id);
    assert.ok(other, "public rooms of others are listed");
    assert.equal(other.joined, false);
    assert.equal(other.role, null);
    assert.equal(other.last_message, null, "no last message before joining");
    assert.equal(other.unread_count, 0);
    assert.equal(rooms.at(-1).id, bobsPublic.id, "after the joined ones");
    assert.equal(byId.has(bobsPrivate.id), false, "private rooms of others are not listed");
    assert.equal(rooms.length, 4);
  },
);

appTest(
  "[chat rooms] GET one: members for members, 404 for private outsiders, no members for public",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const carol = await randomUser(t, "carol");
    const priv = await roomWith(t, alice, [bob], "private");
    const pub = await roomWith(t, alice, [bob], "public");

    const seen = ok(await api(t, bob, "GET", `/rooms/${priv.id}`));
    assert.equal(seen.member_count, 2);
    assert.deepEqual(
      seen.members.map((m: { id: string; name: string; role: string }) => [m.id, m.name, m.role]),
      [[alice.id, alice.name, "owner"], [bob.id, bob.name, "member"]],
    );
    for (const m of seen.members) {
      assert.deepEqual(Object.keys(m).sort(), [
        "id",
        "joined_at",
        "last_read_id",
        "muted_until",
        "name",
        "role",
      ]);
    }

    refused(await api(t, carol, "GET", `/rooms/${priv.id}`), 404, "not_found");
    refused(await api(t, carol, "GET", `/rooms/${nobody()}`), 404);
    refused(await api(t, carol, "GET", "/rooms/not-a-uuid"), 404);
    const outside = ok(await api(t, carol, "GET", `/rooms/${pub.id}`));
    assert.equal(outside.joined, false);
    assert.equal(outside.member_count, 2);
    assert.equal(outside.members, undefined, "no member list before joining");
    assert.equal(outside.last_message, null);
    refused(await api(t, carol, "GET", `/rooms/${pub.id}/messages`), 403, "not_a_member");
  },
);

appTest("[chat rooms] PATCH: owner and moderators change it; members and DMs are refused", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const carol = await randomUser(t, "carol");
  const room = await roomWith(t, alice, [bob, carol]);
  ok(await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: carol.id, role: "moderator" }));

  const renamed = ok(await api(t, alice, "PATCH", `/rooms/${room.id}`, { name: " Renamed ", topic: "New" }));
  assert.equal(renamed.name, "Renamed");
  assert.equal(renamed.topic, "New");
  const byMod = ok(await api(t, carol, "PATCH", `/rooms/${room.id}`, { topic: "By the moderator" }));
  assert.equal(byMod.name, "Renamed", "name kept");
  assert.equal(byMod.topic, "By the moderator");

  refused(await api(t, bob, "PATCH", `/rooms/${room.id}`, { name: "Mine now" }), 403, "forbidden");
  refused(await api(t, alice, "PATCH", `/rooms/${room.id}`, {}), 422);
  refused(await api(t, alice, "PATCH", `/rooms/${room.id}`, { topic: "x".repeat(251) }), 422);
  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  refused(await api(t, alice, "PATCH", `/rooms/${dm.id}`, { name: "Ours" }), 403);
  assert.equal(ok(await api(t, alice, "GET", `/rooms/${room.id}`)).topic, "By the moderator");
});

appTest("[chat rooms] join: public rooms (twice is harmless); private rooms are not joinable", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const pub = await roomWith(t, alice, [], "public");
  const priv = await roomWith(t, alice, [], "private");

  const joined = ok(await api(t, bob, "POST", `/rooms/${pub.id}/join`));
  assert.equal(joined.joined, true);
  assert.equal(joined.role, "member");
  assert.equal(joined.member_count, 2);
  const again = ok(await api(t, bob, "POST", `/rooms/${pub.id}/join`));
  assert.equal(again.member_count, 2);
  const history = ok(await api(t, bob, "GET", `/rooms/${pub.id}/messages`));
  assert.deepEqual(history.messages.map((m: { data: { event: string } }) => m.data.event), [
    "joined",
    "created",
  ]);
  assert.equal(history.messages[0].body, `${bob.name} joined`);

  // A private room is invisible to outsiders (404, as GET); someone who can see it (an admin) gets 403.
  refused(await api(t, bob, "POST", `/rooms/${priv.id}/join`), 404);
  const admin = await randomAdmin(t);
  refused(await api(t, admin, "POST", `/rooms/${priv.id}/join`), 403, "forbidden");
  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  refused(await api(t, admin, "POST", `/rooms/${dm.id}/join`), 403);
  refused(await api(t, bob, "POST", `/rooms/${nobody()}/join`), 404);
  assert.equal(ok(await api(t, alice, "GET", `/rooms/${priv.id}`)).member_count, 1);
});

appTest(
  "[chat rooms] add member: owner 201 then 200; moderators add members only; others refused",
  async (t) => {
    const [alice, bob, carol, dave, eve] = await Promise.all(
      ["alice", "bob", "carol", "dave", "eve"].map((n) => randomUser(t, n)),
    );
    const room = await roomWith(t, alice);
    const added = ok(await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: bob.id }), 201);
    assert.equal(added.id, bob.id);
    assert.equal(added.name, bob.name);
    assert.equal(added.role, "member");
    assert.equal(added.muted_until, null);
    const history = (await api(t, alice, "GET", `/rooms/${room.id}/messages`)).body.messages;
    const created = history.find((m: { data: { event?: string } | null }) => m.data?.event === "created");
    assert.equal(added.last_read_id, created.id, "a new member has read what came before");
    const again = ok(await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: bob.id }));
    assert.equal(again.id, bob.id);
    assert.equal(ok(await api(t, bob, "GET", `/rooms/${room.id}`)).member_count, 2);

    ok(
      await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: carol.id, role: "moderator" }),
      201,
    );
    refused(
      await api(t, carol, "POST", `/rooms/${room.id}/members`, { user_id: dave.id, role: "moderator" }),
      403,
      "forbidden",
    );
    ok(await api(t, carol, "POST", `/rooms/${room.id}/members`, { user_id: dave.id }), 201);
    refused(await api(t, bob, "POST", `/rooms/${room.id}/members`, { user_id: eve.id }), 403);
    refused(await api(t, eve, "POST", `/rooms/${room.id}/members`, { user_id: eve.id }), 404, "not_found");
    const unknown = refused(
      await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: nobody() }),
      422,
      "validation_failed",
    );
    assert.deepEqual(unknown.details.map((d: { path: string }) => d.path), ["user_id"]);
    refused(await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: "nope" }), 422);
    refused(
      await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: eve.id, role: "owner" }),
      422,
    );

    const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
    refused(await api(t, alice, "POST", `/rooms/${dm.id}/members`, { user_id: eve.id }), 403);
    const members = ok(await api(t, alice, "GET", `/rooms/${room.id}`)).members;
    assert.deepEqual(
      members.map((m: { id: string; role: string }) => [m.id, m.role]),
      [[alice.id, "owner"], [bob.id, "member"], [carol.id, "moderator"], [dave.id, "member"]],
    );
  },
);

appTest("[chat rooms] remove: leave yourself, owner removes, members may not, unknown is 404", async (t) => {
  const [alice, bob, carol, dave] = await Promise.all(
    ["alice", "bob", "carol", "dave"].map((n) => randomUser(t, n)),
  );
  const room = await roomWith(t, alice, [bob, carol, dave]);

  const left = await api(t, bob, "DELETE", `/rooms/${room.id}/members/${bob.id}`);
  assert.equal(left.status, 204);
  assert.equal(left.body, null);
  refused(await api(t, bob, "GET", `/rooms/${room.id}`), 404); // a private room is gone once you leave

  refused(await api(t, carol, "DELETE", `/rooms/${room.id}/members/${dave.id}`), 403, "forbidden");
  refused(await api(t, carol, "DELETE", `/rooms/${room.id}/members/${alice.id}`), 403);
  assert.equal((await api(t, alice, "DELETE", `/rooms/${room.id}/members/${dave.id}`)).status, 204);
  refused(await api(t, alice, "DELETE", `/rooms/${room.id}/members/${dave.id}`), 404, "not_found");
  refused(await api(t, alice, "DELETE", `/rooms/${room.id}/members/${nobody()}`), 404);
  refused(await api(t, alice, "DELETE", `/rooms/${room.id}/members/not-a-uuid`), 404);
  refused(await api(t, dave, "DELETE", `/rooms/${room.id}/members/${carol.id}`), 404); // dave is out

  const view = ok(await api(t, alice, "GET", `/rooms/${room.id}`));
  assert.equal(view.member_count, 2);
  assert.deepEqual(view.members.map((m: { id: string }) => m.id), [alice.id, carol.id]);
  const events = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages`)).messages
    .map((m: { data: { event: string; user_id: string } }) => [m.data.event, m.data.user_id]);
  assert.deepEqual(events.slice(0, 2), [["removed", dave.id], ["left", bob.id]]);

  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  refused(await api(t, alice, "DELETE", `/rooms/${dm.id}/members/${alice.id}`), 403); // nobody leaves a DM
});

appTest("[chat rooms] mute: moderators mute members; a muted member cannot post; 0 unmutes", async (t) => {
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => randomUser(t, n)));
  const room = await roomWith(t, alice, [bob, carol]);
  ok(await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: carol.id, role: "moderator" }));
  const target = await say(t, alice, room.id, "react to me");

  const muted = ok(await api(t, carol, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: 30 }));
  assert.equal(muted.id, bob.id);
  const until = Date.parse(muted.muted_until);
  assert.ok(until > Date.now() + 29 * 60_000 && until < Date.now() + 31 * 60_000, muted.muted_until);
  assert.equal(ok(await api(t, bob, "GET", `/rooms/${room.id}`)).muted_until, muted.muted_until);

  const before = ok(await api(t, bob, "GET", `/rooms/${room.id}/messages`)).messages.length;
  const post = await api(t, bob, "POST", `/rooms/${room.id}/messages`, { body: "hello?", client_id: "m1" });
  const error = refused(post, 403, "muted");
  assert.equal(error.details.muted_until, muted.muted_until);
  refused(await api(t, bob, "POST", `/messages/${target.id}/reactions`, { emoji: "👍" }), 403, "muted");
  assert.equal(
    ok(await api(t, bob, "GET", `/rooms/${room.id}/messages`)).messages.length,
    before,
    "reads on",
  );

  refused(await api(t, bob, "POST", `/rooms/${room.id}/mute`, { user_id: carol.id, minutes: 5 }), 403);
  refused(await api(t, carol, "POST", `/rooms/${room.id}/mute`, { user_id: alice.id, minutes: 5 }), 403);
  refused(await api(t, carol, "POST", `/rooms/${room.id}/mute`, { user_id: nobody(), minutes: 5 }), 404);
  refused(await api(t, carol, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: -1 }), 422);
  refused(await api(t, carol, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: "5" }), 422);

  const unmuted = ok(await api(t, alice, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: 0 }));
  assert.equal(unmuted.muted_until, null);
  await say(t, bob, room.id, "back");
});

appTest("[chat rooms] roles: the owner promotes and demotes through POST members", async (t) => {
  const [alice, bob, carol, dave] = await Promise.all(
    ["alice", "bob", "carol", "dave"].map((n) => randomUser(t, n)),
  );
  const room = await roomWith(t, alice, [bob, carol]);
  const promoted = ok(
    await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: bob.id, role: "moderator" }),
  );
  assert.equal(promoted.role, "moderator");
  assert.equal(ok(await api(t, bob, "GET", `/rooms/${room.id}`)).role, "moderator");
  // Now bob can do what moderators do, but not hand out roles.
  ok(await api(t, bob, "POST", `/rooms/${room.id}/members`, { user_id: dave.id }), 201);
  refused(
    await api(t, bob, "POST", `/rooms/${room.id}/members`, { user_id: carol.id, role: "moderator" }),
    403,
  );
  const demoted = ok(
    await api(t, alice, "POST", `/rooms/${room.id}/members`, { user_id: bob.id, role: "member" }),
  );
  assert.equal(demoted.role, "member");
  refused(
    await api(t, bob, "POST", `/rooms/${room.id}/members`, { user_id: carol.id, role: "moderator" }),
    403,
  );
});

appTest("[chat rooms] DMs: one room per pair either way, named after the other person", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const first = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  assert.equal(first.kind, "dm");
  assert.equal(first.name, bob.name);
  assert.deepEqual(first.dm_user, { id: bob.id, name: bob.name });
  assert.equal(first.member_count, 2);
  assert.deepEqual(first.members.map((m: { id: string }) => m.id).sort(), [alice.id, bob.id].sort());
  assert.ok(first.members.every((m: { role: string }) => m.role === "member"));

  const back = ok(await api(t, bob, "POST", "/dms", { user_id: alice.id }));
  assert.equal(back.id, first.id);
  assert.equal(back.name, alice.name);
  assert.deepEqual(back.dm_user, { id: alice.id, name: alice.name });
  assert.equal(ok(await api(t, alice, "POST", "/dms", { user_id: bob.id })).id, first.id);

  const listed = ok(await api(t, bob, "GET", "/rooms")).rooms.find((r: { id: string }) => r.id === first.id);
  assert.equal(listed.name, alice.name);
  assert.equal(ok(await api(t, alice, "GET", `/rooms/${first.id}`)).name, bob.name);
  assert.deepEqual(
    ok(await api(t, alice, "GET", `/rooms/${first.id}/messages`)).messages,
    [],
    "no system message",
  );

  refused(await api(t, alice, "POST", "/dms", { user_id: alice.id }), 422, "validation_failed");
  refused(await api(t, alice, "POST", "/dms", { user_id: nobody() }), 404, "not_found");
  refused(await api(t, alice, "POST", "/dms", { user_id: "bob" }), 422);
  refused(await api(t, alice, "POST", "/dms", {}), 422);
  const [{ n }] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.rooms where kind = 'dm'",
  );
  assert.equal(n, 1);
});

appTest("[chat rooms] admins add, mute and remove people in rooms they do not belong to", async (t) => {
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => randomUser(t, n)));
  const admin = await randomAdmin(t);
  const room = await roomWith(t, alice, [bob]);
  assert.equal(ok(await api(t, admin, "GET", `/rooms/${room.id}`)).joined, false);
  const muted = ok(await api(t, admin, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: 10 }));
  assert.ok(muted.muted_until);
  ok(await api(t, admin, "POST", `/rooms/${room.id}/members`, { user_id: carol.id }), 201);
  assert.equal((await api(t, admin, "DELETE", `/rooms/${room.id}/members/${bob.id}`)).status, 204);
  const members = ok(await api(t, alice, "GET", `/rooms/${room.id}`)).members;
  assert.deepEqual(members.map((m: { id: string }) => m.id), [alice.id, carol.id]);
});
