/** Reports (POST /api/v1/media/:id/report) and the admin queue and actions (/api/v1/admin/media). */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { randomAdmin, randomUser, type TestUser } from "../support/factories.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { memberClaims } from "../support/events.ts";
import { jpegBytes } from "../support/images.ts";
import { readyImage } from "../support/media.ts";

/** An owner's ready image shared in a room with `members`. */
async function sharedImage(t: TestContext, owner: TestUser, members: TestUser[]) {
  const item = await readyImage(t, owner, await jpegBytes(40, 30));
  const room = await roomWith(t, owner, members);
  await say(t, owner, room.id, "look", { attachments: [{ media_id: item.id }] });
  return item;
}

async function served(t: TestContext, url: string, headers: Record<string, string> = {}) {
  const res = await t.request(url, { headers });
  await res.body?.cancel();
  return res.status;
}

appTest("[media moderation] reports: once, not your own, only what you can see, reason 1-500", async (t) => {
  const owner = await randomUser(t);
  const member = await randomUser(t);
  const stranger = await randomUser(t);
  const item = await sharedImage(t, owner, [member]);

  const first = await api(t, member, "POST", `/media/${item.id}/report`, { reason: "  Not ok  " });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.media_id, item.id);
  assert.equal(first.body.reason, "Not ok");
  const twice = await api(t, member, "POST", `/media/${item.id}/report`, { reason: "again" });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.error.code, "already_reported");
  const own = await api(t, owner, "POST", `/media/${item.id}/report`, { reason: "mine" });
  assert.equal(own.status, 422);
  assert.equal(own.body.error.code, "own_media");
  const invisible = await api(t, stranger, "POST", `/media/${item.id}/report`, { reason: "cannot see it" });
  assert.equal(invisible.status, 404);
  const unknown = await api(t, member, "POST", `/media/${crypto.randomUUID()}/report`, { reason: "x" });
  assert.equal(unknown.status, 404);
  const other = await randomUser(t);
  const room2 = await roomWith(t, owner, [other]);
  await say(t, owner, room2.id, "again", { attachments: [{ media_id: item.id }] });
  for (
    const body of [{ reason: "x".repeat(501) }, { reason: "" }, { reason: "   " }, {}, {
      reason: "ok",
      extra: 1,
    }]
  ) {
    const res = await api(t, other, "POST", `/media/${item.id}/report`, body);
    assert.equal(res.status, 422, `${JSON.stringify(body).slice(0, 40)}: ${JSON.stringify(res.body)}`);
  }
  const [{ n }] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.media_reports where media_id = $1",
    [item.id],
  );
  assert.equal(Number(n), 1);
  assert.equal(
    (await api(t, other, "POST", `/media/${item.id}/report`, { reason: "x".repeat(500) })).status,
    201,
  );
});

