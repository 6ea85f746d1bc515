/** Serving GET /media/:id/:variant: owner, signed URLs, expiry, tampering, caching headers, hidden media. */
import assert from "node:assert/strict";
import { signedPath } from "@/lib/media/urls.ts";
import { appTest } from "../support/app.ts";
import { browser, randomAdmin, randomUser } from "../support/factories.ts";
import { api } from "../support/chat.ts";
import { jpegBytes } from "../support/images.ts";
import { readyImage, upload } from "../support/media.ts";
import { pdfBytes } from "../support/media.ts";

const VARIANTS = ["thumb", "medium", "full"] as const;

function assertSafeHeaders(res: Response, what: string) {
  assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
  assert.equal(res.headers.get("content-security-policy"), "default-src 'none'; sandbox", what);
}

appTest("[media serving] the owner gets every variant by bearer and by cookie, unsigned", async (t) => {
  const owner = await randomUser(t);
  const item = await readyImage(t, owner, await jpegBytes(40, 30));
  for (const variant of VARIANTS) {
    for (const [how, headers] of [["bearer", owner.bearer], ["cookie", browser(owner.cookies)]] as const) {
      const res = await t.request(`/media/${item.id}/${variant}`, { headers });
      assert.equal(res.status, 200, `${variant} by ${how}`);
      assert.equal(res.headers.get("content-type"), "image/jpeg");
      assert.equal(res.headers.get("cache-control"), "private, max-age=300");
      assert.equal(res.headers.get("etag"), `"${item.id}.${variant}"`);
      assert.equal(res.headers.get("content-disposition"), null, "images are shown inline");
      assertSafeHeaders(res, `${variant} by ${how}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.equal(Number(res.headers.get("content-length")), bytes.length);
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
    }
  }
  // The owner's signed URLs from the API work too.
  for (const variant of VARIANTS) {
    const res = await t.request(item.urls[variant], { headers: owner.bearer });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
});

appTest(
  "[media serving] strangers need a signature; signed URLs work for anyone until they expire",
  async (t) => {
    const owner = await randomUser(t);
    const stranger = await randomUser(t);
    const item = await readyImage(t, owner, await jpegBytes(40, 30));
    const bare = `/media/${item.id}/medium`;

    const unsigned = await t.request(bare, { headers: stranger.bearer });
    assert.equal(unsigned.status, 404);
    assert.equal((await unsigned.json()).error.code, "not_found");
    const signedOutBare = await t.request(bare);
    assert.equal(signedOutBare.status, 401);
    await signedOutBare.body?.cancel();

    const url = item.urls.medium as string;
    assert.match(url, /^\/media\/[0-9a-f-]{36}\/medium\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    for (const headers of [stranger.bearer, browser(stranger.cookies), {}]) {
      const res = await t.request(url, { headers });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("cache-control") ?? "", /^private, max-age=\d+$/);
      assertSafeHeaders(res, "signed");
      await res.body?.cancel();
    }
    // A signature is for one variant only.
    const sig = new URL(url, "http://x").searchParams;
    const otherVariant = await t.request(
      `/media/${item.id}/full?exp=${sig.get("exp")}&sig=${sig.get("sig")}`,
    );
    assert.equal(otherVariant.status, 403);
    assert.equal((await otherVariant.json()).error.code, "bad_signature");

    // Tampered: one character of the signature changed, or a later expiry.
    const s = sig.get("sig")!;
    const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
    for (
      const bad of [
        `${bare}?exp=${sig.get("exp")}&sig=${flipped}`,
        `${bare}?exp=${Number(sig.get("exp")) + 3600}&sig=${s}`,
        `${bare}?exp=${sig.get("exp")}&sig=short`,
        `${bare}?exp=soon&sig=${s}`,
        `${bare}?sig=${s}`,
      ]
    ) {
      const res = await t.request(bad);
      assert.equal(res.status, 403, bad);
      const body = await res.json();
      assert.equal(body.error.code, "bad_signature", bad);
    }

    // Expired, though correctly signed.
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await signedPath(t.platform.mediaKey, item.id, "medium", past);
    const res = await t.request(expired, { headers: stranger.bearer });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "link_expired");
    // A future one made the same way works.
    const future = await signedPath(t.platform.mediaKey, item.id, "thumb", past + 7200);
    const ok = await t.request(future);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  },
);

appTest("[media serving] ETag / If-None-Match → 304; HEAD; unknown variants and ids → 404", async (t) => {
  const owner = await randomUser(t);
  const item = await readyImage(t, owner, await jpegBytes(40, 30));
  const first = await t.request(item.urls.thumb);
  const etag = first.headers.get("etag")!;
  assert.equal(etag, `"${item.id}.thumb"`);
  await first.body?.cancel();
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`]) {
    const res = await t.request(item.urls.thumb, { headers: { "if-none-match": inm } });
    assert.equal(res.status, 304, inm);
    assert.equal(await res.text(), "");
    assert.equal(res.headers.get("etag"), etag);
    assertSafeHeaders(res, "304");
  }
  const miss = await t.request(item.urls.thumb, { headers: { "if-none-match": `"${item.id}.full"` } });
  assert.equal(miss.status, 200);
  await miss.body?.cancel();
  // 304 does not bypass authorization.
  const stranger = await randomUser(t);
  const notMine = await t.request(`/media/${item.id}/thumb`, {
    headers: { ...stranger.bearer, "if-none-match": etag },
  });
  assert.equal(notMine.status, 404);
  await notMine.body?.cancel();

  const head = await t.request(`/media/${item.id}/full`, { method: "HEAD", headers: owner.bearer });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "image/jpeg");
  assert.ok(Number(head.headers.get("content-length")) > 0);
  assert.equal(await head.text(), "");

  for (
    const path of [
      `/media/${item.id}/original`,
      `/media/${item.id}/huge`,
      `/media/${item.id}/..%2Fsecret`,
      `/media/${crypto.randomUUID()}/thumb`,
      `/media/not-a-uuid/thumb`,
    ]
  ) {
    const res = await t.request(path, { headers: owner.bearer });
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
  // A PDF has only its original.
  const pdf = await upload(t, owner, pdfBytes(), { filename: "doc.pdf" });
  const thumb = await t.request(`/media/${pdf.body.id}/thumb`, { headers: owner.bearer });
  assert.equal(thumb.status, 404);
  await thumb.body?.cancel();
  const original = await t.request(pdf.body.urls.original);
  assert.equal(original.status, 200);
  assert.match(original.headers.get("content-disposition") ?? "", /^attachment; filename="doc\.pdf"/);
  assertSafeHeaders(original, "pdf");
  await original.body?.cancel();
});

appTest("[media serving] an item still processing is not served, not even to its owner", async (t) => {
  const owner = await randomUser(t);
  const up = await upload(t, owner, await jpegBytes(20, 20));
  assert.equal(up.body.status, "processing");
  for (const v of [...VARIANTS, "original"]) {
    const res = await t.request(`/media/${up.body.id}/${v}`, { headers: owner.bearer });
    assert.equal(res.status, 404, v);
    await res.body?.cancel();
  }
});

appTest(
  "[media serving] hidden media: 404 for a stranger even when signed, 200 for owner and admin",
  async (t) => {
    const owner = await randomUser(t);
    const stranger = await randomUser(t);
    const admin = await randomAdmin(t);
    const item = await readyImage(t, owner, await jpegBytes(40, 30));
    const before = await t.request(item.urls.full, { headers: stranger.bearer });
    assert.equal(before.status, 200);
    await before.body?.cancel();

    const hide = await api(t, admin, "POST", `/admin/media/${item.id}/hide`, { reason: "test" });
    assert.equal(hide.status, 200, JSON.stringify(hide.body));
    assert.equal(hide.body.hidden, true);

    for (const headers of [stranger.bearer, {}]) {
      const res = await t.request(item.urls.full, { headers });
      assert.equal(res.status, 404);
      await res.body?.cancel();
    }
    for (
      const [who, headers] of [["owner", owner.bearer], ["admin", admin.bearer], [
        "admin cookie",
        browser(admin.cookies),
      ]]
    ) {
      for (const v of VARIANTS) {
        const res = await t.request(`/media/${item.id}/${v}`, { headers: headers as Record<string, string> });
        assert.equal(res.status, 200, `${who} ${v}`);
        await res.body?.cancel();
      }
    }
  },
);
