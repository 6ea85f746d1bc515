/**
 * The media pages: `/media` (signed in only, usage line, islands, `?kind=` filter, the no-JavaScript
 * upload and delete forms) and `/admin/media` (admins only, tabs, hide / restore / dismiss / delete
 * as plain form posts that redirect back to the same filter).
 *
 * An unknown `?kind=` is ignored (all kinds are shown), by design: see routes/pages/media.tsx.
 */
import assert from "node:assert/strict";
import { formatBytes } from "@/lib/media/upload.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { browser, randomAdmin, randomUser, type TestUser } from "../support/factories.ts";
import { jpegBytes } from "../support/images.ts";
import { bytesOf, form, pdfBytes, readyImage, upload } from "../support/media.ts";

const page = (t: TestContext, path: string, user?: TestUser) =>
  t.request(path, { headers: { accept: "text/html", ...(user ? { cookie: user.cookies } : {}) } });

const post = (t: TestContext, path: string, user: TestUser, body: Record<string, string> = {}) =>
  t.request(path, {
    method: "POST",
    headers: {
      ...browser(user.cookies),
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html",
    },
    body: new URLSearchParams(body),
  });

async function html(res: Response, status = 200): Promise<string> {
  const body = await res.text();
  assert.equal(res.status, status, body.slice(0, 500));
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  return body;
}

/** The MediaLibrary island's props as rendered into the page. */
function libraryProps(
  body: string,
): { initial: { items: { filename: string; kind: string }[] }; kind: string } {
  const m = body.match(/data-island="MediaLibrary" data-props="([^"]*)"/);
  assert.ok(m, "the library island is on the page");
  const raw = m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
  return JSON.parse(raw);
}

appTest("[media pages] /media redirects signed-out visitors to sign in", async (t) => {
  const res = await page(t, "/media");
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/login?next=%2Fmedia");
});

appTest("[media pages] /media shows usage, the uploader, the library and the noscript form", async (t) => {
  const ana = await randomUser(t, "ana");
  const empty = await html(await page(t, "/media", ana));
  assert.match(empty, /<h1>Media<\/h1>/);
  assert.match(empty, /Using 0 bytes of 1 GB/);
  assert.match(empty, /data-island="MediaUploader"/);
  assert.match(empty, /data-island="MediaLibrary"/);
  assert.match(empty, /Nothing uploaded yet/);
  assert.match(empty, /<noscript>[\s\S]*enctype="multipart\/form-data"[\s\S]*name="file"[\s\S]*<\/noscript>/);
  assert.doesNotMatch(empty, / style="/, "no inline styles (CSP)");

  const photo = await readyImage(t, ana, await jpegBytes(64, 48), "beach.jpg");
  assert.equal((await upload(t, ana, pdfBytes(), { filename: "minutes.pdf" })).status, 201);
  const full = await html(await page(t, "/media", ana));
  const used = formatBytes(photo.stored_bytes + pdfBytes().length);
  assert.match(full, new RegExp(`Using ${used.replace(".", "\\.")} of 1 GB`));
  assert.match(full, /beach\.jpg/);
  assert.match(full, /minutes\.pdf/);
  assert.match(full, /width="64" height="48"/, "thumbnails carry their size");

  // Someone else's library is their own.
  const ben = await randomUser(t, "ben");
  assert.doesNotMatch(await html(await page(t, "/media", ben)), /beach\.jpg/);
});

appTest("[media pages] ?kind= filters the library; an unknown kind is ignored", async (t) => {
  const ana = await randomUser(t, "ana");
  await readyImage(t, ana, await jpegBytes(32, 32), "cat.jpg");
  assert.equal((await upload(t, ana, pdfBytes(), { filename: "doc.pdf" })).status, 201);

  const images = await html(await page(t, "/media?kind=image", ana));
  const props = libraryProps(images);
  assert.equal(props.kind, "image");
  assert.deepEqual(props.initial.items.map((m) => m.filename), ["cat.jpg"]);
  assert.match(images, /href="\/media\?kind=image" aria-current="page"/);

  const pdfs = libraryProps(await html(await page(t, "/media?kind=pdf", ana)));
  assert.deepEqual(pdfs.initial.items.map((m) => m.filename), ["doc.pdf"]);

  const bogus = libraryProps(await html(await page(t, "/media?kind=spreadsheet", ana)));
  assert.equal(bogus.kind, null);
  assert.deepEqual(bogus.initial.items.map((m) => m.filename).sort(), ["cat.jpg", "doc.pdf"]);
});

appTest("[media pages] the noscript form uploads a real multipart body and redirects back", async (t) => {
  const ana = await randomUser(t, "ana");
  const res = await t.request("/media", {
    method: "POST",
    headers: browser(ana.cookies, { accept: "text/html" }),
    body: form([{ filename: "sunset.jpg", type: "image/jpeg", bytes: await jpegBytes(40, 30) }]),
  });
  assert.equal(res.status, 303, await res.clone().text());
  assert.equal(res.headers.get("location"), "/media");
  const body = await html(await page(t, "/media", ana));
  assert.match(body, /sunset\.jpg/);
  const [row] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.media where owner_id = $1",
    [ana.id],
  );
  assert.equal(row.n, 1);
});

