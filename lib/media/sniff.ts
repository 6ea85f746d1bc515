/**
 * Content sniffing for uploads: the type is decided from magic bytes only (never from file names or
 * declared content types), plus a markup detector for polyglots and a header-only dimension reader.
 *
 * Every function here is total: it never throws on arbitrary input and never reads out of bounds.
 */

/** Broad family of an accepted media type. */
export type MediaKind = "image" | "pdf" | "video";

/** The seven accepted MIME types. */
export type MediaMime =
  | "image/jpeg"
  | "image/png"
  | "image/gif"
  | "image/webp"
  | "application/pdf"
  | "video/mp4"
  | "video/webm";

/** A sniffed media type: its MIME type, kind and canonical file extension. */
export interface MediaType {
  mime: MediaMime;
  kind: MediaKind;
  ext: "jpg" | "png" | "gif" | "webp" | "pdf" | "mp4" | "webm";
}

const JPEG: MediaType = { mime: "image/jpeg", kind: "image", ext: "jpg" };
const PNG: MediaType = { mime: "image/png", kind: "image", ext: "png" };
const GIF: MediaType = { mime: "image/gif", kind: "image", ext: "gif" };
const WEBP: MediaType = { mime: "image/webp", kind: "image", ext: "webp" };
const PDF: MediaType = { mime: "application/pdf", kind: "pdf", ext: "pdf" };
const MP4: MediaType = { mime: "video/mp4", kind: "video", ext: "mp4" };
const WEBM: MediaType = { mime: "video/webm", kind: "video", ext: "webm" };

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

/** ISO-BMFF brands that mark a file as MP4 video. */
const MP4_BRANDS = new Set([
  "isom",
  "iso2",
  "iso3",
  "iso4",
  "iso5",
  "iso6",
  "iso7",
  "iso8",
  "iso9",
  "mp41",
  "mp42",
  "mp71",
  "avc1",
  "M4V ",
  "M4VH",
  "M4VP",
  "dash",
  "msnv",
  "MSNV",
]);

/** Brands of ISO-BMFF still images (HEIF/HEIC/AVIF) and QuickTime: never accepted as MP4. */
const REFUSED_BRANDS = new Set([
  "heic",
  "heix",
  "heim",
  "heis",
  "hevc",
  "hevx",
  "hevm",
  "hevs",
  "mif1",
  "mif2",
  "msf1",
  "miaf",
  "avif",
  "avis",
  "avci",
]);

/** How many leading bytes sniff() ever looks at. */
export const SNIFF_BYTES = 4096;

/** The type decided by magic bytes only (never names or declared types); null for anything else. */
export function sniff(head: Uint8Array): MediaType | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return JPEG;
  if (startsWith(head, PNG_MAGIC)) return PNG;
  if (startsWithAscii(head, 0, "GIF87a") || startsWithAscii(head, 0, "GIF89a")) return GIF;
  if (startsWithAscii(head, 0, "RIFF") && startsWithAscii(head, 8, "WEBP")) return WEBP;
  if (startsWithAscii(head, 0, "%PDF-")) return PDF;
  if (isMp4(head)) return MP4;
  if (startsWith(head, EBML_MAGIC) && ebmlDocType(head) === "webm") return WEBM;
  return null;
}

/**
 * An `ftyp` box at offset 0 whose brands (major or compatible) include an MP4 brand and none of the
 * HEIF/AVIF image brands; a QuickTime (`qt  `) major brand is refused.
 */
function isMp4(head: Uint8Array): boolean {
  if (head.length < 16 || !startsWithAscii(head, 4, "ftyp")) return false;
  const size = u32be(head, 0);
  if (size < 16) return false; // the box must at least hold major brand + minor version
  const major = ascii(head, 8, 4);
  if (major === "qt  ") return false;
  const brands = [major];
  const end = Math.min(size, head.length, SNIFF_BYTES);
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(head, at, 4));
  if (brands.some((b) => REFUSED_BRANDS.has(b))) return false;
  return brands.some((b) => MP4_BRANDS.has(b));
}