appTest("[media moderation] queue, hide, restore, dismiss; strangers lose access while hidden", async (t) => {
  const owner = await randomUser(t);
  const member = await randomUser(t);
  const admin = await randomAdmin(t);
  const item = await sharedImage(t, owner, [member]);
  const clean = await readyImage(t, owner, await jpegBytes(20, 20));
  assert.equal((await api(t, member, "POST", `/media/${item.id}/report`, { reason: "spam" })).status, 201);

  // Non-admins: 403 on the whole admin API.
  for (const [method, path] of [["GET", "/admin/media"], ["POST", `/admin/media/${item.id}/hide`]] as const) {
    const res = await api(t, member, method, path, method === "POST" ? {} : undefined);
    assert.equal(res.status, 403, `${method} ${path}`);
  }
  const del = await t.request(`/api/v1/admin/media/${item.id}`, { method: "DELETE", headers: owner.bearer });
  assert.equal(del.status, 403);
  await del.body?.cancel();

  const queue = await api(t, admin, "GET", "/admin/media");
  assert.equal(queue.status, 200, JSON.stringify(queue.body));
  assert.equal(queue.body.items.length, 1);
  const [entry] = queue.body.items;
  assert.equal(entry.media.id, item.id);
  assert.equal(entry.open_reports, 1);
  assert.deepEqual(entry.owner, { id: owner.id, name: owner.name });
  assert.equal(entry.reports.length, 1);
  assert.equal(entry.reports[0].reason, "spam");
  assert.equal(entry.reports[0].reporter, member.name);
  assert.ok(entry.media.urls.thumb);
  const all = await api(t, admin, "GET", "/admin/media?filter=all");
  assert.deepEqual(
    all.body.items.map((i: { media: { id: string } }) => i.media.id).sort(),
    [item.id, clean.id].sort(),
  );
  assert.equal((await api(t, admin, "GET", "/admin/media?filter=bogus")).status, 422);

  // Hide: a previously valid signed URL stops working for the member; the owner still sees it.
  const urls = await api(t, member, "GET", `/media/urls?ids=${item.id}`);
  const signed = urls.body.items[0].urls.full as string;
  assert.equal(await served(t, signed, member.bearer), 200);
  const hide = await api(t, admin, "POST", `/admin/media/${item.id}/hide`, { reason: "nudity" });
  assert.equal(hide.status, 200, JSON.stringify(hide.body));
  assert.equal(hide.body.hidden, true);
  assert.equal(hide.body.hidden_reason, "nudity");
  assert.equal(await served(t, signed, member.bearer), 404);
  assert.equal(await served(t, signed), 404);
  assert.equal(await served(t, signed, owner.bearer), 200);
  // The member no longer gets URLs (RLS hides the item from them entirely).
  const hiddenUrls = await api(t, member, "GET", `/media/urls?ids=${item.id}`);
  assert.equal(hiddenUrls.status, 200);
  assert.ok(
    hiddenUrls.body.items.every((i: { urls: unknown }) => i.urls === null),
    JSON.stringify(hiddenUrls.body),
  );
  assert.equal((await api(t, member, "GET", `/media/${item.id}`)).status, 404);
  const ownerView = await api(t, owner, "GET", `/media/${item.id}`);
  assert.equal(ownerView.body.hidden, true);
  assert.equal(ownerView.body.hidden_reason, "nudity");
  // The report is resolved; the hidden filter lists it.
  assert.deepEqual((await api(t, admin, "GET", "/admin/media")).body.items, []);
  const hiddenQueue = await api(t, admin, "GET", "/admin/media?filter=hidden");
  assert.deepEqual(hiddenQueue.body.items.map((i: { media: { id: string } }) => i.media.id), [item.id]);
  // Hidden media cannot be attached again.
  const room = await roomWith(t, owner, []);
  const attach = await api(t, owner, "POST", `/rooms/${room.id}/messages`, {
    body: "again",
    client_id: crypto.randomUUID(),
    attachments: [{ media_id: item.id }],
  });
  assert.equal(attach.status, 422);

  // Restore: the same signed URL works again.
  const restore = await api(t, admin, "POST", `/admin/media/${item.id}/restore`, {});
  assert.equal(restore.status, 200);
  assert.equal(restore.body.hidden, false);
  assert.equal(await served(t, signed, member.bearer), 200);
  const back = await api(t, member, "GET", `/media/urls?ids=${item.id}`);
  assert.ok(back.body.items[0].urls.full);

  // Dismiss: a new report, dismissed, leaves the item visible and the queue empty.
  const another = await randomUser(t);
  const room3 = await roomWith(t, owner, [another]);
  await say(t, owner, room3.id, "hi", { attachments: [{ media_id: item.id }] });
  assert.equal((await api(t, another, "POST", `/media/${item.id}/report`, { reason: "meh" })).status, 201);
  assert.equal((await api(t, admin, "GET", "/admin/media")).body.items[0].open_reports, 1);
  const dismiss = await api(t, admin, "POST", `/admin/media/${item.id}/dismiss`, {});
  assert.equal(dismiss.status, 200);
  assert.equal(dismiss.body.hidden, false);
  assert.deepEqual((await api(t, admin, "GET", "/admin/media")).body.items, []);
  assert.equal(await served(t, signed, member.bearer), 200);
  const resolutions = await t.platform.db.query<{ resolution: string; resolved_by: string }>(
    "select resolution, resolved_by from public.media_reports where media_id = $1 order by id",
    [item.id],
  );
  assert.deepEqual(resolutions, [
    { resolution: "hidden", resolved_by: admin.id },
    { resolution: "dismissed", resolved_by: admin.id },
  ]);

  // Unknown items and actions.
  assert.equal((await api(t, admin, "POST", `/admin/media/${crypto.randomUUID()}/hide`, {})).status, 404);
  assert.equal((await api(t, admin, "POST", `/admin/media/${item.id}/explode`, {})).status, 404);
  assert.equal(
    (await api(t, admin, "POST", `/admin/media/${item.id}/hide`, { reason: "x".repeat(501) })).status,
    422,
  );

  // Delete; the log outlives the item.
  const gone = await t.request(`/api/v1/admin/media/${item.id}`, { method: "DELETE", headers: admin.bearer });
  assert.equal(gone.status, 204);
  const log = await t.platform.db.query<{ action: string; owner_id: string; admin_id: string }>(
    "select action, owner_id, admin_id from public.media_moderation_log where media_id = $1 order by id",
    [item.id],
  );
  assert.deepEqual(log.map((l) => l.action), ["hide", "restore", "dismiss", "delete"]);
  assert.ok(log.every((l) => l.owner_id === owner.id && l.admin_id === admin.id));
  assert.deepEqual(await t.platform.storage.list(`${item.id}/`), []);
  // Members cannot read the log.
  const visible = await asUser(
    t.platform.db,
    memberClaims(member),
    (tx) => tx.query("select id from public.media_moderation_log"),
  );
  assert.equal(visible.length, 0);
});
