import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomAdmin, randomUser, type TestUser } from "../support/factories.ts";
import { ok, refused } from "./helpers.ts";

/** A room of alice (owner), bob and carol with one message of bob's. */
async function scene(t: TestContext) {
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => randomUser(t, n)));
  const admin = await randomAdmin(t);
  const room = await roomWith(t, alice, [bob, carol]);
  const msg = await say(t, bob, room.id, "Buy cheap watches at example.test");
  return { alice, bob, carol, admin, room, msg };
}

const report = (t: TestContext, who: TestUser, messageId: number, reason: unknown = "Spam") =>
  api(t, who, "POST", `/messages/${messageId}/report`, { reason });

const statusOf = async (t: TestContext, id: number) => {
  const [row] = await t.platform.db.query<
    { status: string; resolution: string | null; resolved_by: string | null }
  >(
    "select status, resolution, resolved_by from public.message_reports where id = $1",
    [id],
  );
  return row;
};

appTest(
  "[chat moderation] report: 201, again 200 with the same id; own, system and unseen refused",
  async (t) => {
    const { alice, bob, carol, room, msg } = await scene(t);
    const dave = await randomUser(t, "dave");
    const first = ok(await report(t, alice, msg.id, "  Spam  "), 201);
    assert.deepEqual(Object.keys(first).sort(), ["id", "status"]);
    assert.equal(first.status, "open");
    assert.equal(typeof first.id, "number");
    assert.deepEqual(ok(await report(t, alice, msg.id, "Still spam")), first, "one open report per person");
    const carols = ok(await report(t, carol, msg.id), 201);
    assert.notEqual(carols.id, first.id);
    const [row] = await t.platform.db.query<{ reason: string; reporter_id: string; status: string }>(
      "select reason, reporter_id, status from public.message_reports where id = $1",
      [first.id],
    );
    assert.deepEqual(row, { reason: "Spam", reporter_id: alice.id, status: "open" });

    refused(await report(t, bob, msg.id), 422, "validation_failed");
    const [system] = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages?after=0&limit=1`)).messages;
    assert.equal(system.kind, "system");
    refused(await report(t, alice, system.id), 422);
    refused(await report(t, dave, msg.id), 404, "not_found");
    refused(await report(t, alice, msg.id + 1000), 404);
    refused(await report(t, alice, msg.id, ""), 422);
    refused(await report(t, alice, msg.id, "   "), 422);
    refused(await report(t, alice, msg.id, "x".repeat(501)), 422);
    refused(await api(t, alice, "POST", `/messages/${msg.id}/report`, {}), 422);
    const gone = await say(t, bob, room.id, "deleted before anyone reports it");
    ok(await api(t, bob, "DELETE", `/messages/${gone.id}`));
    refused(await report(t, alice, gone.id), 409, "message_deleted");
    const [{ n }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.message_reports",
    );
    assert.equal(n, 2);
  },
);

appTest(
  "[chat moderation] the admin queue lists open reports with message and room; admins only",
  async (t) => {
    const { alice, bob, carol, admin, room, msg } = await scene(t);
    const other = await say(t, alice, room.id, "Second offender");
    const r1 = ok(await report(t, alice, msg.id, "Spam"), 201);
    const r2 = ok(await report(t, carol, msg.id, "Scam"), 201);
    const r3 = ok(await report(t, bob, other.id, "Rude"), 201);

    const queue = ok(await api(t, admin, "GET", "/admin/reports"));
    assert.deepEqual(queue.reports.map((r: { id: number }) => r.id), [r3.id, r2.id, r1.id], "newest first");
    assert.equal(queue.next_before, null);
    const first = queue.reports.find((r: { id: number }) => r.id === r1.id);
    assert.equal(first.status, "open");
    assert.equal(first.reason, "Spam");
    assert.deepEqual(first.reporter, { id: alice.id, name: alice.name });
    assert.equal(first.message.id, msg.id);
    assert.equal(first.message.body, msg.body);
    assert.deepEqual(first.message.author, { id: bob.id, name: bob.name });
    assert.deepEqual(first.room, { id: room.id, name: room.name, kind: "private" });
    assert.equal(first.open_reports_for_message, 2);
    assert.equal(first.resolution, null);
    assert.equal(first.resolved_at, null);

    const paged = ok(await api(t, admin, "GET", "/admin/reports?limit=2"));
    assert.deepEqual(paged.reports.map((r: { id: number }) => r.id), [r3.id, r2.id]);
    assert.equal(paged.next_before, r2.id);
    const rest = ok(await api(t, admin, "GET", `/admin/reports?limit=2&before=${paged.next_before}`));
    assert.deepEqual(rest.reports.map((r: { id: number }) => r.id), [r1.id]);
    assert.deepEqual(ok(await api(t, admin, "GET", "/admin/reports?status=dismissed")).reports, []);

    refused(await api(t, alice, "GET", "/admin/reports"), 403, "forbidden");
    refused(await api(t, alice, "POST", `/admin/reports/${r1.id}`, { action: "dismiss" }), 403);
    refused(await api(t, admin, "GET", "/admin/reports?status=bogus"), 422);
    assert.equal((await t.request("/api/v1/admin/reports")).status, 401);
    assert.equal((await statusOf(t, r1.id)).status, "open");
  },
);

appTest(
  "[chat moderation] dismiss settles one report; resolving twice is 409; bad actions 422",
  async (t) => {
    const { alice, carol, admin, msg } = await scene(t);
    const r1 = ok(await report(t, alice, msg.id), 201);
    const r2 = ok(await report(t, carol, msg.id), 201);
    const resolve = (id: number, body: unknown) => api(t, admin, "POST", `/admin/reports/${id}`, body);

    for (
      const bad of [
        {},
        { action: "ban" },
        { action: "mute_author" },
        { action: "mute_author", minutes: 0 },
        { action: "dismiss", minutes: 5 },
        { action: "dismiss", note: "x" },
      ]
    ) refused(await resolve(r1.id, bad), 422, "validation_failed");
    refused(await resolve(r1.id + 1000, { action: "dismiss" }), 404);
    refused(await resolve(0, { action: "dismiss" }), 422);

    assert.deepEqual(ok(await resolve(r1.id, { action: "dismiss" })), {
      id: r1.id,
      status: "dismissed",
      resolution: "dismissed",
    });
    assert.deepEqual(await statusOf(t, r1.id), {
      status: "dismissed",
      resolution: "dismissed",
      resolved_by: admin.id,
    });
    assert.equal((await statusOf(t, r2.id)).status, "open", "dismissing settles only this report");
    refused(await resolve(r1.id, { action: "dismiss" }), 409, "already_resolved");
    refused(await resolve(r1.id, { action: "delete_message" }), 409);
    const [body] = await t.platform.db.query<{ body: string }>(
      "select body from public.messages where id = $1",
      [
        msg.id,
      ],
    );
    assert.equal(body.body, msg.body, "the message stays");
    // Once dismissed, alice may report it again.
    const again = ok(await report(t, alice, msg.id), 201);
    assert.notEqual(again.id, r1.id);
    const queue = ok(await api(t, admin, "GET", "/admin/reports"));
    assert.deepEqual(queue.reports.map((r: { id: number }) => r.id), [again.id, r2.id]);
    assert.deepEqual(
      ok(await api(t, admin, "GET", "/admin/reports?status=dismissed")).reports.map((r: { id: number }) =>
        r.id
      ),
      [r1.id],
    );
  },
);

appTest("[chat moderation] delete_message tombstones it and settles every open report of it", async (t) => {
  const { alice, bob, carol, admin, room, msg } = await scene(t);
  ok(await api(t, carol, "POST", `/messages/${msg.id}/reactions`, { emoji: "😡" }));
  const r1 = ok(await report(t, alice, msg.id), 201);
  const r2 = ok(await report(t, carol, msg.id), 201);
  const unrelated = ok(await report(t, bob, (await say(t, alice, room.id, "fine")).id), 201);

  assert.deepEqual(ok(await api(t, admin, "POST", `/admin/reports/${r2.id}`, { action: "delete_message" })), {
    id: r2.id,
    status: "actioned",
    resolution: "message deleted",
  });
  assert.deepEqual(await statusOf(t, r1.id), {
    status: "actioned",
    resolution: "message deleted",
    resolved_by: admin.id,
  });
  assert.equal((await statusOf(t, r2.id)).status, "actioned");
  assert.equal((await statusOf(t, unrelated.id)).status, "open");

  const shown = ok(await api(t, alice, "GET", `/rooms/${room.id}/messages`)).messages
    .find((m: { id: number }) => m.id === msg.id);
  assert.equal(shown.body, "");
  assert.ok(shown.deleted_at);
  assert.deepEqual(shown.reactions, []);
  const actioned = ok(await api(t, admin, "GET", "/admin/reports?status=actioned")).reports;
  assert.deepEqual(actioned.map((r: { id: number }) => r.id), [r2.id, r1.id]);
  assert.equal(actioned[0].message.body, "", "the queue shows the tombstone");
  assert.equal(actioned[0].open_reports_for_message, 0);
  refused(await api(t, admin, "POST", `/admin/reports/${r1.id}`, { action: "delete_message" }), 409);
});

appTest(
  "[chat moderation] mute_author: the author cannot post in that room until the time is up",
  async (t) => {
    const { alice, bob, admin, room, msg } = await scene(t);
    const elsewhere = await roomWith(t, alice, [bob]);
    const r = ok(await report(t, alice, msg.id), 201);
    assert.deepEqual(
      ok(await api(t, admin, "POST", `/admin/reports/${r.id}`, { action: "mute_author", minutes: 60 })),
      {
        id: r.id,
        status: "actioned",
        resolution: "author muted for 60 min",
      },
    );
    const post = await api(t, bob, "POST", `/rooms/${room.id}/messages`, {
      body: "Let me talk",
      client_id: "x1",
    });
    refused(post, 403, "muted");
    const until = Date.parse(post.body.error.details.muted_until);
    assert.ok(until > Date.now() + 59 * 60_000 && until <= Date.now() + 61 * 60_000);
    await say(t, bob, elsewhere.id, "muted in one room only");
    const [stays] = await t.platform.db.query<{ body: string; deleted_at: Date | null }>(
      "select body, deleted_at from public.messages where id = $1",
      [msg.id],
    );
    assert.deepEqual(stays, { body: msg.body, deleted_at: null }, "muting keeps the message");
    refused(
      await api(t, admin, "POST", `/admin/reports/${r.id}`, { action: "mute_author", minutes: 5 }),
      409,
    );
  },
);