/** The DocType of an EBML header at offset 0 ("matroska" when absent, per the spec); null if malformed. */
function ebmlDocType(head: Uint8Array): string | null {
  const size = readVint(head, 4);
  if (!size || size.unknown) return null;
  const end = Math.min(4 + size.length + size.value, head.length, SNIFF_BYTES);
  let at = 4 + size.length;
  while (at < end) {
    const id = readElementId(head, at);
    if (!id) return null;
    const len = readVint(head, at + id.length);
    if (!len || len.unknown) return null;
    const dataAt = at + id.length + len.length;
    if (dataAt + len.value > end) return null;
    if (id.value === 0x4282) return ascii(head, dataAt, len.value).replace(/\0+$/, "");
    at = dataAt + len.value;
  }
  return 4 + size.length + size.value <= head.length ? "matroska" : null;
}

interface Vint {
  value: number;
  length: number;
  unknown: boolean;
}

/** An EBML variable-length integer (marker bit removed); null when invalid or past the end. */
function readVint(b: Uint8Array, at: number): Vint | null {
  if (at >= b.length) return null;
  const first = b[at];
  const length = vintLength(first);
  if (length === 0 || at + length > b.length) return null;
  let value = first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[at + i];
    if (b[at + i] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: allOnes };
}

/** An EBML element ID (marker bit kept, 1..4 bytes); null when invalid or past the end. */
function readElementId(b: Uint8Array, at: number): { value: number; length: number } | null {
  if (at >= b.length) return null;
  const length = vintLength(b[at]);
  if (length === 0 || length > 4 || at + length > b.length) return null;
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + b[at + i];
  return { value, length };
}

/** Number of bytes of a vint, from its first byte (0 when the first byte is 0). */
function vintLength(first: number): number {
  for (let i = 0; i < 8; i++) if (first & (0x80 >> i)) return i + 1;
  return 0;
}

/** Tags whose presence anywhere in the first KiB could make a browser sniff the bytes as markup. */
const MARKUP_TAGS = [
  "html",
  "head",
  "body",
  "script",
  "svg",
  "?xml",
  "!doctype",
  "iframe",
  "frame",
  "object",
  "embed",
  "applet",
  "img",
  "style",
  "div",
  "meta",
  "link",
  "base",
  "form",
  "input",
  "title",
  "table",
  "font",
  "math",
  "template",
  "video",
  "audio",
  "source",
  "xsl",
  "![cdata[",
  "!entity",
  "!--",
  "a ",
];

const MARKUP_TAG_BYTES = MARKUP_TAGS.map((t) => Array.from(t, (c) => c.charCodeAt(0)));

/** How many leading bytes containsMarkup() scans. */
export const MARKUP_SCAN_BYTES = 1024;

/**
 * True when the first 1024 bytes contain markup a browser could sniff as HTML/SVG/XML: a case-insensitive
 * `<html`, `<head`, `<body`, `<script`, `<svg`, `<?xml`, `<!doctype`, `<iframe`, `<object`, `<embed`,
 * `<img`, `<a `, `<style`, `<div`, `<meta`, `<link`, `<!--` and similar tags.
 */
export function containsMarkup(head: Uint8Array): boolean {
  const scanned = head.subarray(0, MARKUP_SCAN_BYTES);
  for (let at = scanned.indexOf(0x3c); at !== -1; at = scanned.indexOf(0x3c, at + 1)) {
    if (MARKUP_TAG_BYTES.some((tag) => matchesLowercase(scanned, at + 1, tag, scanned.length))) return true;
  }
  return false;
}

/** Whether the bytes at `at` equal the lowercase ASCII `tag`, ignoring ASCII case, before `end`. */
function matchesLowercase(b: Uint8Array, at: number, tag: number[], end: number): boolean {
  if (at + tag.length > end) return false;
  for (let i = 0; i < tag.length; i++) {
    const c = b[at + i];
    const lower = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    if (lower !== tag[i]) return false;
  }
  return true;
}

/** Width and height in pixels. */
export interface Dimensions {
  width: number;
  height: number;
}

/**
 * Width/height declared by the header, without decoding pixels: JPEG (first SOF0..SOF15 segment except
 * DHT/JPG/DAC), PNG (IHDR), GIF (the max of the logical screen and the extents of every image descriptor
 * seen in the head), WebP (VP8 , VP8L, VP8X). null when the head does not contain it (e.g. a JPEG SOF
 * beyond the head), when it is malformed or declares a zero size, and for non-image types.
 */
export function imageDimensions(head: Uint8Array, mime: MediaMime): Dimensions | null {
  const dims = readDimensions(head, mime);
  return dims && dims.width > 0 && dims.height > 0 ? dims : null;
}

