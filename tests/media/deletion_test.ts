/** Deleting media (API, admin, SQL, account deletion) and the sweeper (lib/media/process.ts sweepMedia). */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { processMedia, sweepMedia } from "@/lib/media/process.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { randomAdmin, randomUser } from "../support/factories.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { memberClaims } from "../support/events.ts";
import { jpegBytes } from "../support/images.ts";
import { pdfBytes, readyImage, storedKeys, upload } from "../support/media.ts";

async function garbage(t: TestContext): Promise<{ prefix: string; due: boolean }[]> {
  return await t.platform.db.query<{ prefix: string; due: boolean }>(
    "select prefix, not_before <= now() as due from plaza.storage_garbage order by prefix",
  );
}

const keysOf = async (t: TestContext, id: string) => await t.platform.storage.list(`${id}/`);

appTest(
  "[media delete] the owner deletes: 204, every key under <id>/ is gone, the URLs stop working",
  async (t) => {
    const owner = await randomUser(t);
    const item = await readyImage(t, owner, await jpegBytes(40, 30));
    const keep = await readyImage(t, owner, await jpegBytes(30, 20));
    assert.equal((await keysOf(t, item.id)).length, 3);
    const res = await t.request(`/api/v1/media/${item.id}`, { method: "DELETE", headers: owner.bearer });
    assert.equal(res.status, 204);
    assert.deepEqual(await keysOf(t, item.id), []);
    assert.equal((await keysOf(t, keep.id)).length, 3, "other items are untouched");
    assert.deepEqual(await garbage(t), []);
    assert.equal((await t.request(`/api/v1/media/${item.id}`, { headers: owner.bearer })).status, 404);
    const served = await t.request(item.urls.full);
    assert.equal(served.status, 404);
    await served.body?.cancel();
    // Again: 404.
    const again = await t.request(`/api/v1/media/${item.id}`, { method: "DELETE", headers: owner.bearer });
    assert.equal(again.status, 404);
    // A PDF (ready at once) too.
    const pdf = await upload(t, owner, pdfBytes(), { filename: "a.pdf" });
    assert.equal(
      (await t.request(`/api/v1/media/${pdf.body.id}`, { method: "DELETE", headers: owner.bearer })).status,
      204,
    );
    assert.deepEqual(await keysOf(t, pdf.body.id), []);
    // While still processing: nothing is left either, and a late processing run stores nothing.
    const pending = await upload(t, owner, await jpegBytes(20, 20));
    assert.equal(
      (await t.request(`/api/v1/media/${pending.body.id}`, { method: "DELETE", headers: owner.bearer }))
        .status,
      204,
    );
    assert.deepEqual(await keysOf(t, pending.body.id), []);
    assert.equal(await processMedia(t.platform, pending.body.id), "skipped");
    assert.deepEqual(await keysOf(t, pending.body.id), []);
  },
);

appTest(
  "[media delete] others: 404 when they cannot see it, 403 when they can (shared in a room)",
  async (t) => {
    const owner = await randomUser(t);
    const member = await randomUser(t);
    const stranger = await randomUser(t);
    const item = await readyImage(t, owner, await jpegBytes(40, 30));
    const hidden = await t.request(`/api/v1/media/${item.id}`, {
      method: "DELETE",
      headers: stranger.bearer,
    });
    assert.equal(hidden.status, 404);
    assert.equal((await hidden.json()).error.code, "not_found");

    const room = await roomWith(t, owner, [member]);
    await say(t, owner, room.id, "look", { attachments: [{ media_id: item.id }] });
    const shared = await t.request(`/api/v1/media/${item.id}`, { method: "DELETE", headers: member.bearer });
    assert.equal(shared.status, 403);
    assert.equal((await shared.json()).error.code, "forbidden");
    assert.equal((await keysOf(t, item.id)).length, 3);
    const signedOut = await t.request(`/api/v1/media/${item.id}`, { method: "DELETE" });
    assert.equal(signedOut.status, 401);
    await signedOut.body?.cancel();
  },
);

appTest("[media delete] an admin deletes anyone's media (API and admin API); it is logged", async (t) => {
  const owner = await randomUser(t);
  const admin = await randomAdmin(t);
  const a = await readyImage(t, owner, await jpegBytes(40, 30));
  const b = await readyImage(t, owner, await jpegBytes(40, 30));
  assert.equal(
    (await t.request(`/api/v1/media/${a.id}`, { method: "DELETE", headers: admin.bearer })).status,
    204,
  );
  assert.deepEqual(await keysOf(t, a.id), []);
  const res = await t.request(`/api/v1/admin/media/${b.id}?reason=spam`, {
    method: "DELETE",
    headers: admin.bearer,
  });
  assert.equal(res.status, 204);
  assert.deepEqual(await keysOf(t, b.id), []);
  assert.deepEqual(await storedKeys(t), []);
  assert.deepEqual(await garbage(t), []);
  const log = await t.platform.db.query<
    { action: string; owner_id: string; admin_id: string; reason: string }
  >(
    "select action, owner_id, admin_id, reason from public.media_moderation_log where media_id = $1",
    [b.id],
  );
  assert.deepEqual(log, [{ action: "delete", owner_id: owner.id, admin_id: admin.id, reason: "spam" }]);
  // The admin API on a deleted item: 404.
  const gone = await api(t, admin, "POST", `/admin/media/${b.id}/hide`, {});
  assert.equal(gone.status, 404);
});

