/**
 * The chat tables' row-level security, straight through SQL as a signed-in user (what a Supabase
 * client could do with the anon key and a user's token), not through the API.
 */
import assert from "node:assert/strict";
import { asService, asUser } from "@/lib/db/as_user.ts";
import type { Queryable } from "@/lib/db/port.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import { claimsOf, ok } from "./helpers.ts";

/** Runs `fn` as `user` and expects it to fail with the SQLSTATE `code`. */
async function refusedSql(
  t: TestContext,
  user: TestUser,
  code: string,
  fn: (tx: Queryable) => Promise<unknown>,
) {
  await assert.rejects(
    asUser(t.platform.db, claimsOf(user), fn),
    (err: { code?: string; message?: string }) => {
      assert.equal(err.code, code, err.message);
      return true;
    },
  );
}

const as = <T>(t: TestContext, user: TestUser, fn: (tx: Queryable) => Promise<T>) =>
  asUser(t.platform.db, claimsOf(user), fn);

/** A private room of alice and bob with a message of each; carol is outside. */
async function scene(t: TestContext) {
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => randomUser(t, n)));
  const room = await roomWith(t, alice, [bob]);
  const hers = await say(t, alice, room.id, "alice wrote this");
  const his = await say(t, bob, room.id, "bob wrote this");
  return { alice, bob, carol, room, hers, his };
}

appTest("[chat rls] outsiders see nothing of a private room and cannot write into it", async (t) => {
  const { alice, carol, room, hers } = await scene(t);
  const counts = (tx: Queryable) =>
    tx.query<{ rooms: number; members: number; messages: number }>(
      `select (select count(*)::int from public.rooms where id = $1) as rooms,
         (select count(*)::int from public.room_members where room_id = $1) as members,
         (select count(*)::int from public.messages where room_id = $1) as messages`,
      [room.id],
    );
  const [mine] = await as(t, alice, counts);
  assert.deepEqual(mine, { rooms: 1, members: 2, messages: 4 }, "created + joined + two messages");
  const [theirs] = await as(t, carol, counts);
  assert.deepEqual(theirs, { rooms: 0, members: 0, messages: 0 });
  const reactions = await as(
    t,
    carol,
    (tx) => tx.query("select 1 from public.message_reactions where message_id = $1", [hers.id]),
  );
  assert.equal(reactions.length, 0);

  const before = await t.platform.db.query("select id from public.messages where room_id = $1", [room.id]);
  await refusedSql(t, carol, "42501", (tx) =>
    tx.query(
      "insert into public.messages (room_id, user_id, client_id, body) values ($1, auth.uid(), 'c1', 'let me in')",
      [room.id],
    ));
  await refusedSql(
    t,
    carol,
    "42501",
    (tx) => tx.query("insert into public.room_members (room_id, user_id) values ($1, auth.uid())", [room.id]),
  );
  await refusedSql(
    t,
    carol,
    "42501",
    (tx) =>
      tx.query(
        "insert into public.message_reactions (message_id, user_id, emoji) values ($1, auth.uid(), '👍')",
        [
          hers.id,
        ],
      ),
  );
  await refusedSql(
    t,
    carol,
    "42501",
    (tx) =>
      tx.query(
        "insert into public.message_reports (message_id, reporter_id, reason) values ($1, auth.uid(), 'x')",
        [
          hers.id,
        ],
      ),
  );
  await refusedSql(t, carol, "P0002", (tx) => tx.query("select public.chat_delete_message($1)", [hers.id]));
  const renamed = await as(
    t,
    carol,
    (tx) => tx.query("update public.rooms set name = 'Taken' where id = $1 returning id", [room.id]),
  );
  assert.equal(renamed.length, 0);
  const after = await t.platform.db.query("select id from public.messages where room_id = $1", [room.id]);
  assert.deepEqual(after, before);
});