function readDimensions(head: Uint8Array, mime: MediaMime): Dimensions | null {
  switch (mime) {
    case "image/jpeg":
      return jpegDimensions(head);
    case "image/png":
      return pngDimensions(head);
    case "image/gif":
      return gifDimensions(head);
    case "image/webp":
      return webpDimensions(head);
    default:
      return null;
  }
}

/** Walks JPEG marker segments up to the first frame header (SOFn). */
function jpegDimensions(b: Uint8Array): Dimensions | null {
  if (!startsWith(b, [0xff, 0xd8])) return null;
  let at = 2;
  while (at < b.length) {
    if (b[at] !== 0xff) return null;
    while (at < b.length && b[at] === 0xff) at++; // fill bytes
    if (at >= b.length) return null;
    const marker = b[at++];
    if (isStandaloneMarker(marker)) continue;
    if (marker === 0xd9 || marker === 0xda) return null; // EOI or scan data before any frame header
    if (at + 2 > b.length) return null;
    const length = u16be(b, at);
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      if (length < 8 || at + 7 > b.length) return null;
      return { height: u16be(b, at + 3), width: u16be(b, at + 5) };
    }
    at += length;
  }
  return null;
}

/** Markers without a length field: TEM, RST0..7, SOI. */
function isStandaloneMarker(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8);
}

/** SOF0..SOF15, excluding DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** The IHDR chunk, which must come first. */
function pngDimensions(b: Uint8Array): Dimensions | null {
  if (b.length < 24 || !startsWith(b, PNG_MAGIC)) return null;
  if (u32be(b, 8) !== 13 || !startsWithAscii(b, 12, "IHDR")) return null;
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  if (width > 0x7fffffff || height > 0x7fffffff) return null;
  return { width, height };
}

/**
 * The logical screen, enlarged by every image descriptor found in the head (a frame may extend past the
 * declared screen, and decoders may allocate for it). Stops quietly at the trailer, at the end of the head
 * or at an unknown block.
 */
function gifDimensions(b: Uint8Array): Dimensions | null {
  if (b.length < 13) return null;
  let width = u16le(b, 6);
  let height = u16le(b, 8);
  let at = 13 + colorTableSize(b[10]);
  while (at < b.length) {
    const block = b[at];
    if (block === 0x21) {
      at = skipSubBlocks(b, at + 2);
    } else if (block === 0x2c) {
      if (at + 10 > b.length) break;
      width = Math.max(width, u16le(b, at + 1) + u16le(b, at + 5));
      height = Math.max(height, u16le(b, at + 3) + u16le(b, at + 7));
      at = skipSubBlocks(b, at + 10 + colorTableSize(b[at + 9]) + 1);
    } else {
      break; // trailer (0x3B) or malformed
    }
  }
  return { width, height };
}

/** Bytes of the (global or local) color table announced by a GIF packed-fields byte. */
function colorTableSize(flags: number): number {
  return flags & 0x80 ? 3 << ((flags & 0x07) + 1) : 0;
}

/** Offset just after a GIF sub-block chain (or past the end when it runs off the buffer). */
function skipSubBlocks(b: Uint8Array, at: number): number {
  while (at < b.length) {
    const n = b[at];
    at += 1 + n;
    if (n === 0) return at;
  }
  return b.length;
}

/** The first chunk of a WebP: VP8 (lossy), VP8L (lossless) or VP8X (extended canvas). */
function webpDimensions(b: Uint8Array): Dimensions | null {
  if (!startsWithAscii(b, 0, "RIFF") || !startsWithAscii(b, 8, "WEBP")) return null;
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8L") {
    if (b.length < 25 || b[20] !== 0x2f) return null;
    const bits = u32le(b, 21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (b.length < 30) return null;
  if (chunk === "VP8 ") {
    if (!startsWith(b.subarray(23), [0x9d, 0x01, 0x2a])) return null;
    return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  if (chunk === "VP8X") return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  return null;
}

function startsWith(b: Uint8Array, magic: number[]): boolean {
  return b.length >= magic.length && magic.every((m, i) => b[i] === m);
}

function startsWithAscii(b: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > b.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function ascii(b: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...b.subarray(at, Math.min(at + length, b.length)));
}

function u16be(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function u16le(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function u24le(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
}

function u32le(b: Uint8Array, at: number): number {
  return ((b[at + 3] << 24) >>> 0) + ((b[at + 2] << 16) | (b[at + 1] << 8) | b[at]);
}