appTest(
  "[media delete] deleting through SQL as the owner leaves a garbage row the sweeper clears",
  async (t) => {
    const owner = await randomUser(t);
    const item = await readyImage(t, owner, await jpegBytes(40, 30));
    const deleted = await asUser(
      t.platform.db,
      memberClaims(owner),
      (tx) => tx.query("delete from public.media where id = $1 returning id", [item.id]),
    );
    assert.equal(deleted.length, 1);
    assert.deepEqual(await garbage(t), [{ prefix: `${item.id}/`, due: true }]);
    assert.equal((await keysOf(t, item.id)).length, 3, "storage follows only when swept");
    const result = await sweepMedia(t.platform);
    assert.equal(result.purged, 3);
    assert.deepEqual(await keysOf(t, item.id), []);
    assert.deepEqual(await garbage(t), []);
    // A second sweep has nothing to do.
    assert.deepEqual(await sweepMedia(t.platform), { purged: 0, requeued: 0, failed: 0 });
  },
);

appTest("[media delete] a stranger's SQL delete removes nothing", async (t) => {
  const owner = await randomUser(t);
  const stranger = await randomUser(t);
  const item = await readyImage(t, owner, await jpegBytes(40, 30));
  const deleted = await asUser(
    t.platform.db,
    memberClaims(stranger),
    (tx) => tx.query("delete from public.media where id = $1 returning id", [item.id]),
  );
  assert.equal(deleted.length, 0);
  assert.deepEqual(await garbage(t), []);
});

appTest(
  "[media delete] deleting the account cascades to its media; the sweeper empties storage",
  async (t) => {
    // There is no account-deletion API: deleting the auth user is what such a deletion does.
    const owner = await randomUser(t);
    const other = await randomUser(t);
    const item = await readyImage(t, owner, await jpegBytes(40, 30));
    const pdf = await upload(t, owner, pdfBytes(), { filename: "a.pdf" });
    const keep = await upload(t, other, pdfBytes(), { filename: "b.pdf" });
    await t.platform.db.query("delete from auth.users where id = $1", [owner.id]);
    const [{ n }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.media where owner_id = $1",
      [owner.id],
    );
    assert.equal(Number(n), 0);
    assert.deepEqual(
      (await garbage(t)).map((g) => g.prefix).sort(),
      [`${item.id}/`, `${pdf.body.id}/`].sort(),
    );
    await sweepMedia(t.platform);
    assert.deepEqual(await storedKeys(t), [`${keep.body.id}/original.pdf`]);
    assert.deepEqual(await garbage(t), []);
  },
);

appTest("[media sweep] an upload that crashed mid-way is removed once its claim is due", async (t) => {
  const crashed = crypto.randomUUID();
  const fresh = crypto.randomUUID();
  await t.platform.storage.put(`${crashed}/original.jpg`, new Uint8Array([1, 2, 3]), {
    contentType: "image/jpeg",
  });
  await t.platform.storage.put(`${fresh}/original.jpg`, new Uint8Array([1, 2, 3]), {
    contentType: "image/jpeg",
  });
  await t.platform.db.query(
    `insert into plaza.storage_garbage (prefix, not_before) values
       ($1, now() - interval '1 minute'), ($2, now() + interval '1 hour')`,
    [`${crashed}/`, `${fresh}/`],
  );
  const result = await sweepMedia(t.platform);
  assert.equal(result.purged, 1);
  assert.deepEqual(await keysOf(t, crashed), []);
  // An upload still in flight (its claim not yet due) is left alone.
  assert.deepEqual(await keysOf(t, fresh), [`${fresh}/original.jpg`]);
  assert.deepEqual(await garbage(t), [{ prefix: `${fresh}/`, due: false }]);
});

appTest(
  "[media sweep] items stuck in processing are requeued after 5 minutes and failed after 30",
  async (t) => {
    const owner = await randomUser(t);
    const recent = await upload(t, owner, await jpegBytes(20, 20));
    const slow = await upload(t, owner, await jpegBytes(20, 20));
    const stuck = await upload(t, owner, await jpegBytes(20, 20));
    await t.platform.db.query(
      "update public.media set created_at = now() - interval '10 minutes' where id = $1",
      [
        slow.body.id,
      ],
    );
    await t.platform.db.query(
      "update public.media set created_at = now() - interval '31 minutes' where id = $1",
      [
        stuck.body.id,
      ],
    );
    const result = await sweepMedia(t.platform);
    assert.deepEqual(result, { purged: 0, requeued: 1, failed: 1 });
    const rows = await t.platform.db.query<
      { id: string; status: string; failure: string | null; stored_bytes: string }
    >(
      "select id, status, failure, stored_bytes::text from public.media",
    );
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    assert.equal(byId[recent.body.id].status, "processing");
    assert.equal(byId[slow.body.id].status, "processing");
    assert.equal(byId[stuck.body.id].status, "failed");
    assert.match(byId[stuck.body.id].failure ?? "", /upload the image again/);
    assert.equal(byId[stuck.body.id].stored_bytes, "0");
    assert.deepEqual(await keysOf(t, stuck.body.id), []);
    assert.equal((await keysOf(t, slow.body.id)).length, 1, "the requeued item keeps its original");
    // The owner hears about the failure.
    const events = await t.platform.db.query<{ payload: { id: string; status: string } }>(
      "select payload from realtime.messages where event = 'media' and topic = 'user:' || $1",
      [owner.id],
    );
    assert.ok(events.some((e) => e.payload.id === stuck.body.id && e.payload.status === "failed"));
  },
);
