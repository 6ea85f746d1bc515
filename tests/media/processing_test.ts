/** Processing (lib/media/process.ts): variant sizes, orientation, metadata stripping, damaged images, broadcasts. */
import assert from "node:assert/strict";
import { Image } from "imagescript";
import { processMedia } from "@/lib/media/process.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser, type TestUser } from "../support/factories.ts";
import { gifBytes, hasMetadata, jpegBytes, pngBytes, webpBytes, withExif } from "../support/images.ts";
import { damagedJpeg, processPending, readyImage, storedKeys, upload } from "../support/media.ts";

/** The served bytes of every variant of `item` (as its owner). */
async function servedVariants(t: TestContext, user: TestUser, item: { urls: Record<string, string> }) {
  const out: Record<string, { bytes: Uint8Array; type: string | null }> = {};
  for (const [name, url] of Object.entries(item.urls)) {
    const res = await t.request(url, { headers: user.bearer });
    assert.equal(res.status, 200, `${name}: ${res.status}`);
    out[name] = { bytes: new Uint8Array(await res.arrayBuffer()), type: res.headers.get("content-type") };
  }
  return out;
}

async function decodedSizes(t: TestContext, user: TestUser, item: { urls: Record<string, string> }) {
  const sizes: Record<string, [number, number]> = {};
  for (const [name, v] of Object.entries(await servedVariants(t, user, item))) {
    const image = await Image.decode(v.bytes);
    sizes[name] = [image.width, image.height];
  }
  return sizes;
}

