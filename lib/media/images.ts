/**
 * Pure image processing for uploaded photos: decode, orient, strip metadata and render size variants.
 *
 * Runs inside the image worker (see `image_pool.ts`) or inline where Workers are unavailable.
 * @module
 */
import { imageDimensions, sniff } from "./sniff.ts";
import { GIF, Image } from "imagescript";
import { jpegOrientation, stripPngMetadata, stripWebpMetadata } from "@/lib/media/exif.ts";

/** Names of the rendered sizes. */
export type VariantName = "thumb" | "medium" | "full";

/** Rendered sizes, largest last; `maxSide` bounds the long side. */
export const VARIANTS: { name: VariantName; maxSide: number }[] = [
  { name: "thumb", maxSide: 320 },
  { name: "medium", maxSide: 1280 },
  { name: "full", maxSide: 2560 },
];

/** Input formats accepted by {@link renderVariants}. */
export type ImageMime = "image/jpeg" | "image/png" | "image/gif" | "image/webp";

/** One encoded size of an image. */
export interface RenderedVariant {
  name: VariantName;
  bytes: Uint8Array;
  width: number;
  height: number;
  mime: "image/jpeg" | "image/png" | "image/webp";
}

/** The outcome of {@link renderVariants}. */
export interface RenderResult {
  /** Width after applying EXIF orientation. */
  width: number;
  /** Height after applying EXIF orientation. */
  height: number;
  /** "#rrggbb" or null */
  color: string | null;
  variants: RenderedVariant[];
}

/** Options for {@link renderVariants}. */
export interface RenderOptions {
  /** Upper bound for width × height. */
  maxPixels: number;
  /** Dimensions from an earlier header check; required for WebP, which cannot be decoded here. */
  knownSize?: { width: number; height: number };
}

/** Machine-readable reasons an image cannot be processed. */
export type ImageErrorCode = "undecodable" | "too_many_pixels" | "unsupported";

/** A processing failure caused by the image itself (never by a bug in the caller). */
export class ImageError extends Error {
  /** @param code machine-readable reason; @param message user-facing explanation */
  constructor(readonly code: ImageErrorCode, message: string) {
    super(message);
    this.name = "ImageError";
  }
}

const UNDECODABLE_MESSAGE = "The image could not be decoded: it may be damaged or truncated.";
const JPEG_QUALITY = 82;

/**
 * Decodes, applies EXIF orientation (JPEG; all 8 orientations; width/height reported after orientation),
 * drops all metadata by re-encoding and renders the {@link VARIANTS} (long side ≤ maxSide, never upscaled,
 * aspect kept, at least 1 px). Opaque images become JPEG (quality 82), images with any transparent pixel
 * PNG. GIFs use their first frame. The dominant colour comes from the thumb.
 *
 * WebP cannot be decoded by imagescript: it yields one "full" variant with its metadata chunks stripped,
 * sized by `opts.knownSize` (required), and no colour.
 *
 * @throws {ImageError} "undecodable", "too_many_pixels" or "unsupported".
 */
export async function renderVariants(
  bytes: Uint8Array,
  mime: ImageMime,
  opts: RenderOptions,
): Promise<RenderResult> {
  if (mime === "image/webp") return passThroughWebp(bytes, opts);
  // The same header reading the upload used (GIF: every frame's extent, over the whole file here):
  // nothing is decoded whose size is unknown or over the budget.
  const header = sniff(bytes)?.mime === mime ? imageDimensions(bytes, mime) : null;
  if (!header) throw new ImageError("undecodable", UNDECODABLE_MESSAGE);
  assertPixelBudget(header.width, header.height, opts.maxPixels);
  const source = await decode(bytes, mime);
  assertPixelBudget(source.width, source.height, opts.maxPixels);
  const orientation = mime === "image/jpeg" ? jpegOrientation(bytes) : 1;
  const transparent = hasTransparency(source.bitmap);
  const { width, height } = orientedSize(source.width, source.height, orientation);

  const images = new Map<VariantName, Image>();
  let previous = source;
  for (const { name, maxSide } of [...VARIANTS].sort((a, b) => b.maxSide - a.maxSide)) {
    const target = fitWithin(width, height, maxSide);
    // Resample before orienting the largest variant: rotating the full-size original is wasted work.
    const next = previous === source
      ? orient(resample(source, orientedSize(target.width, target.height, orientation)), orientation)
      : resample(previous, target);
    images.set(name, next);
    previous = next;
  }

  const variants: RenderedVariant[] = [];
  for (const { name } of VARIANTS) variants.push(await encodeVariant(name, images.get(name)!, transparent));
  return { width, height, color: dominantHex(images.get("thumb")!), variants };
}

