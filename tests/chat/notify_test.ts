import assert from "node:assert/strict";
import type { TestContext } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import { notifyTest, withNotifications } from "../support/notify.ts";
import { ok } from "./helpers.ts";

/** The delay these tests configure before chat-notify runs. */
const DELAY = 5;
const env = { PLAZA_CHAT_NOTIFY_DELAY_SECONDS: String(DELAY) };
const test = (name: string, fn: Parameters<typeof notifyTest>[1]) => notifyTest(name, fn, env);

/** The user's in-app notifications (newest first) and unread count. */
async function inbox(t: TestContext, user: TestUser) {
  const body = ok(await api(t, user, "GET", "/notifications"));
  return body as {
    unread: number;
    notifications: {
      id: number;
      category: string;
      template: string;
      title: string;
      body: string;
      url: string;
      data: Record<string, unknown>;
      read_at: string | null;
    }[];
  };
}

const chatJobs = async (t: TestContext) =>
  (await t.platform.db.query("select 1 from plaza.jobs where name = 'chat-notify'")).length;

/** Every chat-notify job ran to the end without an error. */
async function jobsSucceeded(t: TestContext) {
  const jobs = await t.platform.db.query<{ status: string; last_error: string | null }>(
    "select status, last_error from plaza.jobs where name = 'chat-notify'",
  );
  assert.ok(jobs.length > 0);
  for (const job of jobs) assert.deepEqual(job, { status: "done", last_error: null });
}

test("[chat notify] a DM nobody read notifies its recipient once the delay is over", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  const msg = await say(t, alice, dm.id, "Are you coming tonight?");
  assert.equal(await chatJobs(t), 1);

  await p.drain();
  assert.equal((await inbox(t, bob)).notifications.length, 0, "not before the delay");
  await p.advance(DELAY + 1);
  await p.drain();
  const { notifications, unread } = await inbox(t, bob);
  assert.equal(unread, 1);
  assert.equal(notifications.length, 1);
  const [n] = notifications;
  assert.equal(n.category, "chat");
  assert.equal(n.template, "chat.dm");
  assert.equal(n.url, `/chat/${dm.id}`);
  assert.equal(n.title, `${alice.name} sent you a message`);
  assert.equal(n.body, "Are you coming tonight?");
  assert.deepEqual(n.data, {
    room_id: dm.id,
    message_id: msg.id,
    author_name: alice.name,
    excerpt: "Are you coming tonight?",
  });
  assert.equal(n.read_at, null);
  assert.equal((await inbox(t, alice)).notifications.length, 0, "not the author");

  await p.advance(DELAY + 1);
  await p.drain();
  assert.equal((await inbox(t, bob)).notifications.length, 1, "once");
});

test("[chat notify] reading the DM before the job runs means no notification", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  const msg = await say(t, alice, dm.id, "Quick question");
  ok(await api(t, bob, "POST", `/rooms/${dm.id}/read`, { message_id: msg.id }));
  await p.advance(DELAY + 1);
  await p.drain();
  assert.deepEqual((await inbox(t, bob)).notifications, []);
  await jobsSucceeded(t);
});

test("[chat notify] a burst of DMs before they read notifies once", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  const first = await say(t, alice, dm.id, "one");
  const second = await say(t, alice, dm.id, "two");
  const last = await say(t, alice, dm.id, "three");
  assert.equal(await chatJobs(t), 3);
  await p.advance(DELAY + 1);
  await p.drain();
  const { notifications, unread } = await inbox(t, bob);
  assert.equal(notifications.length, 1);
  assert.equal(unread, 1);
  assert.equal(notifications[0].template, "chat.dm");
  assert.ok([first.id, second.id, last.id].includes(notifications[0].data.message_id as number));

  // Once bob has read, the next DM notifies again.
  ok(await api(t, bob, "POST", `/rooms/${dm.id}/read`, { message_id: last.id }));
  assert.equal((await inbox(t, bob)).unread, 0, "reading the room read the notification");
  const later = await say(t, alice, dm.id, "four");
  await p.advance(DELAY + 1);
  await p.drain();
  const after = await inbox(t, bob);
  assert.equal(after.notifications.length, 2);
  assert.equal(after.notifications[0].data.message_id, later.id);
  assert.equal(after.unread, 1);
});

test("[chat notify] an @mention notifies the mentioned member only; reading marks it read", async (t, p) => {
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => randomUser(t, n)));
  const outsider = await randomUser(t, "dave");
  const room = await roomWith(t, alice, [bob, carol]);
  await say(t, alice, room.id, "no mention, no job");
  assert.equal(await chatJobs(t), 0);
  const msg = await say(
    t,
    alice,
    room.id,
    `@${bob.name} can you check this? cc @${outsider.name} @${alice.name}`,
  );
  assert.deepEqual(msg.mentions, [bob.id], "members only, never the author");
  await p.advance(DELAY + 1);
  await p.drain();

  const bobs = await inbox(t, bob);
  assert.equal(bobs.notifications.length, 1);
  const [n] = bobs.notifications;
  assert.equal(n.category, "chat");
  assert.equal(n.template, "chat.mention");
  assert.equal(n.url, `/chat/${room.id}`);
  assert.equal(n.title, `${alice.name} mentioned you in ${room.name}`);
  assert.equal(n.data.message_id, msg.id);
  assert.equal(n.data.room_name, room.name);
  for (const other of [alice, carol, outsider]) {
    assert.equal((await inbox(t, other)).notifications.length, 0, other.name);
  }

  ok(await api(t, bob, "POST", `/rooms/${room.id}/read`, { message_id: msg.id }));
  const read = await inbox(t, bob);
  assert.equal(read.unread, 0);
  assert.ok(read.notifications[0].read_at, "the chat notification is read with the room");
});

test("[chat notify] mentions are matched case-insensitively and as whole names", async (t, p) => {
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => randomUser(t, n)));
  const room = await roomWith(t, alice, [bob, carol]);
  const upper = await say(t, alice, room.id, `hey @${bob.name.toUpperCase()}!`);
  assert.deepEqual(upper.mentions, [bob.id]);
  const glued = await say(t, alice, room.id, `mail@${carol.name} and @${carol.name}x`);
  assert.deepEqual(glued.mentions, [], "not inside a word");
  await p.advance(DELAY + 1);
  await p.drain();
  assert.equal((await inbox(t, bob)).notifications.length, 1);
  assert.equal((await inbox(t, carol)).notifications.length, 0);
});

test("[chat notify] a long DM is cut to a 200-character excerpt", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
  await say(t, alice, dm.id, "y".repeat(300));
  await p.advance(DELAY + 1);
  await p.drain();
  await jobsSucceeded(t);
  const [n] = (await inbox(t, bob)).notifications;
  assert.equal(n.body, `${"y".repeat(199)}…`);
});

Deno.test({
  name: "[chat notify] a long DM whose 200th character is an emoji still notifies",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withNotifications(async (t, p) => {
      const alice = await randomUser(t, "alice");
      const bob = await randomUser(t, "bob");
      const dm = ok(await api(t, alice, "POST", "/dms", { user_id: bob.id }), 201);
      await say(t, alice, dm.id, `${"x".repeat(198)}😀 and some more text after the emoji`);
      await p.advance(DELAY + 1);
      await p.drain();
      await jobsSucceeded(t);
      const [n] = (await inbox(t, bob)).notifications;
      assert.ok(n, "bob is notified");
      assert.ok(n.body.startsWith("x".repeat(198)));
      assert.ok(n.body.endsWith("…"));
    }, env),
});