appTest("[chat rls] members change only their own rows, and only the columns granted", async (t) => {
  const { alice, bob, room, hers, his } = await scene(t);
  const edited = await as(
    t,
    bob,
    (tx) =>
      tx.query("update public.messages set body = 'bob was here' where id = $1 returning id", [hers.id]),
  );
  assert.equal(edited.length, 0, "someone else's message is not updatable");
  const ownEdit = await as(t, bob, (tx) =>
    tx.query<{ edited: boolean }>(
      "update public.messages set body = 'bob edited this' where id = $1 returning edited_at is not null as edited",
      [his.id],
    ));
  assert.deepEqual(ownEdit, [{ edited: true }], "own message: the trigger stamps edited_at");

  await refusedSql(
    t,
    bob,
    "42501",
    (tx) =>
      tx.query("update public.room_members set role = 'owner' where room_id = $1 and user_id = auth.uid()", [
        room.id,
      ]),
  );
  await refusedSql(t, bob, "42501", (tx) =>
    tx.query(
      "update public.room_members set muted_until = null where room_id = $1 and user_id = auth.uid()",
      [room.id],
    ));
  await refusedSql(
    t,
    bob,
    "42501",
    (tx) => tx.query("update public.messages set deleted_at = now() where id = $1", [hers.id]),
  );
  await refusedSql(
    t,
    bob,
    "42501",
    (tx) => tx.query("update public.messages set user_id = auth.uid() where id = $1", [hers.id]),
  );
  await refusedSql(
    t,
    bob,
    "42501",
    (tx) => tx.query("update public.rooms set member_count = 100 where id = $1", [room.id]),
  );
  await refusedSql(
    t,
    bob,
    "42501",
    (tx) => tx.query("select public.chat_system_message($1, 'fake', '{}'::jsonb)", [room.id]),
  );
  await refusedSql(t, bob, "42501", (tx) =>
    tx.query(
      "insert into public.messages (room_id, user_id, client_id, kind, body) values ($1, auth.uid(), 's', 'system', 'x')",
      [room.id],
    ));
  await refusedSql(t, bob, "42501", (tx) =>
    tx.query(
      "insert into public.messages (room_id, user_id, client_id, body) values ($1, $2, 'as-alice', 'forged')",
      [room.id, alice.id],
    ));
  const movedOthers = await as(
    t,
    bob,
    (tx) =>
      tx.query(
        "update public.room_members set last_read_id = 1 where room_id = $1 and user_id = $2 returning 1",
        [
          room.id,
          alice.id,
        ],
      ),
  );
  assert.equal(movedOthers.length, 0, "only one's own read position");
  const removedOwner = await as(
    t,
    bob,
    (tx) =>
      tx.query("delete from public.room_members where room_id = $1 and user_id = $2 returning 1", [
        room.id,
        alice.id,
      ]),
  );
  assert.equal(removedOwner.length, 0);

  const [row] = await t.platform.db.query<{ body: string; role: string }>(
    `select m.body, rm.role from public.messages m, public.room_members rm
     where m.id = $1 and rm.room_id = $2 and rm.user_id = $3`,
    [hers.id, room.id, bob.id],
  );
  assert.deepEqual(row, { body: "alice wrote this", role: "member" });
  const [settings] = await as(
    t,
    bob,
    (tx) =>
      tx.query<{ n: number }>("select count(*)::int as n from public.chat_settings where user_id = $1", [
        alice.id,
      ]),
  );
  assert.equal(settings.n, 0);
});

appTest("[chat rls] muted members cannot post or react through SQL either", async (t) => {
  const { alice, bob, room, hers } = await scene(t);
  ok(await api(t, alice, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: 10 }));
  await refusedSql(
    t,
    bob,
    "42501",
    (tx) =>
      tx.query(
        "insert into public.messages (room_id, user_id, client_id, body) values ($1, auth.uid(), 'm', 'hi')",
        [
          room.id,
        ],
      ),
  );
  await refusedSql(
    t,
    bob,
    "42501",
    (tx) =>
      tx.query(
        "insert into public.message_reactions (message_id, user_id, emoji) values ($1, auth.uid(), '👍')",
        [
          hers.id,
        ],
      ),
  );
});

appTest("[chat rls] the insert trigger sets id and timestamps, whatever the insert says", async (t) => {
  const { bob, room, his } = await scene(t);
  // Users may not even name those columns.
  await refusedSql(t, bob, "42501", (tx) =>
    tx.query(
      `insert into public.messages (id, room_id, user_id, client_id, body, created_at)
       values (1, $1, auth.uid(), 'forged', 'x', '2000-01-01')`,
      [room.id],
    ));
  // The service role may; the trigger still decides.
  const [row] = await asService(
    t.platform.db,
    (tx) =>
      tx.query<{ id: string; created_at: Date; edited_at: Date | null; deleted_at: Date | null }>(
        `insert into public.messages (id, room_id, user_id, client_id, body, created_at, edited_at, deleted_at)
       values (1, $1, $2, 'forged', 'forged', '2000-01-01', '2000-01-02', '2000-01-03')
       returning id, created_at, edited_at, deleted_at`,
        [room.id, bob.id],
      ),
  );
  assert.ok(Number(row.id) > his.id, `id ${row.id} drawn from the sequence`);
  assert.ok(Math.abs(new Date(row.created_at).getTime() - Date.now()) < 60_000, String(row.created_at));
  assert.equal(row.edited_at, null);
  assert.equal(row.deleted_at, null);
  const [room2] = await t.platform.db.query<{ last_message_id: string }>(
    "select last_message_id from public.rooms where id = $1",
    [room.id],
  );
  assert.equal(Number(room2.last_message_id), Number(row.id));
});

appTest("[chat rls] room topics: members may send, outsiders may not", async (t) => {
  const { bob, carol, room } = await scene(t);
  const send = async (tx: Queryable) => {
    await tx.query("select set_config('realtime.topic', $1, true)", [`room:${room.id}`]);
    await tx.query(
      `insert into realtime.messages (topic, extension, payload, event, private)
       values (realtime.topic(), 'broadcast', '{}'::jsonb, 'typing', true)`,
    );
  };
  await as(t, bob, send);
  await refusedSql(t, carol, "42501", send);
});

appTest("[chat rls] muted members may not send to the room topic", async (t) => {
  const { alice, bob, room } = await scene(t);
  ok(await api(t, alice, "POST", `/rooms/${room.id}/mute`, { user_id: bob.id, minutes: 10 }));
  await refusedSql(t, bob, "42501", async (tx) => {
    await tx.query("select set_config('realtime.topic', $1, true)", [`room:${room.id}`]);
    await tx.query(
      `insert into realtime.messages (topic, extension, payload, event, private)
       values (realtime.topic(), 'broadcast', '{}'::jsonb, 'typing', true)`,
    );
  });
});
