import assert from "node:assert/strict";
import { Image } from "imagescript";
import { ImageError, type RenderResult, renderVariants, type VariantName } from "@/lib/media/images.ts";
import { jpegOrientation, stripWebpMetadata } from "@/lib/media/exif.ts";
import {
  gifBytes,
  hasMetadata,
  jpegBytes,
  pngBytes,
  solidPngBytes,
  webpBytes,
  withExif,
} from "@/tests/support/images.ts";

const LIMIT = { maxPixels: 50_000_000 };

/** [name, width, height] triples of a result, in VARIANTS order. */
function sizes(result: RenderResult): [VariantName, number, number][] {
  return result.variants.map((v) => [v.name, v.width, v.height]);
}

/** The rendered variant called `name`. */
function variant(result: RenderResult, name: VariantName) {
  const found = result.variants.find((v) => v.name === name);
  assert.ok(found, `missing variant ${name}`);
  return found;
}

/** Decodes a rendered variant's bytes. */
async function decoded(result: RenderResult, name: VariantName): Promise<Image> {
  return await Image.decode(variant(result, name).bytes);
}

/** Which quadrant of `image` is (mostly) red. */
function redQuadrant(image: Image): string {
  const corners: [string, number, number][] = [
    ["top-left", 0.25, 0.25],
    ["top-right", 0.75, 0.25],
    ["bottom-left", 0.25, 0.75],
    ["bottom-right", 0.75, 0.75],
  ];
  const red = corners.filter(([, fx, fy]) => {
    const [r, , b] = image.getRGBAAt(Math.floor(fx * image.width) + 1, Math.floor(fy * image.height) + 1);
    return r > 200 && b < 60;
  });
  assert.equal(red.length, 1, `expected exactly one red quadrant, got ${red.map((c) => c[0])}`);
  return red[0][0];
}

/** Asserts `fn` rejects with an ImageError carrying `code`. */
async function assertImageError(fn: () => Promise<unknown>, code: ImageError["code"]): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected ImageError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

Deno.test("renderVariants: 12 MP JPEG yields three downscaled JPEG variants", async () => {
  const bytes = await jpegBytes(4000, 3000);
  const started = performance.now();
  const result = await renderVariants(bytes, "image/jpeg", LIMIT);
  console.log(`12 MP render: ${Math.round(performance.now() - started)} ms`);
  assert.equal(result.width, 4000);
  assert.equal(result.height, 3000);
  assert.deepEqual(sizes(result), [["thumb", 320, 240], ["medium", 1280, 960], ["full", 2560, 1920]]);
  for (const v of result.variants) assert.equal(v.mime, "image/jpeg");
  const thumb = await decoded(result, "thumb");
  assert.deepEqual([thumb.width, thumb.height], [320, 240]);
});

Deno.test("renderVariants: small images are never upscaled", async () => {
  const result = await renderVariants(await pngBytes(200, 100), "image/png", LIMIT);
  assert.deepEqual(sizes(result), [["thumb", 200, 100], ["medium", 200, 100], ["full", 200, 100]]);
});

Deno.test("renderVariants: portrait keeps its aspect ratio", async () => {
  const result = await renderVariants(await jpegBytes(900, 1600), "image/jpeg", LIMIT);
  assert.deepEqual(sizes(result), [["thumb", 180, 320], ["medium", 720, 1280], ["full", 900, 1600]]);
});

Deno.test("renderVariants: extreme aspect ratios keep at least one pixel", async () => {
  const result = await renderVariants(await pngBytes(2000, 1), "image/png", LIMIT);
  assert.deepEqual(sizes(result), [["thumb", 320, 1], ["medium", 1280, 1], ["full", 2000, 1]]);
});

Deno.test("renderVariants: orientation 6 swaps width and height", async () => {
  const bytes = withExif(await jpegBytes(400, 200, { pattern: "marked" }), { orientation: 6 });
  const result = await renderVariants(bytes, "image/jpeg", LIMIT);
  assert.deepEqual([result.width, result.height], [200, 400]);
  assert.deepEqual(sizes(result), [["thumb", 160, 320], ["medium", 200, 400], ["full", 200, 400]]);
  assert.equal(redQuadrant(await decoded(result, "full")), "top-right");
});

const EXPECTED_RED: Record<number, string> = {
  1: "top-left",
  2: "top-right",
  3: "bottom-right",
  4: "bottom-left",
  5: "top-left",
  6: "top-right",
  7: "bottom-right",
  8: "bottom-left",
};

