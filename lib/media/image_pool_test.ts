import assert from "node:assert/strict";
import { createImagePool } from "@/lib/media/image_pool.ts";
import { ImageError, type RenderResult, renderVariants } from "@/lib/media/images.ts";
import { jpegBytes, pngBytes } from "@/tests/support/images.ts";

const LIMIT = { maxPixels: 50_000_000 };

/** Variant sizes of a result, for comparisons. */
function shape(result: RenderResult) {
  return {
    width: result.width,
    height: result.height,
    variants: result.variants.map((v) => [v.name, v.width, v.height, v.mime]),
  };
}

Deno.test("image pool: concurrent renders match inline results", async () => {
  const inputs = [
    await jpegBytes(1600, 1200),
    await pngBytes(300, 500, { transparent: true }),
    await jpegBytes(700, 90),
  ];
  const mimes = ["image/jpeg", "image/png", "image/jpeg"] as const;
  const expected = await Promise.all(inputs.map((bytes, i) => renderVariants(bytes, mimes[i], LIMIT)));
  const pool = createImagePool({ size: 2 });
  try {
    const promises = inputs.map((bytes, i) => pool.render(bytes.slice(), mimes[i], LIMIT));
    assert.equal(pool.pending, 3);
    const results = await Promise.all(promises);
    assert.equal(pool.pending, 0);
    assert.deepEqual(results.map(shape), expected.map(shape));
    for (const result of results) {
      for (const v of result.variants) assert.ok(v.bytes instanceof Uint8Array && v.bytes.length > 0);
    }
  } finally {
    pool.close();
  }
});

Deno.test("image pool: the main thread keeps ticking during a 12 MP render", async () => {
  const bytes = await jpegBytes(4000, 3000);
  const pool = createImagePool();
  let maxGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  try {
    const started = performance.now();
    const result = await pool.render(bytes, "image/jpeg", LIMIT);
    console.log(
      `12 MP in worker: ${Math.round(performance.now() - started)} ms, max timer gap ${
        Math.round(maxGap)
      } ms`,
    );
    assert.equal(bytes.byteLength, 0, "the input buffer was transferred");
    assert.equal(result.variants.length, 3);
    assert.ok(maxGap < 1000, `main loop blocked for ${maxGap} ms`);
  } finally {
    clearInterval(timer);
    pool.close();
  }
});

Deno.test("image pool: ImageError crosses the worker boundary", async () => {
  const pool = createImagePool();
  try {
    await assert.rejects(
      pool.render(crypto.getRandomValues(new Uint8Array(512)), "image/png", LIMIT),
      (error) => {
        assert.ok(error instanceof ImageError);
        assert.equal(error.code, "undecodable");
        assert.equal(error.message, "The image could not be decoded: it may be damaged or truncated.");
        return true;
      },
    );
    await assert.rejects(pool.render(await jpegBytes(200, 100), "image/jpeg", { maxPixels: 10 }), (error) => {
      assert.ok(error instanceof ImageError);
      assert.equal(error.code, "too_many_pixels");
      return true;
    });
    const ok = await pool.render(await jpegBytes(20, 10), "image/jpeg", LIMIT);
    assert.equal(ok.width, 20, "the worker survives image errors");
  } finally {
    pool.close();
  }
});

Deno.test("image pool: close() rejects queued work", async () => {
  const pool = createImagePool();
  const jobs = await Promise.all([1, 2, 3].map(() => jpegBytes(800, 600)));
  const settled = Promise.allSettled(jobs.map((bytes) => pool.render(bytes, "image/jpeg", LIMIT)));
  assert.equal(pool.pending, 3);
  pool.close();
  const outcomes = await settled;
  assert.deepEqual(outcomes.map((o) => o.status), ["rejected", "rejected", "rejected"]);
  assert.equal(pool.pending, 0);
  await assert.rejects(pool.render(await jpegBytes(8, 8), "image/jpeg", LIMIT), /closed/);
});

Deno.test("image pool: a crashing worker rejects its job and is replaced", async () => {
  const crashing = `data:application/javascript,${
    encodeURIComponent("self.onmessage = () => { throw new Error('boom'); };")
  }`;
  const pool = createImagePool({ workerUrl: crashing });
  try {
    for (let i = 0; i < 2; i++) {
      await assert.rejects(pool.render(await jpegBytes(8, 8), "image/jpeg", LIMIT), (error) => {
        assert.ok(error instanceof ImageError);
        assert.equal(error.code, "undecodable");
        return true;
      });
    }
    assert.equal(pool.pending, 0);
  } finally {
    pool.close();
  }
});

Deno.test("image pool: inline mode renders on the calling thread", async () => {
  const pool = createImagePool({ inline: true });
  const bytes = await pngBytes(400, 200);
  const result = await pool.render(bytes, "image/png", LIMIT);
  assert.deepEqual(shape(result), shape(await renderVariants(bytes, "image/png", LIMIT)));
  await assert.rejects(pool.render(new Uint8Array(4), "image/png", LIMIT), ImageError);
  assert.equal(pool.pending, 0);
  pool.close();
  await assert.rejects(pool.render(bytes, "image/png", LIMIT), /closed/);
});
