/**
 * Minimal, defensive readers/writers for image metadata containers.
 *
 * Everything here is bounds-checked and never throws: malformed input yields the documented default.
 * @module
 */

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"
const TAG_ORIENTATION = 0x0112;
const TYPE_SHORT = 3;

/** Reads a big-endian u16, or -1 when out of bounds. */
function be16(bytes: Uint8Array, at: number): number {
  return at >= 0 && at + 2 <= bytes.length ? (bytes[at] << 8) | bytes[at + 1] : -1;
}

/** True when `bytes` holds `pattern` starting at `at`. */
function matchesAt(bytes: Uint8Array, at: number, pattern: ArrayLike<number>): boolean {
  if (at < 0 || at + pattern.length > bytes.length) return false;
  for (let i = 0; i < pattern.length; i++) if (bytes[at + i] !== pattern[i]) return false;
  return true;
}

/** Markers without a length field (TEM, RSTn, SOI, EOI). */
function isStandaloneMarker(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

/** Finds the TIFF payload of the first EXIF APP1 segment, as [start, end) offsets, or null. */
function findExifTiff(jpeg: Uint8Array): [number, number] | null {
  if (be16(jpeg, 0) !== 0xffd8) return null;
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) return null;
    const marker = jpeg[i + 1];
    if (marker === 0xff) { // fill byte
      i++;
      continue;
    }
    if (isStandaloneMarker(marker)) {
      if (marker === 0xd9) return null;
      i += 2;
      continue;
    }
    if (marker === 0xda) return null; // start of scan: no metadata after this point
    const length = be16(jpeg, i + 2);
    if (length < 2 || i + 2 + length > jpeg.length) return null;
    const dataStart = i + 4;
    if (marker === 0xe1 && matchesAt(jpeg, dataStart, EXIF_HEADER)) {
      return [dataStart + EXIF_HEADER.length, i + 2 + length];
    }
    i += 2 + length;
  }
  return null;
}

/** Reads the Orientation entry of IFD0 from a TIFF structure, or 1. */
function tiffOrientation(tiff: DataView): number {
  if (tiff.byteLength < 8) return 1;
  const order = tiff.getUint16(0, false);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  if (tiff.getUint16(2, little) !== 42) return 1;
  const ifd = tiff.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.byteLength) return 1;
  const count = tiff.getUint16(ifd, little);
  for (let n = 0; n < count; n++) {
    const entry = ifd + 2 + n * 12;
    if (entry + 12 > tiff.byteLength) return 1;
    if (tiff.getUint16(entry, little) !== TAG_ORIENTATION) continue;
    if (tiff.getUint16(entry + 2, little) !== TYPE_SHORT) return 1;
    const value = tiff.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * The EXIF orientation (1..8) of a JPEG, read from IFD0 tag 0x0112 of its EXIF APP1 segment.
 * Handles both byte orders. Returns 1 when absent or malformed; never throws.
 */
export function jpegOrientation(jpeg: Uint8Array): number {
  const range = findExifTiff(jpeg);
  if (!range) return 1;
  const [start, end] = range;
  return tiffOrientation(new DataView(jpeg.buffer, jpeg.byteOffset + start, end - start));
}

interface Chunk {
  id: string;
  /** Offset of the chunk header (id) in the source. */
  start: number;
  /** Offset just past the chunk, including its pad byte. */
  end: number;
}

/** Reads a four-character code. */
function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

/** Splits a RIFF WebP into its chunks, or null when the container is malformed. */
function webpChunks(webp: Uint8Array): Chunk[] | null {
  if (webp.length < 12 || fourcc(webp, 0) !== "RIFF" || fourcc(webp, 8) !== "WEBP") return null;
  const view = new DataView(webp.buffer, webp.byteOffset, webp.byteLength);
  const riffEnd = Math.min(webp.length, 8 + view.getUint32(4, true));
  const chunks: Chunk[] = [];
  let i = 12;
  while (i + 8 <= riffEnd) {
    const size = view.getUint32(i + 4, true);
    const end = i + 8 + size + (size & 1);
    if (i + 8 + size > riffEnd) return null;
    chunks.push({ id: fourcc(webp, i), start: i, end: Math.min(end, riffEnd) });
    i = end;
  }
  return chunks.length > 0 ? chunks : null;
}

const VP8X_EXIF_FLAG = 0x08;
const VP8X_XMP_FLAG = 0x04;
const WEBP_METADATA_CHUNKS = new Set(["EXIF", "XMP "]);

/**
 * Removes `EXIF` and `XMP ` chunks from a RIFF WebP, clears the matching VP8X flag bits and fixes the
 * RIFF size. Returns the input unchanged when the container cannot be parsed.
 */
export function stripWebpMetadata(webp: Uint8Array): Uint8Array {
  const chunks = webpChunks(webp);
  if (!chunks) return webp;
  const kept = chunks.filter((chunk) => !WEBP_METADATA_CHUNKS.has(chunk.id));
  const bodyLength = kept.reduce((sum, chunk) => sum + chunk.end - chunk.start, 0);
  const out = new Uint8Array(12 + bodyLength);
  out.set(webp.subarray(0, 12));
  new DataView(out.buffer).setUint32(4, 4 + bodyLength, true);
  let at = 12;
  for (const chunk of kept) {
    out.set(webp.subarray(chunk.start, chunk.end), at);
    if (chunk.id === "VP8X" && chunk.end - chunk.start > 8) out[at + 8] &= ~(VP8X_EXIF_FLAG | VP8X_XMP_FLAG);
    at += chunk.end - chunk.start;
  }
  return out;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_METADATA_CHUNKS = new Set(["tEXt", "zTXt", "iTXt", "tIME", "eXIf"]);

/**
 * Removes textual and timestamp metadata chunks (`tEXt`, `zTXt`, `iTXt`, `tIME`, `eXIf`) from a PNG.
 * Returns the input unchanged when it cannot be parsed.
 */
export function stripPngMetadata(png: Uint8Array): Uint8Array {
  if (!matchesAt(png, 0, PNG_SIGNATURE)) return png;
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  let i = 8;
  while (i + 12 <= png.length) {
    const end = i + 12 + view.getUint32(i, false);
    if (end > png.length) return png;
    if (!PNG_METADATA_CHUNKS.has(fourcc(png, i + 4))) parts.push(png.subarray(i, end));
    i = end;
  }
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
