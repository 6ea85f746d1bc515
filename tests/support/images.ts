/**
 * Image fixtures for tests: synthetic JPEG/PNG/GIF/WebP bytes, EXIF injection and a metadata detector.
 * @module
 */
import { Frame, GIF, Image } from "imagescript";

/** Pixel patterns for {@link jpegBytes}. "marked": top-left quadrant red, the rest blue. */
export type JpegPattern = "gradient" | "noise" | "marked";

/** Fills an image with a pattern by writing its bitmap directly (fast even for 12 MP). */
function paint(image: Image, pattern: JpegPattern): void {
  const { width, height, bitmap } = image;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 4) {
      if (pattern === "noise") {
        bitmap[p] = Math.random() * 256;
        bitmap[p + 1] = Math.random() * 256;
        bitmap[p + 2] = Math.random() * 256;
      } else if (pattern === "marked") {
        const red = x < width / 2 && y < height / 2;
        bitmap[p] = red ? 255 : 0;
        bitmap[p + 1] = 0;
        bitmap[p + 2] = red ? 0 : 255;
      } else {
        bitmap[p] = (x * 255) / Math.max(1, width - 1);
        bitmap[p + 1] = (y * 255) / Math.max(1, height - 1);
        bitmap[p + 2] = 128;
      }
      bitmap[p + 3] = 255;
    }
  }
}

/** A `w`×`h` JPEG (default: gradient, quality 90). */
export async function jpegBytes(
  w: number,
  h: number,
  opts: { quality?: number; pattern?: JpegPattern } = {},
): Promise<Uint8Array> {
  const image = new Image(w, h);
  paint(image, opts.pattern ?? "gradient");
  return await image.encodeJPEG(opts.quality ?? 90);
}

/** A `w`×`h` gradient PNG; with `transparent`, alpha fades from 0 (left) to 255 (right). */
export async function pngBytes(
  w: number,
  h: number,
  opts: { transparent?: boolean } = {},
): Promise<Uint8Array> {
  const image = new Image(w, h);
  paint(image, "gradient");
  if (opts.transparent) {
    for (let y = 0, p = 3; y < h; y++) {
      for (let x = 0; x < w; x++, p += 4) image.bitmap[p] = (x * 255) / Math.max(1, w - 1);
    }
  }
  return await image.encode();
}

/** A solid-colour image of the given RGBA u32 colour, as PNG. */
export async function solidPngBytes(w: number, h: number, rgba: number): Promise<Uint8Array> {
  return await new Image(w, h).fill(rgba).encode();
}

/** A two-frame GIF: the first frame red, the second blue. */
export async function gifBytes(w: number, h: number): Promise<Uint8Array> {
  const red = new Frame(w, h, 100);
  red.fill(0xff0000ff);
  const blue = new Frame(w, h, 100);
  blue.fill(0x0000ffff);
  return await new GIF([red, blue]).encode();
}

/** Little helper that writes TIFF/RIFF structures in one byte order. */
class ByteWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(size: number, readonly little: boolean) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(at: number, value: number): void {
    this.view.setUint16(at, value, this.little);
  }
  u32(at: number, value: number): void {
    this.view.setUint32(at, value, this.little);
  }
  ascii(at: number, text: string): void {
    for (let i = 0; i < text.length; i++) this.bytes[at + i] = text.charCodeAt(i);
  }
  /** One 12-byte IFD entry; `value` is stored inline (SHORT/ASCII ≤ 4) or as an offset. */
  entry(at: number, tag: number, type: number, count: number, value: number | string): void {
    this.u16(at, tag);
    this.u16(at + 2, type);
    this.u32(at + 4, count);
    if (typeof value === "string") this.ascii(at + 8, value);
    else if (type === 3) this.u16(at + 8, value);
    else this.u32(at + 8, value);
  }
  /** Three unsigned rationals n/1. */
  rationals(at: number, values: number[]): void {
    values.forEach((v, i) => {
      this.u32(at + i * 8, v);
      this.u32(at + i * 8 + 4, 1);
    });
  }
}

const ASCII = 2, SHORT = 3, LONG = 4, RATIONAL = 5;
const MAKE = "PlazaCam\0";

/** A TIFF (EXIF payload) with IFD0 Make, Orientation and optionally a GPS IFD. */
function exifTiff(orientation: number, gps: boolean, little: boolean): Uint8Array {
  const ifd0Entries = gps ? 3 : 2;
  const makeAt = 8 + 2 + ifd0Entries * 12 + 4;
  const gpsAt = makeAt + 10;
  const latAt = gpsAt + 2 + 4 * 12 + 4;
  const lonAt = latAt + 24;
  const w = new ByteWriter(gps ? lonAt + 24 : gpsAt, little);
  w.ascii(0, little ? "II" : "MM");
  w.u16(2, 42);
  w.u32(4, 8);
  w.u16(8, ifd0Entries);
  w.entry(10, 0x010f, ASCII, MAKE.length, makeAt);
  w.entry(22, 0x0112, SHORT, 1, orientation);
  if (gps) w.entry(34, 0x8825, LONG, 1, gpsAt);
  w.ascii(makeAt, MAKE);
  if (gps) {
    w.u16(gpsAt, 4);
    w.entry(gpsAt + 2, 0x0001, ASCII, 2, "N");
    w.entry(gpsAt + 14, 0x0002, RATIONAL, 3, latAt);
    w.entry(gpsAt + 26, 0x0003, ASCII, 2, "E");
    w.entry(gpsAt + 38, 0x0004, RATIONAL, 3, lonAt);
    w.rationals(latAt, [52, 31, 0]);
    w.rationals(lonAt, [13, 24, 0]);
  }
  return w.bytes;
}