appTest("[media pages] a refused noscript upload re-renders the page with the message", async (t) => {
  const ana = await randomUser(t, "ana");
  const svg = bytesOf(
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">',
    "<script>alert(1)</script></svg>\n",
  );
  const res = await t.request("/media", {
    method: "POST",
    headers: browser(ana.cookies, { accept: "text/html" }),
    body: form([{ filename: "logo.png", type: "image/png", bytes: svg }]),
  });
  const body = await html(res, 415);
  assert.match(body, /data-testid="upload-error"/);
  assert.match(body, /not supported/);
  assert.match(body, /<h1>Media<\/h1>/);
  const [row] = await t.platform.db.query<{ n: number }>("select count(*)::int as n from public.media");
  assert.equal(row.n, 0);

  // Empty file: 422 with the same wording the uploader uses before sending.
  const empty = await t.request("/media", {
    method: "POST",
    headers: browser(ana.cookies, { accept: "text/html" }),
    body: form([{ filename: "empty.jpg", bytes: new Uint8Array() }]),
  });
  assert.match(await html(empty, 422), /The file is empty\./);
});

appTest("[media pages] the no-JavaScript delete form removes an item", async (t) => {
  const ana = await randomUser(t, "ana");
  const up = await upload(t, ana, pdfBytes(), { filename: "old.pdf" });
  const res = await post(t, `/media/${up.body.id}/delete`, ana);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/media");
  assert.doesNotMatch(await html(await page(t, "/media", ana)), /old\.pdf/);
});

appTest("[media pages] /admin/media is for admins: members get 403, signed out sign in", async (t) => {
  const member = await randomUser(t, "member");
  const out = await page(t, "/admin/media");
  assert.equal(out.status, 303);
  assert.match(out.headers.get("location") ?? "", /^\/login\?next=/);
  assert.equal((await page(t, "/admin/media", member)).status, 403);
  const up = await upload(t, member, pdfBytes());
  assert.equal((await post(t, `/admin/media/${up.body.id}/hide`, member, { reason: "x" })).status, 403);
});

appTest("[media pages] admins hide, restore, dismiss and delete through the forms", async (t) => {
  const admin = await randomAdmin(t);
  const ana = await randomUser(t, "ana");
  const ben = await randomUser(t, "ben");
  const photo = await readyImage(t, ana, await jpegBytes(48, 48), "rude.jpg");
  // Members report what they can see (shared in a room); here the report row is written directly.
  await t.platform.db.query(
    "insert into public.media_reports (media_id, reporter_id, reason) values ($1, $2, 'Offensive')",
    [photo.id, ben.id],
  );

  const empty = await html(await page(t, "/admin/media?filter=hidden", admin));
  assert.match(empty, /Nothing is hidden\./);

  const queue = await html(await page(t, "/admin/media", admin));
  assert.match(queue, /Media moderation/);
  assert.match(queue, /rude\.jpg/);
  assert.match(queue, /Offensive/);
  assert.match(queue, new RegExp(`By ${ana.name}`));
  assert.match(queue, /\/media\/[0-9a-f-]+\/thumb\?/);

  // Hide with a reason: back to the same filter.
  let res = await post(t, `/admin/media/${photo.id}/hide`, admin, { reason: "Not OK here", filter: "all" });
  assert.equal(res.status, 303);
  assert.match(res.headers.get("location") ?? "", /^\/admin\/media\?filter=all&done=hide/);
  const hidden = await html(await page(t, "/admin/media?filter=hidden", admin));
  assert.match(hidden, /rude\.jpg/);
  assert.match(hidden, /Hidden: Not OK here/);
  assert.match(await html(await page(t, "/admin/media?filter=reported", admin)), /No open reports/);

  // Restore.
  res = await post(t, `/admin/media/${photo.id}/restore`, admin, { filter: "hidden" });
  assert.equal(res.status, 303);
  assert.match(res.headers.get("location") ?? "", /^\/admin\/media\?filter=hidden&done=restore/);
  assert.match(await html(await page(t, "/admin/media?filter=hidden", admin)), /Nothing is hidden/);

  // A new report, dismissed.
  await t.platform.db.query(
    "insert into public.media_reports (media_id, reporter_id, reason) values ($1, $2, 'Again')",
    [photo.id, admin.id],
  );
  assert.match(await html(await page(t, "/admin/media", admin)), /Again/);
  res = await post(t, `/admin/media/${photo.id}/dismiss`, admin, { filter: "reported" });
  assert.equal(res.status, 303);
  assert.match(await html(await page(t, "/admin/media", admin)), /No open reports/);

  // Delete.
  res = await post(t, `/admin/media/${photo.id}/delete`, admin, { filter: "all" });
  assert.equal(res.status, 303);
  assert.match(res.headers.get("location") ?? "", /done=delete/);
  const [row] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.media where id = $1",
    [photo.id],
  );
  assert.equal(row.n, 0);
  assert.match(
    await html(await page(t, "/admin/media?filter=all", admin)),
    /Nobody has uploaded anything yet/,
  );

  // Unknown item: 404.
  const missing = await post(t, `/admin/media/${crypto.randomUUID()}/hide`, admin, { reason: "" });
  assert.equal(missing.status, 404);
});

appTest("[media pages] the admin notice shows only known actions, never text from the URL", async (t) => {
  const admin = await randomAdmin(t);
  const page = async (done: string) =>
    await (await t.request(`/admin/media?filter=all&done=${encodeURIComponent(done)}`, {
      headers: browser(admin.cookies),
    })).text();
  assert.match(await page("hide"), /role="status">Hidden\./);
  assert.doesNotMatch(await page("Your account is suspended"), /Your account is suspended/);
});