/** WebP handling: strip metadata chunks, trust the dimensions from the earlier header check. */
function passThroughWebp(bytes: Uint8Array, opts: RenderOptions): RenderResult {
  const size = opts.knownSize;
  if (!size) throw new ImageError("unsupported", "WebP images can only be stored when their size is known.");
  assertPixelBudget(size.width, size.height, opts.maxPixels);
  const stripped = stripWebpMetadata(bytes);
  return {
    width: size.width,
    height: size.height,
    color: null,
    variants: [{ name: "full", bytes: stripped, width: size.width, height: size.height, mime: "image/webp" }],
  };
}

/** Throws "too_many_pixels" when the image exceeds the budget. */
function assertPixelBudget(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageError(
      "too_many_pixels",
      `The image is too large (${width}×${height} pixels); at most ${maxPixels} pixels are allowed.`,
    );
  }
}

/** Decodes the first frame; any failure becomes ImageError("undecodable"). */
async function decode(bytes: Uint8Array, mime: ImageMime): Promise<Image> {
  try {
    if (mime === "image/gif") {
      const gif = await GIF.decode(bytes, true);
      if (gif.length === 0) throw new Error("GIF without frames");
      return gif[0] as Image;
    }
    return await Image.decode(bytes);
  } catch (cause) {
    if (cause instanceof ImageError) throw cause;
    throw new ImageError("undecodable", UNDECODABLE_MESSAGE);
  }
}

/** True when any pixel has alpha < 255. */
function hasTransparency(bitmap: Uint8ClampedArray): boolean {
  for (let i = 3; i < bitmap.length; i += 4) if (bitmap[i] !== 255) return true;
  return false;
}

/** Orientations 5..8 swap width and height. */
function swapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}

/** The size of a `width`×`height` image after applying `orientation`. */
function orientedSize(width: number, height: number, orientation: number): { width: number; height: number } {
  return swapsAxes(orientation) ? { width: height, height: width } : { width, height };
}

/** Scales a size so its long side is at most `maxSide` (never up), keeping aspect and ≥ 1 px. */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longSide = Math.max(width, height);
  if (longSide <= maxSide) return { width, height };
  const scale = maxSide / longSide;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Maps a display position to its source position for an EXIF orientation. `w`/`h` are the source size.
 * Orientation semantics follow the EXIF spec (row 0 / column 0 placement).
 */
function sourceIndex(orientation: number, x: number, y: number, w: number, h: number): number {
  switch (orientation) {
    case 2: // mirrored horizontally
      return y * w + (w - 1 - x);
    case 3: // rotated 180°
      return (h - 1 - y) * w + (w - 1 - x);
    case 4: // mirrored vertically
      return (h - 1 - y) * w + x;
    case 5: // transposed
      return x * w + y;
    case 6: // needs 90° clockwise rotation
      return (h - 1 - x) * w + y;
    case 7: // transversed
      return (h - 1 - x) * w + (w - 1 - y);
    case 8: // needs 90° counter-clockwise rotation
      return x * w + (w - 1 - y);
    default:
      return y * w + x;
  }
}

/** Returns an upright copy of `image` (or `image` itself for orientation 1). */
function orient(image: Image, orientation: number): Image {
  if (orientation < 2 || orientation > 8) return image;
  const w = image.width, h = image.height;
  const size = orientedSize(w, h, orientation);
  const out = new Image(size.width, size.height);
  const src = new Uint32Array(image.bitmap.buffer, image.bitmap.byteOffset, w * h);
  const dst = new Uint32Array(out.bitmap.buffer, out.bitmap.byteOffset, size.width * size.height);
  for (let y = 0; y < size.height; y++) {
    for (let x = 0; x < size.width; x++) dst[y * size.width + x] = src[sourceIndex(orientation, x, y, w, h)];
  }
  return out;
}

/** Source pixels (and weights) contributing to each destination pixel along one axis. */
interface Contributions {
  /** contributions of destination i live in [offsets[i], offsets[i + 1]) */
  offsets: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
}

/** Area-averaging (box) weights for shrinking `from` pixels to `to` pixels. */
function contributions(from: number, to: number): Contributions {
  const scale = from / to;
  const offsets = new Int32Array(to + 1);
  const indices: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < to; i++) {
    const start = i * scale, end = Math.min(from, (i + 1) * scale);
    for (let j = Math.floor(start); j < Math.ceil(end); j++) {
      const overlap = Math.min(end, j + 1) - Math.max(start, j);
      if (overlap <= 0) continue;
      indices.push(j);
      weights.push(overlap / scale);
    }
    offsets[i + 1] = indices.length;
  }
  return { offsets, indices: Int32Array.from(indices), weights: Float32Array.from(weights) };
}

