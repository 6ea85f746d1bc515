/** Event covers on the pages: the event page, the list, and the form's `cover_media_id` round trip. */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { api, createEvent } from "../support/events.ts";
import { browser, randomUser, type TestUser } from "../support/factories.ts";
import { jpegBytes } from "../support/images.ts";
import { readyImage } from "../support/media.ts";

function page(t: TestContext, user: TestUser | null, path: string) {
  return t.request(path, { headers: { ...browser(user?.cookies ?? ""), accept: "text/html" } });
}

function post(t: TestContext, user: TestUser, path: string, body: Record<string, string>) {
  return t.request(path, {
    method: "POST",
    headers: {
      ...browser(user.cookies),
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html",
    },
    body: new URLSearchParams(body),
  });
}

const YEAR = new Date().getUTCFullYear() + 1;

function formValues(extra: Record<string, string> = {}): Record<string, string> {
  return {
    title: `Cover night ${crypto.randomUUID().slice(0, 6)}`,
    description: "",
    category: "social",
    starts_at: `${YEAR}-11-04T18:00`,
    ends_at: `${YEAR}-11-04T21:00`,
    timezone: "Europe/Berlin",
    venue_name: "Hall",
    venue_address: "",
    venue_lat: "",
    venue_lng: "",
    online_url: "",
    capacity: "",
    visibility: "public",
    status: "published",
    repeat: "none",
    repeat_count: "8",
    rrule: "",
    ...extra,
  };
}

const escaped = (s: string) => s.replaceAll("&", "&amp;");
const idFrom = (location: string | null) => /^\/events\/([0-9a-f-]{36})$/.exec(location ?? "")?.[1];

appTest("[media pages] the event page and the list show the cover", async (t) => {
  const org = await randomUser(t, "org");
  const image = await readyImage(t, org, await jpegBytes(640, 360));
  const event = await createEvent(t, org, { title: "With a cover", cover_media_id: image.id });
  assert.equal(event.cover.id, image.id);

  const res = await page(t, null, `/events/${event.id}`);
  assert.equal(res.status, 200);
  const html = await res.text();
  const img = /<img[^>]*data-testid="event-cover"[^>]*>/.exec(html)?.[0] ?? "";
  assert.ok(img, "the cover image is on the page");
  assert.ok(img.includes(`src="${escaped(event.cover.url)}"`), img);
  assert.match(img, /width="640"/);
  assert.match(img, /height="360"/);
  assert.doesNotMatch(html, /style="/, "no inline styles (CSP)");
  // The image itself is served to anyone for a public event.
  const served = await t.request(event.cover.url);
  assert.equal(served.status, 200);
  assert.match(served.headers.get("content-type") ?? "", /image\//);
  await served.body?.cancel();

  const list = await (await page(t, null, "/events")).text();
  const card = new RegExp(`<img[^>]*src="${escaped(event.cover.thumb_url).replace(/[?]/g, "\\?")}"[^>]*>`);
  assert.match(list, card);

  // An event without a cover has no cover image.
  const plain = await createEvent(t, org, { title: "No cover" });
  assert.equal(plain.cover, null);
  const plainHtml = await (await page(t, null, `/events/${plain.id}`)).text();
  assert.doesNotMatch(plainHtml, /data-testid="event-cover"/);
});

appTest("[media pages] the event form creates with a cover and an edit removes it", async (t) => {
  const org = await randomUser(t, "org");
  const image = await readyImage(t, org, await jpegBytes(400, 300));

  // The new-event form carries the picker and an empty hidden field.
  const form = await (await page(t, org, "/events/new")).text();
  assert.match(form, /data-island="CoverPicker"/);
  assert.match(form, /<input type="hidden" name="cover_media_id" value(="")?\/>/);

  const created = await post(t, org, "/events/new", formValues({ cover_media_id: image.id }));
  assert.equal(created.status, 303, await created.text());
  const id = idFrom(created.headers.get("location"))!;
  const got = await api(t, org, "GET", `/events/${id}`);
  assert.equal(got.body.event?.cover?.id ?? got.body.cover?.id, image.id, JSON.stringify(got.body));

  // The edit form shows the current cover and keeps its id in the hidden field.
  const edit = await (await page(t, org, `/events/${id}/edit`)).text();
  assert.match(edit, new RegExp(`<input type="hidden" name="cover_media_id" value="${image.id}"`));
  assert.match(edit, /data-testid="cover-preview"/);

  // Saving without touching the picker keeps the cover; a form without the field leaves it too.
  const kept = await post(
    t,
    org,
    `/events/${id}/edit`,
    formValues({ title: "Renamed", cover_media_id: image.id }),
  );
  assert.equal(kept.status, 303, await kept.text());
  const { cover_media_id: _, ...withoutField } = formValues({ title: "Renamed again" });
  const kept2 = await post(t, org, `/events/${id}/edit`, withoutField);
  assert.equal(kept2.status, 303, await kept2.text());
  let now = await api(t, org, "GET", `/events/${id}`);
  assert.equal((now.body.event ?? now.body).cover?.id, image.id);

  // An empty value removes it.
  const removed = await post(t, org, `/events/${id}/edit`, formValues({ cover_media_id: "" }));
  assert.equal(removed.status, 303, await removed.text());
  now = await api(t, org, "GET", `/events/${id}`);
  assert.equal((now.body.event ?? now.body).cover, null);
  const html = await (await page(t, org, `/events/${id}`)).text();
  assert.doesNotMatch(html, /data-testid="event-cover"/);

  // Someone else's image, or something that is not an id, comes back as a field error.
  const other = await randomUser(t, "other");
  const theirs = await readyImage(t, other, await jpegBytes(200, 200));
  const refused = await post(t, org, `/events/${id}/edit`, formValues({ cover_media_id: theirs.id }));
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /Cover image:/);
  const junk = await post(t, org, "/events/new", formValues({ cover_media_id: "not-an-id" }));
  assert.equal(junk.status, 422);
  assert.match(await junk.text(), /Cover image: Choose the image again/);

  // And the form still works without any cover at all.
  const bare = await post(t, org, "/events/new", formValues({ cover_media_id: "" }));
  assert.equal(bare.status, 303, await bare.text());
});