const EXIF_MAGIC = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/**
 * Inserts an EXIF APP1 segment right after SOI with IFD0 Make "PlazaCam", Orientation and, with `gps`, a
 * GPS IFD (N 52/1 31/1 0/1, E 13/1 24/1 0/1). `byteOrder` defaults to "II" (little-endian).
 */
export function withExif(
  jpeg: Uint8Array,
  opts: { orientation?: number; gps?: boolean; byteOrder?: "II" | "MM" },
): Uint8Array {
  const tiff = exifTiff(opts.orientation ?? 1, opts.gps ?? false, opts.byteOrder !== "MM");
  const segmentLength = 2 + EXIF_MAGIC.length + tiff.length;
  const out = new Uint8Array(jpeg.length + 2 + segmentLength);
  out.set(jpeg.subarray(0, 2));
  out.set([0xff, 0xe1, segmentLength >> 8, segmentLength & 0xff, ...EXIF_MAGIC], 2);
  out.set(tiff, 2 + 4 + EXIF_MAGIC.length);
  out.set(jpeg.subarray(2), 2 + 2 + segmentLength);
  return out;
}

/** One RIFF chunk (with pad byte for odd sizes). */
function riffChunk(id: string, data: Uint8Array): Uint8Array {
  const w = new ByteWriter(8 + data.length + (data.length & 1), true);
  w.ascii(0, id);
  w.u32(4, data.length);
  w.bytes.set(data, 8);
  return w.bytes;
}

/** A VP8L bitstream header for `w`×`h` (plus a few payload bytes; enough for header parsing). */
function vp8lPayload(w: number, h: number): Uint8Array {
  const bits = ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14); // alpha_is_used = 0, version = 0
  const out = new Uint8Array(9);
  out[0] = 0x2f;
  new DataView(out.buffer).setUint32(1, bits >>> 0, true);
  return out;
}

/** A VP8X chunk payload: flags, canvas width-1 and height-1 (24-bit each). */
function vp8xPayload(w: number, h: number, flags: number): Uint8Array {
  const out = new Uint8Array(10);
  out[0] = flags;
  out.set([(w - 1) & 0xff, ((w - 1) >> 8) & 0xff, ((w - 1) >> 16) & 0xff], 4);
  out.set([(h - 1) & 0xff, ((h - 1) >> 8) & 0xff, ((h - 1) >> 16) & 0xff], 7);
  return out;
}

/**
 * A minimal lossless WebP container for `w`×`h` (header-valid, not a decodable bitstream). With `exif`,
 * it is a VP8X container with the EXIF flag and an EXIF chunk (Make "PlazaCam" + GPS).
 */
export function webpBytes(w: number, h: number, opts: { exif?: boolean } = {}): Uint8Array {
  const chunks = opts.exif
    ? [
      riffChunk("VP8X", vp8xPayload(w, h, 0x08)),
      riffChunk("VP8L", vp8lPayload(w, h)),
      riffChunk("EXIF", exifTiff(1, true, true)),
    ]
    : [riffChunk("VP8L", vp8lPayload(w, h))];
  const body = chunks.reduce((sum, c) => sum + c.length, 0);
  const out = new ByteWriter(12 + body, true);
  out.ascii(0, "RIFF");
  out.u32(4, 4 + body);
  out.ascii(8, "WEBP");
  let at = 12;
  for (const chunk of chunks) {
    out.bytes.set(chunk, at);
    at += chunk.length;
  }
  return out.bytes;
}

/** True when `needle` occurs anywhere in `bytes`. */
function contains(bytes: Uint8Array, needle: ArrayLike<number>): boolean {
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Text as bytes. */
function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

const METADATA_MARKERS = [
  EXIF_MAGIC,
  ascii("PlazaCam"),
  // GPSInfo IFD entry (tag 0x8825, LONG, count 1) in both byte orders
  [0x25, 0x88, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00],
  [0x88, 0x25, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01],
  // a RIFF EXIF chunk id
  ascii("EXIF"),
];

/** True when bytes contain an EXIF APP1 ("Exif\0\0"), GPS tag bytes, a WebP EXIF chunk or "PlazaCam". */
export function hasMetadata(bytes: Uint8Array): boolean {
  return METADATA_MARKERS.some((marker) => contains(bytes, marker));
}