appTest(
  "[media processing] a 4000x3000 JPEG gets full 2560x1920, medium 1280x960, thumb 320x240",
  async (t) => {
    const user = await randomUser(t);
    const item = await readyImage(t, user, await jpegBytes(4000, 3000, { quality: 60 }));
    assert.equal(item.status, "ready");
    assert.deepEqual([item.width, item.height], [4000, 3000]);
    assert.deepEqual(item.variants, ["full", "medium", "thumb"]);
    assert.match(item.color, /^#[0-9a-f]{6}$/);
    assert.deepEqual(await decodedSizes(t, user, item), {
      full: [2560, 1920],
      medium: [1280, 960],
      thumb: [320, 240],
    });
    // The original is gone; the three variants are what is stored and counted.
    const keys = (await storedKeys(t)).sort();
    assert.deepEqual(keys, [`${item.id}/full.jpg`, `${item.id}/medium.jpg`, `${item.id}/thumb.jpg`]);
    assert.ok(item.stored_bytes > 0 && item.stored_bytes !== item.bytes);
  },
);

appTest("[media processing] small images are never upscaled; GIFs keep their first frame", async (t) => {
  const user = await randomUser(t);
  const png = await readyImage(t, user, await pngBytes(200, 100), "small.png");
  assert.deepEqual(await decodedSizes(t, user, png), {
    full: [200, 100],
    medium: [200, 100],
    thumb: [200, 100],
  });
  const gif = await readyImage(t, user, await gifBytes(64, 48), "anim.gif");
  const variants = await servedVariants(t, user, gif);
  for (const [name, v] of Object.entries(variants)) {
    assert.notEqual(v.type, "image/gif", `${name} is re-encoded`);
    const image = await Image.decode(v.bytes);
    assert.deepEqual([image.width, image.height], [64, 48]);
    const [r, g, b] = Image.colorToRGBA(image.getPixelAt(32, 24));
    assert.ok(r > 200 && g < 60 && b < 60, `${name}: the first (red) frame, got ${[r, g, b]}`);
  }
});

appTest("[media processing] EXIF orientation 6 swaps width and height", async (t) => {
  const user = await randomUser(t);
  const item = await readyImage(t, user, withExif(await jpegBytes(80, 40), { orientation: 6 }));
  assert.deepEqual([item.width, item.height], [40, 80]);
  assert.deepEqual(await decodedSizes(t, user, item), { full: [40, 80], medium: [40, 80], thumb: [40, 80] });
});

appTest("[media processing] GPS EXIF is gone from every variant and the original is deleted", async (t) => {
  const user = await randomUser(t);
  const original = withExif(await jpegBytes(600, 400), { gps: true });
  assert.ok(hasMetadata(original));
  const item = await readyImage(t, user, original);
  for (const [name, v] of Object.entries(await servedVariants(t, user, item))) {
    assert.equal(hasMetadata(v.bytes), false, `${name} carries metadata`);
  }
  const keys = await storedKeys(t);
  assert.equal(keys.filter((k) => k.includes("original")).length, 0, JSON.stringify(keys));
  // Big-endian EXIF too.
  const mm = await readyImage(t, user, withExif(await jpegBytes(60, 40), { gps: true, byteOrder: "MM" }));
  for (const v of Object.values(await servedVariants(t, user, mm))) assert.equal(hasMetadata(v.bytes), false);
});

appTest("[media processing] WebP keeps one copy without its EXIF chunk", async (t) => {
  const user = await randomUser(t);
  const webp = webpBytes(30, 20, { exif: true });
  assert.ok(hasMetadata(webp));
  const item = await readyImage(t, user, webp, "a.webp");
  assert.deepEqual([item.width, item.height], [30, 20]);
  assert.equal(item.color, null);
  const variants = await servedVariants(t, user, item);
  for (const [name, v] of Object.entries(variants)) {
    assert.equal(v.type, "image/webp", name);
    assert.equal(hasMetadata(v.bytes), false, `${name} carries metadata`);
  }
  assert.deepEqual(await storedKeys(t), [`${item.id}/full.webp`]);
});

appTest(
  "[media processing] a damaged image that passed the upload checks ends failed, storing nothing",
  async (t) => {
    const user = await randomUser(t);
    const up = await upload(t, user, damagedJpeg(await jpegBytes(64, 48, { pattern: "noise" })));
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal(up.body.status, "processing");
    assert.deepEqual(await storedKeys(t), [`${up.body.id}/original.jpg`]);
    assert.equal(await processMedia(t.platform, up.body.id), "failed");
    const res = await t.request(`/api/v1/media/${up.body.id}`, { headers: user.bearer });
    const item = await res.json();
    assert.equal(item.status, "failed");
    assert.equal(typeof item.failure, "string");
    assert.ok(item.failure.length > 0);
    assert.equal(item.urls, null);
    assert.equal(item.stored_bytes, 0);
    assert.deepEqual(await storedKeys(t), []);
    // Not served.
    assert.equal((await t.request(`/media/${up.body.id}/full`, { headers: user.bearer })).status, 404);
    // The renderer survives: the next image is fine.
    const next = await readyImage(t, user, await jpegBytes(30, 20));
    assert.equal(next.status, "ready");
    // The failure reached the owner too.
    const events = await t.platform.db.query<{ payload: { id: string; status: string } }>(
      "select payload from realtime.messages where topic = 'user:' || $1 and event = 'media'",
      [user.id],
    );
    assert.ok(events.some((e) => e.payload.id === up.body.id && e.payload.status === "failed"));
  },
);

appTest(
  "[media processing] processing twice is harmless; the owner hears 'ready' on user:<id>",
  async (t) => {
    const user = await randomUser(t);
    const up = await upload(t, user, await jpegBytes(50, 40));
    assert.equal(up.status, 201);
    assert.equal(await processMedia(t.platform, up.body.id), "ready");
    const keys = (await storedKeys(t)).sort();
    assert.equal(await processMedia(t.platform, up.body.id), "skipped");
    await processPending(t);
    assert.deepEqual((await storedKeys(t)).sort(), keys);
    const item = await (await t.request(`/api/v1/media/${up.body.id}`, { headers: user.bearer })).json();
    assert.equal(item.status, "ready");
    // An unknown id is skipped too.
    assert.equal(await processMedia(t.platform, crypto.randomUUID()), "skipped");

    const rows = await t.platform.db.query<
      { payload: Record<string, unknown>; event: string; topic: string }
    >(
      "select payload, event, topic from realtime.messages where topic = 'user:' || $1",
      [user.id],
    );
    const media = rows.filter((r) => r.event === "media");
    assert.equal(media.length, 1, JSON.stringify(rows));
    assert.equal(media[0].topic, `user:${user.id}`);
    assert.equal(media[0].payload.id, up.body.id);
    assert.equal(media[0].payload.status, "ready");
    assert.equal(media[0].payload.width, 50);
    assert.equal("urls" in media[0].payload, false, "the broadcast carries no URLs");
    // Nobody else hears about it.
    const [{ n }] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from realtime.messages where event = 'media' and topic <> 'user:' || $1",
      [user.id],
    );
    assert.equal(Number(n), 0);
  },
);

appTest("[media processing] concurrent runs over one item end with one set of variants", async (t) => {
  const user = await randomUser(t);
  const up = await upload(t, user, await jpegBytes(40, 30));
  const results = await Promise.all([
    processMedia(t.platform, up.body.id),
    processMedia(t.platform, up.body.id),
  ]);
  assert.ok(results.includes("ready"), JSON.stringify(results));
  const [row] = await t.platform.db.query<{ status: string; stored_bytes: string }>(
    "select status, stored_bytes::text from public.media where id = $1",
    [up.body.id],
  );
  assert.equal(row.status, "ready");
  const keys = (await storedKeys(t)).sort();
  assert.deepEqual(keys, [`${up.body.id}/full.jpg`, `${up.body.id}/medium.jpg`, `${up.body.id}/thumb.jpg`]);
  const item = await (await t.request(`/api/v1/media/${up.body.id}`, { headers: user.bearer })).json();
  for (const url of Object.values(item.urls) as string[]) {
    assert.equal((await t.request(url, { headers: user.bearer })).status, 200);
  }
});
