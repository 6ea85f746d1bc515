/**
 * Media benchmark, part 1 (bench/media.ts): synthetic photos, multipart bodies, and the processing
 * time of one 12 MP JPEG into every variant: `renderVariants` inline, through the worker pool, and end
 * to end (`POST /api/v1/media` through the app in process, then `processMedia`). While each render
 * runs, a 5 ms timer on the bench's own thread records how long its event loop was blocked.
 */
import { Image } from "imagescript";
import { createImagePool } from "@/lib/media/image_pool.ts";
import { renderVariants } from "@/lib/media/images.ts";
import { processMedia } from "@/lib/media/process.ts";
import type { Platform } from "@/lib/platform.ts";
import { type Stats, stats } from "./chat_stats.ts";

/**
 * A `w`×`h` JPEG (quality 90) that compresses like a photo: gradients and blocks under per-pixel
 * noise of ±`noise`/2 levels (24 gives about 0.38 bytes per pixel, 4.6 MB for 12 MP).
 */
export async function photoJpeg(w: number, h: number, seed: number, noise = 24): Promise<Uint8Array> {
  const image = new Image(w, h);
  const b = image.bitmap;
  let s = seed >>> 0 || 1;
  const n = (v: number) => ((v & 255) * noise) >> 8;
  for (let y = 0, p = 0; y < h; y++) {
    for (let x = 0; x < w; x++, p += 4) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      b[p] = (x * 255) / w + n(s);
      b[p + 1] = (y * 255) / h + n(s >>> 8);
      b[p + 2] = 128 + ((((x >> 5) ^ (y >> 5)) & 7) << 3) + n(s >>> 16);
      b[p + 3] = 255;
    }
  }
  return await image.encodeJPEG(90);
}

/**
 * A copy of `jpeg` with one byte of its entropy-coded data changed (never to or next to 0xFF, so the
 * marker structure the upload inspector checks stays intact): a distinct file of the same size.
 */
export function variant(jpeg: Uint8Array, i: number): Uint8Array {
  const out = jpeg.slice();
  let at = Math.floor(out.length / 2) + (i % 4096) * 7;
  while (out[at] === 0xff || out[at - 1] === 0xff || out[at + 1] === 0xff || (out[at] ^ 1) === 0xff) at++;
  out[at] ^= 1;
  return out;
}

/** A `multipart/form-data` body with `bytes` as the field `file`, and its content type. */
export function multipart(bytes: Uint8Array, filename: string): { body: Blob; contentType: string } {
  const boundary = `----plaza-bench-${crypto.randomUUID()}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
    `Content-Type: image/jpeg\r\n\r\n`;
  return {
    body: new Blob([head, bytes as Uint8Array<ArrayBuffer>, `\r\n--${boundary}--\r\n`]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** The longest gap between ticks of a 5 ms interval while `fn` runs: how long the thread was blocked. */
export async function withLag<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; lagMs: number }> {
  let last = performance.now();
  let lag = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 5);
    last = now;
  }, 5);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    lag = Math.max(lag, performance.now() - last - 5);
    return { value, ms, lagMs: Math.max(0, lag) };
  } finally {
    clearInterval(timer);
  }
}

/** One way of processing, measured `runs` times. */
export interface ProcessingResult {
  label: string;
  time: Stats;
  /** Longest block of the bench's event loop during a run. */
  lag: Stats;
  /** Output variants of the last run: name, size, bytes. */
  outputs: { name: string; width: number; height: number; bytes: number }[];
  /** Extra figures (end to end: the upload's HTTP time). */
  upload?: Stats;
}

/** (a) `renderVariants` on the bench's own thread. */
export async function inlineScenario(jpeg: Uint8Array, runs: number): Promise<ProcessingResult> {
  const times: number[] = [], lags: number[] = [];
  let outputs: ProcessingResult["outputs"] = [];
  for (let i = 0; i < runs; i++) {
    const r = await withLag(() => renderVariants(jpeg, "image/jpeg", { maxPixels: 40_000_000 }));
    times.push(r.ms);
    lags.push(r.lagMs);
    outputs = r.value.variants.map((v) => ({
      name: v.name,
      width: v.width,
      height: v.height,
      bytes: v.bytes.length,
    }));
  }
  return { label: "(a) `renderVariants` inline", time: stats(times), lag: stats(lags), outputs };
}

/** (b) The worker pool (one worker, as `PLAZA_MEDIA_WORKERS=1`); the first run includes starting the worker. */
export async function poolScenario(jpeg: Uint8Array, runs: number): Promise<ProcessingResult> {
  const pool = createImagePool({ size: 1 });
  const times: number[] = [], lags: number[] = [];
  let outputs: ProcessingResult["outputs"] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const r = await withLag(() => pool.render(jpeg.slice(), "image/jpeg", { maxPixels: 40_000_000 }));
      times.push(r.ms);
      lags.push(r.lagMs);
      outputs = r.value.variants.map((v) => ({
        name: v.name,
        width: v.width,
        height: v.height,
        bytes: v.bytes.length,
      }));
    }
  } finally {
    pool.close();
  }
  return { label: "(b) worker pool (1 worker)", time: stats(times), lag: stats(lags), outputs };
}

/**
 * (c) End to end: `POST /api/v1/media` through the app in process (the upload streams to storage and
 * queues the job), then `processMedia` (the media function: read from storage, render in the pool,
 * store the variants, record them, delete the original). Times `processMedia` only.
 */
export async function endToEndScenario(
  platform: Platform,
  fetch: (req: Request) => Response | Promise<Response>,
  token: string,
  jpeg: Uint8Array,
  runs: number,
): Promise<ProcessingResult> {
  const times: number[] = [], lags: number[] = [], uploads: number[] = [];
  let outputs: ProcessingResult["outputs"] = [];
  for (let i = 0; i < runs; i++) {
    const { body, contentType } = multipart(variant(jpeg, i), `photo-${i}.jpg`);
    const t0 = performance.now();
    const res = await fetch(
      new Request("http://127.0.0.1/api/v1/media", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": contentType },
        body,
      }),
    );
    const media = await res.json();
    uploads.push(performance.now() - t0);
    if (res.status !== 201) throw new Error(`upload: HTTP ${res.status} ${JSON.stringify(media)}`);
    const r = await withLag(() => processMedia(platform, media.id));
    if (r.value !== "ready") throw new Error(`processMedia: ${r.value}`);
    times.push(r.ms);
    lags.push(r.lagMs);
    const [row] = await platform.db.query<
      { variants: Record<string, { width: number; height: number; bytes: number }> }
    >(
      "select variants from public.media where id = $1",
      [media.id],
    );
    outputs = Object.entries(row.variants).map(([name, v]) => ({ name, ...v }))
      .sort((a, b) => a.bytes - b.bytes);
  }
  return {
    label: "(c) end to end: `processMedia` after an upload (1 worker)",
    time: stats(times),
    lag: stats(lags),
    outputs,
    upload: stats(uploads),
  };
}