for (const byteOrder of ["II", "MM"] as const) {
  Deno.test(`renderVariants: all EXIF orientations are applied (${byteOrder})`, async () => {
    const plain = await jpegBytes(400, 200, { pattern: "marked" });
    for (const [orientation, quadrant] of Object.entries(EXPECTED_RED)) {
      const bytes = withExif(plain, { orientation: Number(orientation), byteOrder });
      assert.equal(jpegOrientation(bytes), Number(orientation));
      const result = await renderVariants(bytes, "image/jpeg", LIMIT);
      const swapped = Number(orientation) >= 5;
      assert.deepEqual(
        [result.width, result.height],
        swapped ? [200, 400] : [400, 200],
        `orientation ${orientation}`,
      );
      const full = await decoded(result, "full");
      assert.equal(redQuadrant(full), quadrant, `orientation ${orientation}`);
      assert.equal(
        redQuadrant(await decoded(result, "thumb")),
        quadrant,
        `thumb, orientation ${orientation}`,
      );
    }
  });
}

Deno.test("jpegOrientation: absent or malformed EXIF means 1", async () => {
  const plain = await jpegBytes(16, 16);
  assert.equal(jpegOrientation(plain), 1);
  assert.equal(jpegOrientation(new Uint8Array()), 1);
  assert.equal(jpegOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0x00])), 1);
  const withOrientation = withExif(plain, { orientation: 6 });
  for (let cut = 0; cut < 60; cut++) jpegOrientation(withOrientation.subarray(0, cut)); // never throws
  const bogus = withExif(plain, { orientation: 42 });
  assert.equal(jpegOrientation(bogus), 1);
});

Deno.test("renderVariants: GPS EXIF is dropped and outputs still decode", async () => {
  const bytes = withExif(await jpegBytes(800, 600), { orientation: 1, gps: true });
  assert.ok(hasMetadata(bytes));
  const result = await renderVariants(bytes, "image/jpeg", LIMIT);
  for (const v of result.variants) {
    assert.equal(hasMetadata(v.bytes), false, `${v.name} still has metadata`);
    const image = await Image.decode(v.bytes);
    assert.deepEqual([image.width, image.height], [v.width, v.height]);
  }
});

Deno.test("renderVariants: transparent PNG stays PNG with alpha", async () => {
  const result = await renderVariants(await pngBytes(640, 480, { transparent: true }), "image/png", LIMIT);
  assert.deepEqual(sizes(result), [["thumb", 320, 240], ["medium", 640, 480], ["full", 640, 480]]);
  for (const v of result.variants) {
    assert.equal(v.mime, "image/png");
    assert.equal(hasMetadata(v.bytes), false);
  }
  const thumb = await decoded(result, "thumb");
  assert.ok(thumb.getRGBAAt(1, 120)[3] < 10, "left edge is transparent");
  assert.ok(thumb.getRGBAAt(320, 120)[3] > 245, "right edge is opaque");
  const text = new TextDecoder().decode(variant(result, "full").bytes);
  assert.ok(!text.includes("tEXt"), "PNG text chunks are stripped");
});

Deno.test("renderVariants: opaque PNG becomes JPEG", async () => {
  const result = await renderVariants(await pngBytes(300, 200), "image/png", LIMIT);
  for (const v of result.variants) assert.equal(v.mime, "image/jpeg");
});

Deno.test("renderVariants: GIF renders its first frame", async () => {
  const result = await renderVariants(await gifBytes(64, 48), "image/gif", LIMIT);
  assert.deepEqual(sizes(result), [["thumb", 64, 48], ["medium", 64, 48], ["full", 64, 48]]);
  const [r, g, b] = (await decoded(result, "full")).getRGBAAt(32, 24);
  assert.ok(r > 200 && g < 60 && b < 60, `expected red, got ${[r, g, b]}`);
});