/** Horizontally resamples source row `y` into `row` as alpha-premultiplied floats. */
function resampleRow(src: Uint8ClampedArray, rowStart: number, xs: Contributions, row: Float32Array): void {
  const { offsets, indices, weights } = xs;
  for (let ox = 0, o = 0; ox < offsets.length - 1; ox++, o += 4) {
    let r = 0, g = 0, b = 0, a = 0;
    for (let k = offsets[ox]; k < offsets[ox + 1]; k++) {
      const p = rowStart + indices[k] * 4;
      const aw = weights[k] * src[p + 3];
      r += src[p] * aw;
      g += src[p + 1] * aw;
      b += src[p + 2] * aw;
      a += aw;
    }
    row[o] = r;
    row[o + 1] = g;
    row[o + 2] = b;
    row[o + 3] = a;
  }
}

/** Writes a premultiplied float row back as straight RGBA bytes. */
function writeRow(acc: Float32Array, out: Uint8ClampedArray, at: number): void {
  for (let i = 0; i < acc.length; i += 4) {
    const a = acc[i + 3];
    if (a <= 0) continue; // stays transparent black
    out[at + i] = acc[i] / a;
    out[at + i + 1] = acc[i + 1] / a;
    out[at + i + 2] = acc[i + 2] / a;
    out[at + i + 3] = a;
  }
}

/**
 * Shrinks `image` to `size` with alpha-aware area averaging (sharp and alias-free, unlike imagescript's
 * nearest-neighbour resize). Streams row by row, so memory stays at two destination rows of floats.
 */
function resample(image: Image, size: { width: number; height: number }): Image {
  const sw = image.width, sh = image.height, dw = size.width, dh = size.height;
  if (sw === dw && sh === dh) return image.clone();
  const xs = contributions(sw, dw), ys = contributions(sh, dh);
  const out = new Image(dw, dh);
  const row = new Float32Array(dw * 4), acc = new Float32Array(dw * 4);
  let cachedRow = -1;
  for (let oy = 0; oy < dh; oy++) {
    acc.fill(0);
    for (let k = ys.offsets[oy]; k < ys.offsets[oy + 1]; k++) {
      const y = ys.indices[k], wy = ys.weights[k];
      if (y !== cachedRow) resampleRow(image.bitmap, y * sw * 4, xs, row);
      cachedRow = y;
      for (let i = 0; i < row.length; i++) acc[i] += row[i] * wy;
    }
    writeRow(acc, out.bitmap, oy * dw * 4);
  }
  return out;
}

/** Encodes one variant: PNG (metadata-free) when transparent, JPEG otherwise. */
async function encodeVariant(
  name: VariantName,
  image: Image,
  transparent: boolean,
): Promise<RenderedVariant> {
  const { width, height } = image;
  if (transparent) {
    const bytes = stripPngMetadata(await image.encode(6, { software: "" }));
    return { name, bytes, width, height, mime: "image/png" };
  }
  return { name, bytes: await image.encodeJPEG(JPEG_QUALITY), width, height, mime: "image/jpeg" };
}

/** "#rrggbb" of an RGBA u32 colour. */
function toHex(rgba: number): string {
  return "#" + (rgba >>> 8).toString(16).padStart(6, "0");
}

/** Mean colour of the opaque-weighted pixels as an RGBA u32 (fallback for dominantColor). */
function averageColor(bitmap: Uint8ClampedArray): number {
  let r = 0, g = 0, b = 0, a = 0;
  for (let i = 0; i < bitmap.length; i += 4) {
    const w = bitmap[i + 3];
    r += bitmap[i] * w;
    g += bitmap[i + 1] * w;
    b += bitmap[i + 2] * w;
    a += w;
  }
  if (a === 0) return 0;
  return ((Math.round(r / a) << 24) | (Math.round(g / a) << 16) | (Math.round(b / a) << 8) | 0xff) >>> 0;
}

/** Dominant colour of a (small) image as "#rrggbb", or null when it cannot be computed. */
function dominantHex(image: Image): string | null {
  try {
    return toHex(image.dominantColor());
  } catch {
    try {
      return toHex(averageColor(image.bitmap));
    } catch {
      return null;
    }
  }
}
