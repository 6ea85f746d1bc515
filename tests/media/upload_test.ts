/** Uploads through POST /api/v1/media: accepted types, every refusal (storing nothing), idempotency, rate limit. */
import assert from "node:assert/strict";
import { appTest, type TestContext, withApp } from "../support/app.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import { gifBytes, jpegBytes, pngBytes, webpBytes } from "../support/images.ts";
import {
  assertNothingWritten,
  bytesOf,
  form,
  jpegWithComment,
  mp4Bytes,
  multipartBody,
  pdfBytes,
  pngDeclaring,
  rawUpload,
  storeState,
  streamOf,
  upload,
  webmBytes,
  zipBytes,
} from "../support/media.ts";

/** Runs `send`, expects a refusal with `status`/`code`, and checks nothing was written. */
async function expectRefused(
  t: TestContext,
  what: string,
  // deno-lint-ignore no-explicit-any
  send: () => Promise<{ status: number; body: any }>,
  status: number,
  code?: string,
) {
  const before = await storeState(t);
  const res = await send();
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  if (code) assert.equal(res.body?.error?.code, code, `${what}: ${JSON.stringify(res.body)}`);
  await assertNothingWritten(t, before, what);
}

appTest("[media upload] each accepted type: 201 with kind and mime decided by content", async (t) => {
  const user = await randomUser(t);
  const cases: [string, Uint8Array, string, string][] = [
    ["a.jpg", await jpegBytes(16, 12), "image", "image/jpeg"],
    ["a.png", await pngBytes(16, 12), "image", "image/png"],
    ["a.gif", await gifBytes(16, 12), "image", "image/gif"],
    ["a.webp", webpBytes(16, 12), "image", "image/webp"],
    ["a.pdf", pdfBytes(), "pdf", "application/pdf"],
    ["a.mp4", mp4Bytes(), "video", "video/mp4"],
    ["a.webm", webmBytes(), "video", "video/webm"],
  ];
  for (const [filename, bytes, kind, mime] of cases) {
    const res = await upload(t, user, bytes, { filename });
    assert.equal(res.status, 201, `${filename}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.kind, kind, filename);
    assert.equal(res.body.mime, mime, filename);
    assert.equal(res.body.owner_id, user.id);
    assert.equal(res.body.bytes, bytes.length, filename);
    assert.equal(res.body.filename, filename);
    if (kind === "image") {
      assert.equal(res.body.status, "processing", filename);
      assert.equal(res.body.urls, null, filename);
      continue;
    }
    // PDFs and videos are ready at once and served as they are, as downloads.
    assert.equal(res.body.status, "ready", filename);
    assert.deepEqual(Object.keys(res.body.urls), ["original"], filename);
    assert.deepEqual(res.body.variants, ["original"], filename);
    const served = await t.request(res.body.urls.original, { headers: user.bearer });
    assert.equal(served.status, 200, filename);
    assert.equal(served.headers.get("content-type"), mime, filename);
    assert.match(served.headers.get("content-disposition") ?? "", /^attachment;/, filename);
    assert.match(served.headers.get("content-disposition") ?? "", new RegExp(filename.replace(".", "\\.")));
    assert.deepEqual(new Uint8Array(await served.arrayBuffer()), bytes, filename);
  }
});

appTest("[media upload] the declared Content-Type and the file name do not decide the type", async (t) => {
  const user = await randomUser(t);
  const res = await upload(t, user, pdfBytes(), { filename: "photo.png", type: "image/png" });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.kind, "pdf");
  assert.equal(res.body.mime, "application/pdf");
  assert.equal(res.body.status, "ready");
  const keys = await t.platform.storage.list(`${res.body.id}/`);
  assert.deepEqual(keys, [`${res.body.id}/original.pdf`]);
});

appTest("[media upload] refuses unsupported types and polyglots, storing nothing", async (t) => {
  const user = await randomUser(t);
  const svg = bytesOf(
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">',
    "<script>alert(1)</script></svg>\n",
  );
  await expectRefused(
    t,
    "svg as png",
    () => upload(t, user, svg, { filename: "x.png", type: "image/png" }),
    415,
    "unsupported_type",
  );
  const html = bytesOf("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>");
  await expectRefused(
    t,
    "html as png",
    () => upload(t, user, html, { filename: "x.png", type: "image/png" }),
    415,
    "unsupported_type",
  );
  const scripted = jpegWithComment(await jpegBytes(16, 16), "<script>alert(1)</script>");
  await expectRefused(t, "jpeg with <script>", () => upload(t, user, scripted), 415, "polyglot");
  const gifZip = bytesOf(await gifBytes(8, 8), zipBytes());
  await expectRefused(
    t,
    "gif + zip",
    () => upload(t, user, gifZip, { filename: "x.gif" }),
    415,
    "polyglot",
  );
  await expectRefused(
    t,
    "zip",
    () => upload(t, user, zipBytes(), { filename: "x.zip" }),
    415,
    "unsupported_type",
  );
});

appTest("[media upload] refuses empty, truncated and oversized-in-pixels files", async (t) => {
  const user = await randomUser(t);
  await expectRefused(t, "empty", () => upload(t, user, new Uint8Array()), 422, "empty_file");
  const jpeg = await jpegBytes(32, 24);
  await expectRefused(
    t,
    "truncated jpeg",
    () => upload(t, user, jpeg.subarray(0, jpeg.length - 2)),
    422,
    "truncated",
  );
  const png = await pngBytes(32, 24);
  await expectRefused(
    t,
    "truncated png",
    () => upload(t, user, png.subarray(0, png.length - 12), { filename: "a.png" }),
    422,
    "truncated",
  );
  const huge = pngDeclaring(png, 100_000, 100_000);
  const started = performance.now();
  await expectRefused(
    t,
    "100000x100000 png",
    () => upload(t, user, huge, { filename: "a.png" }),
    422,
    "too_many_pixels",
  );
  assert.ok(performance.now() - started < 5000, "the pixel check decodes nothing");
});

appTest(
  "[media upload] over PLAZA_MEDIA_MAX_BYTES: 413 file_too_large by Content-Length and while streaming",
  async (t) => {
    const user = await randomUser(t);
    // Content-Length far over the limit: refused before reading (no garbage claim, nothing stored).
    const big = pdfBytes(100_000);
    await expectRefused(
      t,
      "content-length",
      () => upload(t, user, big, { filename: "big.pdf" }),
      413,
      "file_too_large",
    );
    // Under the framing allowance, so only the stream can tell.
    const over = pdfBytes(6_000);
    await expectRefused(
      t,
      "slightly over, with content-length",
      () => upload(t, user, over, { filename: "over.pdf" }),
      413,
      "file_too_large",
    );
    // No Content-Length at all: a streamed body.
    const boundary = "plazaBoundary123";
    const body = multipartBody(boundary, [{
      disposition: 'form-data; name="file"; filename="big.pdf"',
      type: "application/pdf",
      content: pdfBytes(200_000),
    }]);
    await expectRefused(
      t,
      "streamed",
      () =>
        rawUpload(t, user, streamOf(body), { "content-type": `multipart/form-data; boundary=${boundary}` }),
      413,
      "file_too_large",
    );
    // Just under the limit still works, streamed too.
    const fits = multipartBody(boundary, [{
      disposition: 'form-data; name="file"; filename="ok.pdf"',
      content: pdfBytes(3_000),
    }]);
    const ok = await rawUpload(t, user, streamOf(fits, 1000), {
      "content-type": `multipart/form-data; boundary=${boundary}`,
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.kind, "pdf");
  },
  { env: { PLAZA_MEDIA_MAX_BYTES: "4096" } },
);

/** A PDF of exactly `n` bytes. */
const pdfOfSize = (n: number) => pdfBytes(n - pdfBytes().length - 2);

/** Uploads `file` as a stream of 1000-byte chunks (as a slow network delivers it). */
function streamedUpload(t: TestContext, user: TestUser, file: Uint8Array, filename = "a.pdf") {
  const boundary = "plazaQuota";
  const body = multipartBody(boundary, [{
    disposition: `form-data; name="file"; filename="${filename}"`,
    content: file,
  }]);
  return rawUpload(t, user, streamOf(body, 1000), {
    "content-type": `multipart/form-data; boundary=${boundary}`,
  });
}

appTest(
  "[media upload] over PLAZA_MEDIA_QUOTA_BYTES: 413 quota_exceeded",
  async (t) => {
    const user = await randomUser(t);
    const first = await streamedUpload(t, user, pdfOfSize(12_000));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.stored_bytes, 12_000);
    await expectRefused(
      t,
      "past the quota",
      () => streamedUpload(t, user, pdfOfSize(12_000)),
      413,
      "quota_exceeded",
    );
    // Someone else has their own quota.
    const other = await randomUser(t);
    assert.equal((await streamedUpload(t, other, pdfOfSize(12_000))).status, 201);
    // Filling it up exactly works; then anything more is refused before reading.
    const fill = await streamedUpload(t, user, pdfOfSize(8_000));
    assert.equal(fill.status, 201, JSON.stringify(fill.body));
    await expectRefused(
      t,
      "quota full",
      () => upload(t, user, pdfBytes(), { filename: "d.pdf" }),
      413,
      "quota_exceeded",
    );
    // Deleting frees the space again.
    const del = await t.request(`/api/v1/media/${fill.body.id}`, { method: "DELETE", headers: user.bearer });
    assert.equal(del.status, 204);
    assert.equal((await upload(t, user, pdfBytes(), { filename: "e.pdf" })).status, 201);
  },
  { env: { PLAZA_MEDIA_QUOTA_BYTES: "20000" } },
);

// When the room left in the quota is smaller than the first bytes read to sniff the type (up to 4 KB,
// or the first network chunk), the refusal still names the quota, not the size limit.
Deno.test({
  name: "[media upload] quota exceeded within the first chunk is still quota_exceeded",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const user = await randomUser(t);
      assert.equal((await upload(t, user, pdfOfSize(2_500), { filename: "a.pdf" })).status, 201);
      await expectRefused(
        t,
        "past the quota",
        () => upload(t, user, pdfOfSize(2_500), { filename: "b.pdf" }),
        413,
        "quota_exceeded",
      );
    }, { env: { PLAZA_MEDIA_QUOTA_BYTES: "4096" } }),
});

appTest("[media upload] broken multipart, extra files and fields: 400, nothing stored", async (t) => {
  const user = await randomUser(t);
  const boundary = "plazaBoundary456";
  const ct = { "content-type": `multipart/form-data; boundary=${boundary}` };
  const pdf = pdfBytes();
  const filePart = { disposition: 'form-data; name="file"; filename="a.pdf"', content: pdf };
  await expectRefused(
    t,
    "no close delimiter",
    () => rawUpload(t, user, multipartBody(boundary, [filePart], false), ct),
    400,
    "bad_multipart",
  );
  await expectRefused(
    t,
    "garbage",
    () => rawUpload(t, user, bytesOf("this is not multipart at all\r\n\r\n"), ct),
    400,
    "bad_multipart",
  );
  await expectRefused(
    t,
    "application/json",
    () => rawUpload(t, user, JSON.stringify({ file: "x" }), { "content-type": "application/json" }),
    400,
    "bad_multipart",
  );
  await expectRefused(
    t,
    "no boundary",
    () => rawUpload(t, user, multipartBody(boundary, [filePart]), { "content-type": "multipart/form-data" }),
    400,
    "bad_multipart",
  );
  await expectRefused(
    t,
    "empty form",
    () => rawUpload(t, user, bytesOf(`--${boundary}--\r\n`), ct),
    400,
    "bad_multipart",
  );
  const second = { disposition: 'form-data; name="file"; filename="b.pdf"', content: pdf };
  await expectRefused(
    t,
    "two files",
    () => rawUpload(t, user, multipartBody(boundary, [filePart, second]), ct),
    400,
    "too_many_files",
  );
  await expectRefused(
    t,
    "two files via FormData",
    () =>
      t.request("/api/v1/media", {
        method: "POST",
        headers: user.bearer,
        body: form([{ bytes: pdf, filename: "a.pdf" }, { bytes: pdf, filename: "b.pdf" }]),
      }).then(async (r) => ({ status: r.status, body: await r.json() })),
    400,
    "too_many_files",
  );
  await expectRefused(
    t,
    "field not named file",
    () =>
      t.request("/api/v1/media", {
        method: "POST",
        headers: user.bearer,
        body: form([{ name: "upload", bytes: pdf, filename: "a.pdf" }]),
      }).then(async (r) => ({ status: r.status, body: await r.json() })),
    400,
    "bad_multipart",
  );
  const textField = { disposition: 'form-data; name="file"', content: bytesOf("just text") };
  await expectRefused(
    t,
    "file field without a filename",
    () => rawUpload(t, user, multipartBody(boundary, [textField]), ct),
    400,
    "bad_multipart",
  );
});

appTest("[media upload] signed out: 401, nothing stored", async (t) => {
  await expectRefused(
    t,
    "signed out",
    () => rawUpload(t, null, form([{ bytes: pdfBytes(), filename: "a.pdf" }])),
    401,
    "unauthorized",
  );
});

appTest("[media upload] Idempotency-Key: the same key twice gives one row; a bad key is 422", async (t) => {
  const user = await randomUser(t);
  const key = `upload-${crypto.randomUUID()}`;
  const first = await upload(t, user, pdfBytes(), { filename: "a.pdf", headers: { "idempotency-key": key } });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const before = await storeState(t);
  const again = await upload(t, user, pdfBytes(10), {
    filename: "b.pdf",
    headers: { "idempotency-key": key },
  });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.id, first.body.id);
  assert.equal(again.body.filename, "a.pdf");
  await assertNothingWritten(t, before, "replayed key");
  const [{ n }] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.media where owner_id = $1",
    [user.id],
  );
  assert.equal(Number(n), 1);
  // Another person may use the same key for their own upload.
  const other = await randomUser(t);
  const theirs = await upload(t, other, pdfBytes(), { headers: { "idempotency-key": key } });
  assert.equal(theirs.status, 201);
  assert.notEqual(theirs.body.id, first.body.id);
  for (const bad of ["has space", "x".repeat(101), "semi;colon", "a/b"]) {
    await expectRefused(
      t,
      `key ${bad}`,
      () => upload(t, user, pdfBytes(), { filename: "a.pdf", headers: { "idempotency-key": bad } }),
      422,
    );
  }
});

/** Sends `n` empty uploads (counted by the rate limiter before validation). */
async function emptyUploads(t: TestContext, user: TestUser, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await upload(t, user, new Uint8Array())).status);
  return statuses;
}

appTest("[media upload] the 61st upload within 10 minutes is 429", async (t) => {
  const user = await randomUser(t);
  const statuses = await emptyUploads(t, user, 60);
  assert.ok(statuses.every((s) => s === 422), JSON.stringify([...new Set(statuses)]));
  const before = await storeState(t);
  const res = await upload(t, user, pdfBytes(), { filename: "a.pdf" });
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.equal(res.body.error.code, "rate_limited");
  await assertNothingWritten(t, before, "rate limited");
  // Per person: someone else still uploads.
  const other = await randomUser(t);
  assert.equal((await upload(t, other, pdfBytes(), { filename: "a.pdf" })).status, 201);
});
