/** Event cover images: cover_media_id on create and PATCH, the event view's cover, serving through the event. */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser } from "../support/factories.ts";
import { api, createEvent, eventBody } from "../support/events.ts";
import { jpegBytes } from "../support/images.ts";
import { damagedJpeg, pdfBytes, readyImage, upload } from "../support/media.ts";
import { processMedia } from "@/lib/media/process.ts";

async function fetchStatus(t: TestContext, url: string, headers: Record<string, string> = {}) {
  const res = await t.request(url, { headers });
  await res.body?.cancel();
  return {
    status: res.status,
    cache: res.headers.get("cache-control"),
    type: res.headers.get("content-type"),
  };
}

appTest(
  "[media covers] a public event's cover: in the view, served signed out with a public cache header",
  async (t) => {
    const organizer = await randomUser(t);
    const image = await readyImage(t, organizer, await jpegBytes(64, 48));
    const event = await createEvent(t, organizer, { cover_media_id: image.id });
    assert.equal(event.cover.id, image.id);
    assert.equal(event.cover.color, image.color);
    assert.equal(event.cover.width, 64);
    assert.equal(event.cover.height, 48);
    assert.equal(event.cover.url, `/media/${image.id}/medium?event=${event.id}`);
    assert.equal(event.cover.thumb_url, `/media/${image.id}/thumb?event=${event.id}`);

    // Signed out: the event page (and its cover) are public.
    const view = await t.request(`/api/v1/events/${event.id}`);
    assert.equal(view.status, 200);
    const { event: anonView } = await view.json();
    assert.deepEqual(anonView.cover, event.cover);
    for (const url of [event.cover.url, event.cover.thumb_url]) {
      const res = await fetchStatus(t, url);
      assert.equal(res.status, 200, url);
      assert.equal(res.type, "image/jpeg");
      assert.match(res.cache ?? "", /^public\b/, url);
    }
    // Without the event parameter, a public event's cover still works signed out (immutable).
    const plain = await fetchStatus(t, `/media/${image.id}/full`);
    assert.equal(plain.status, 200);
    assert.equal(plain.cache, "public, max-age=31536000, immutable");
    // Signed-in strangers see it too, and may read the metadata (RLS: it covers a visible event).
    const stranger = await randomUser(t);
    assert.equal((await fetchStatus(t, event.cover.url, stranger.bearer)).status, 200);
    assert.equal((await api(t, stranger, "GET", `/media/${image.id}`)).status, 200);
    // The wrong event id, or garbage: 404.
    const other = await createEvent(t, organizer);
    assert.equal(
      (await fetchStatus(t, `/media/${image.id}/medium?event=${other.id}`, stranger.bearer)).status,
      404,
    );
    assert.equal((await fetchStatus(t, `/media/${image.id}/medium?event=nope`, stranger.bearer)).status, 404);
  },
);

appTest("[media covers] a members-only event's cover is served only to signed-in viewers", async (t) => {
  const organizer = await randomUser(t);
  const image = await readyImage(t, organizer, await jpegBytes(64, 48));
  const event = await createEvent(t, organizer, { cover_media_id: image.id, visibility: "members" });
  assert.ok(event.cover);
  const member = await randomUser(t);
  const signedIn = await fetchStatus(t, event.cover.url, member.bearer);
  assert.equal(signedIn.status, 200);
  assert.match(signedIn.cache ?? "", /^private\b/);
  const signedOut = await fetchStatus(t, event.cover.url);
  assert.notEqual(signedOut.status, 200);
  assert.ok([401, 404].includes(signedOut.status), String(signedOut.status));
  const plain = await fetchStatus(t, `/media/${image.id}/medium`);
  assert.equal(plain.status, 401, "not public: no unsigned access");
  // A draft (or invite-only) event's cover is not public either.
  const image2 = await readyImage(t, organizer, await jpegBytes(32, 32));
  const draft = await createEvent(t, organizer, { cover_media_id: image2.id, status: "draft" });
  assert.equal((await fetchStatus(t, `/media/${image2.id}/medium`)).status, 401);
  assert.equal(
    (await fetchStatus(t, `/media/${image2.id}/medium?event=${draft.id}`, member.bearer)).status,
    404,
  );
  assert.equal(
    (await fetchStatus(t, `/media/${image2.id}/medium?event=${draft.id}`, organizer.bearer)).status,
    200,
  );
});