Deno.test("renderVariants: WebP passes through with metadata chunks stripped", async () => {
  const bytes = webpBytes(120, 80, { exif: true });
  assert.ok(hasMetadata(bytes));
  const result = await renderVariants(bytes, "image/webp", {
    ...LIMIT,
    knownSize: { width: 120, height: 80 },
  });
  assert.equal(result.color, null);
  assert.deepEqual(sizes(result), [["full", 120, 80]]);
  const full = variant(result, "full");
  assert.equal(full.mime, "image/webp");
  assert.equal(hasMetadata(full.bytes), false);
  const view = new DataView(full.bytes.buffer, full.bytes.byteOffset, full.bytes.byteLength);
  assert.equal(view.getUint32(4, true), full.bytes.length - 8, "RIFF size is fixed");
  assert.equal(full.bytes[20] & 0x0c, 0, "VP8X EXIF/XMP flags are cleared");
  await assertImageError(() => renderVariants(bytes, "image/webp", LIMIT), "unsupported");
  await assertImageError(
    () => renderVariants(bytes, "image/webp", { maxPixels: 100, knownSize: { width: 120, height: 80 } }),
    "too_many_pixels",
  );
});

Deno.test("stripWebpMetadata: plain and malformed input is returned as is", () => {
  const plain = webpBytes(10, 10);
  assert.deepEqual(stripWebpMetadata(plain), plain);
  const garbage = new Uint8Array([1, 2, 3]);
  assert.equal(stripWebpMetadata(garbage), garbage);
  const truncated = webpBytes(10, 10, { exif: true }).subarray(0, 40);
  assert.equal(stripWebpMetadata(truncated), truncated);
});

Deno.test("renderVariants: truncated JPEG is an ImageError or a (partial) image", async () => {
  const bytes = await jpegBytes(640, 480, { pattern: "noise" });
  try {
    const result = await renderVariants(bytes.subarray(0, bytes.length >> 1), "image/jpeg", LIMIT);
    console.log("imagescript decodes a half JPEG silently:", sizes(result));
    assert.equal(result.variants.length, 3);
  } catch (error) {
    console.log("imagescript rejects a half JPEG:", String(error));
    assert.ok(error instanceof ImageError);
    assert.equal(error.code, "undecodable");
  }
});

Deno.test("renderVariants: random bytes are undecodable", async () => {
  const random = crypto.getRandomValues(new Uint8Array(4096));
  for (const mime of ["image/jpeg", "image/png", "image/gif"] as const) {
    await assertImageError(() => renderVariants(random, mime, LIMIT), "undecodable");
  }
  const fakeJpeg = random.slice();
  fakeJpeg.set([0xff, 0xd8, 0xff]);
  await assertImageError(() => renderVariants(fakeJpeg, "image/jpeg", LIMIT), "undecodable");
});

Deno.test("renderVariants: pixel budget is enforced", async () => {
  await assertImageError(() => renderVariants(Uint8Array.of(), "image/jpeg", LIMIT), "undecodable");
  const jpeg = await jpegBytes(200, 100);
  await assertImageError(() => renderVariants(jpeg, "image/jpeg", { maxPixels: 19_999 }), "too_many_pixels");
  const png = await pngBytes(200, 100);
  await assertImageError(() => renderVariants(png, "image/png", { maxPixels: 19_999 }), "too_many_pixels");
  const gif = await gifBytes(200, 100);
  await assertImageError(() => renderVariants(gif, "image/gif", { maxPixels: 19_999 }), "too_many_pixels");
  const ok = await renderVariants(jpeg, "image/jpeg", { maxPixels: 20_000 });
  assert.equal(ok.width, 200);
});

Deno.test("renderVariants: dominant colour of solid red is close to #ff0000", async () => {
  const result = await renderVariants(await solidPngBytes(400, 300, 0xff0000ff), "image/png", LIMIT);
  assert.match(result.color ?? "", /^#[0-9a-f]{6}$/);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(result.color!.slice(i, i + 2), 16));
  assert.ok(r > 230 && g < 25 && b < 25, `got ${result.color}`);
});

Deno.test("a GIF whose frame is larger than its logical screen is measured by the frame", async () => {
  const u16 = (n: number) => [n & 0xff, n >> 8];
  const gif = new Uint8Array([
    ...new TextEncoder().encode("GIF89a"),
    ...u16(1),
    ...u16(1),
    0,
    0,
    0, // a 1x1 screen without a colour table
    0x2c,
    ...u16(0),
    ...u16(0),
    ...u16(30000),
    ...u16(30000),
    0, // a 30000x30000 frame
    2,
    0, // LZW minimum code size, no data
    0x3b,
  ]);
  await assert.rejects(
    () => renderVariants(gif, "image/gif", { maxPixels: 40_000_000 }),
    (err: unknown) => err instanceof ImageError && err.code === "too_many_pixels",
  );
});
