/** Chat attachments: POST /api/v1/rooms/:id/messages with attachments, and the trigger behind it. */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { processMedia } from "@/lib/media/process.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import { api, roomWith } from "../support/chat.ts";
import { memberClaims } from "../support/events.ts";
import { jpegBytes } from "../support/images.ts";
import { damagedJpeg, pdfBytes, readyImage, upload } from "../support/media.ts";

async function messageCount(t: TestContext, roomId: string): Promise<number> {
  const [{ n }] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.messages where room_id = $1",
    [roomId],
  );
  return Number(n);
}

function post(t: TestContext, user: TestUser, roomId: string, attachments: unknown, body = "") {
  return api(t, user, "POST", `/rooms/${roomId}/messages`, {
    body,
    client_id: crypto.randomUUID(),
    attachments,
  });
}

appTest("[media attachments] own ready uploads attach with a snapshot; the body may be empty", async (t) => {
  const owner = await randomUser(t);
  const member = await randomUser(t);
  const room = await roomWith(t, owner, [member]);
  const image = await readyImage(t, owner, await jpegBytes(64, 48), "beach.jpg");
  const pdf = (await upload(t, owner, pdfBytes(), { filename: "menu.pdf" })).body;

  const res = await post(t, owner, room.id, [{ media_id: image.id }, { media_id: pdf.id.toUpperCase() }]);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.body, "");
  assert.deepEqual(res.body.attachments, [
    {
      media_id: image.id,
      kind: "image",
      mime: "image/jpeg",
      filename: "beach.jpg",
      bytes: image.bytes,
      width: 64,
      height: 48,
      color: image.color,
    },
    {
      media_id: pdf.id,
      kind: "pdf",
      mime: "application/pdf",
      filename: "menu.pdf",
      bytes: pdf.bytes,
      width: null,
      height: null,
      color: null,
    },
  ]);
  assert.match(image.color, /^#[0-9a-f]{6}$/);
  // Members read it with its attachments, and fetch URLs for them.
  const page = await api(t, member, "GET", `/rooms/${room.id}/messages`);
  const msg = page.body.messages.find((m: { id: number }) => m.id === res.body.id);
  assert.equal(msg.attachments.length, 2);
  const urls = await api(t, member, "GET", `/media/urls?ids=${image.id},${pdf.id}`);
  assert.equal(urls.body.items.length, 2);
  // With a body too.
  const withText = await post(t, owner, room.id, [{ media_id: image.id }], "see this");
  assert.equal(withText.status, 201);
  assert.equal(withText.body.attachments.length, 1);
  // Ten is the most.
  const ten = [];
  for (let i = 0; i < 10; i++) {
    ten.push((await upload(t, owner, pdfBytes(i), { filename: `${i}.pdf` })).body.id);
  }
  const many = await post(t, owner, room.id, ten.map((media_id) => ({ media_id })));
  assert.equal(many.status, 201, JSON.stringify(many.body));
  assert.equal(many.body.attachments.length, 10);
  // Neither text nor attachments: refused.
  assert.equal((await post(t, owner, room.id, [])).status, 422);
});

appTest("[media attachments] refused with 422 on attachments, writing no message", async (t) => {
  const owner = await randomUser(t);
  const other = await randomUser(t);
  const room = await roomWith(t, owner, [other]);
  const mine = await readyImage(t, owner, await jpegBytes(20, 20));
  const theirs = await readyImage(t, other, await jpegBytes(20, 20));
  const processing = (await upload(t, owner, await jpegBytes(20, 20))).body;
  const failed = (await upload(t, owner, damagedJpeg(await jpegBytes(32, 32, { pattern: "noise" })))).body;
  assert.equal(await processMedia(t.platform, failed.id), "failed");
  const eleven = [];
  for (let i = 0; i < 11; i++) {
    eleven.push((await upload(t, owner, pdfBytes(i), { filename: `${i}.pdf` })).body.id);
  }

  const cases: [string, unknown][] = [
    ["someone else's", [{ media_id: theirs.id }]],
    ["processing", [{ media_id: processing.id }]],
    ["failed", [{ media_id: failed.id }]],
    ["the same twice", [{ media_id: mine.id }, { media_id: mine.id }]],
    ["the same twice, differently cased", [{ media_id: mine.id }, { media_id: mine.id.toUpperCase() }]],
    ["11 items", eleven.map((media_id) => ({ media_id }))],
    ["not a uuid", [{ media_id: "not-a-uuid" }]],
    ["unknown id", [{ media_id: crypto.randomUUID() }]],
    ["extra keys", [{ media_id: mine.id, url: "https://evil.example/x.jpg" }]],
    ["not a list", { media_id: mine.id }],
  ];
  const before = await messageCount(t, room.id);
  for (const [what, attachments] of cases) {
    const res = await post(t, owner, room.id, attachments, "hello");
    assert.equal(res.status, 422, `${what}: ${JSON.stringify(res.body)}`);
    const details = JSON.stringify(res.body.error);
    assert.match(details, /attachments/, what);
  }
  assert.equal(await messageCount(t, room.id), before);
  // The other member cannot attach the owner's upload either.
  const res = await post(t, other, room.id, [{ media_id: mine.id }], "mine now");
  assert.equal(res.status, 422);
  assert.equal(await messageCount(t, room.id), before);
});

appTest("[media attachments] the trigger refuses someone else's media through SQL too", async (t) => {
  const owner = await randomUser(t);
  const other = await randomUser(t);
  const room = await roomWith(t, owner, [other]);
  const theirs = await readyImage(t, other, await jpegBytes(20, 20));
  const mine = await readyImage(t, owner, await jpegBytes(20, 20));
  const insert = (attachments: unknown) =>
    asUser(t.platform.db, memberClaims(owner), (tx) =>
      tx.query<{ attachments: unknown[] }>(
        `insert into public.messages (room_id, user_id, client_id, kind, body, attachments)
         values ($1, $2, $3, 'text', 'sql', $4::text::jsonb) returning attachments`,
        [room.id, owner.id, crypto.randomUUID(), JSON.stringify(attachments)],
      ));
  const before = await messageCount(t, room.id);
  await assert.rejects(insert([{ media_id: theirs.id }]), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, "23514", String(err.message));
    assert.match(String(err.message), /not a ready upload of the author/);
    return true;
  });
  // A forged snapshot is replaced by the real one.
  const [row] = await insert([{ media_id: mine.id, width: 9999, kind: "pdf", filename: "evil.exe" }]);
  assert.deepEqual(row.attachments, [{
    media_id: mine.id,
    kind: "image",
    mime: "image/jpeg",
    filename: "photo.jpg",
    bytes: mine.bytes,
    width: 20,
    height: 20,
    color: mine.color,
  }]);
  assert.equal(await messageCount(t, room.id), before + 1);
});