appTest(
  "[media covers] only your own images: someone else's, a PDF, a failed or unknown id → 422",
  async (t) => {
    const organizer = await randomUser(t);
    const other = await randomUser(t);
    const theirs = await readyImage(t, other, await jpegBytes(20, 20));
    const pdf = (await upload(t, organizer, pdfBytes(), { filename: "a.pdf" })).body;
    const failed =
      (await upload(t, organizer, damagedJpeg(await jpegBytes(32, 32, { pattern: "noise" })))).body;
    assert.equal(await processMedia(t.platform, failed.id), "failed");
    const [{ n: before }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.events",
    );
    const cases = [["someone else's", theirs.id], ["a pdf", pdf.id], ["failed", failed.id], [
      "unknown",
      crypto.randomUUID(),
    ]];
    for (const [what, id] of cases) {
      const res = await api(t, organizer, "POST", "/events", eventBody({ cover_media_id: id }));
      assert.equal(res.status, 422, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(JSON.stringify(res.body.error), /cover_media_id/, what);
    }
    const bad = await api(t, organizer, "POST", "/events", eventBody({ cover_media_id: "nope" }));
    assert.equal(bad.status, 422);
    const [{ n: after }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.events",
    );
    assert.equal(Number(after), Number(before), "no event was written");
  },
);

appTest("[media covers] PATCH sets, replaces and clears the cover", async (t) => {
  const organizer = await randomUser(t);
  const other = await randomUser(t);
  const first = await readyImage(t, organizer, await jpegBytes(40, 30));
  const second = await readyImage(t, organizer, await jpegBytes(30, 40));
  const theirs = await readyImage(t, other, await jpegBytes(20, 20));
  const event = await createEvent(t, organizer);
  assert.equal(event.cover, null);

  const set = await api(t, organizer, "PATCH", `/events/${event.id}`, { cover_media_id: first.id });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const view = async () => (await api(t, organizer, "GET", `/events/${event.id}`)).body.event;
  assert.equal((await view()).cover.id, first.id);

  const replace = await api(t, organizer, "PATCH", `/events/${event.id}`, { cover_media_id: second.id });
  assert.equal(replace.status, 200);
  assert.deepEqual([(await view()).cover.width, (await view()).cover.height], [30, 40]);

  const stolen = await api(t, organizer, "PATCH", `/events/${event.id}`, { cover_media_id: theirs.id });
  assert.equal(stolen.status, 422);
  assert.match(JSON.stringify(stolen.body.error), /cover_media_id/);
  assert.equal((await view()).cover.id, second.id);
  // Changing something else keeps the cover.
  assert.equal((await api(t, organizer, "PATCH", `/events/${event.id}`, { title: "Renamed" })).status, 200);
  assert.equal((await view()).cover.id, second.id);

  const clear = await api(t, organizer, "PATCH", `/events/${event.id}`, { cover_media_id: null });
  assert.equal(clear.status, 200);
  assert.equal((await view()).cover, null);
  assert.equal((await fetchStatus(t, `/media/${second.id}/medium`)).status, 401, "no longer public");

  // Deleting the image clears the cover.
  await api(t, organizer, "PATCH", `/events/${event.id}`, { cover_media_id: first.id });
  const del = await t.request(`/api/v1/media/${first.id}`, { method: "DELETE", headers: organizer.bearer });
  assert.equal(del.status, 204);
  assert.equal((await view()).cover, null);
});

appTest("[media covers] a hidden cover disappears from the event and is not served", async (t) => {
  const organizer = await randomUser(t);
  const image = await readyImage(t, organizer, await jpegBytes(40, 30));
  const event = await createEvent(t, organizer, { cover_media_id: image.id });
  await t.platform.db.query("update public.media set hidden_at = now() where id = $1", [image.id]);
  const view = await (await t.request(`/api/v1/events/${event.id}`)).json();
  assert.equal(view.event.cover, null);
  assert.equal((await fetchStatus(t, event.cover.url)).status, 404);
  assert.equal((await fetchStatus(t, `/media/${image.id}/medium`)).status, 404);
  assert.equal((await fetchStatus(t, `/media/${image.id}/medium`, organizer.bearer)).status, 200);
});
