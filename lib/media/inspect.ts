/**
 * Streaming upload inspection: decides whether an upload is one of the accepted media types, free of
 * polyglot content, within the pixel limit and complete — without ever holding the whole file in memory.
 * The inspector keeps at most `maxHeadBytes` of the head and the last 64 KiB as a tail, plus a tiny state
 * machine that follows the top-level MP4 boxes as chunks stream by.
 */
import type { MediaMime, MediaType } from "./sniff.ts";
import { containsMarkup, imageDimensions, sniff, SNIFF_BYTES } from "./sniff.ts";

/** A refusal: HTTP status, stable machine code and a sentence for the user. */
export interface InspectProblem {
  status: 415 | 422;
  code: string;
  message: string;
}

/** Limits applied by an Inspector. */
export interface InspectLimits {
  /** Largest accepted width × height of an image. */
  maxPixels: number;
  /** How many leading bytes are kept to read headers (default 1 MiB, at least 1 KiB). */
  maxHeadBytes?: number;
}

/** The verdict for an accepted file; width/height are null for PDFs and videos. */
export interface InspectResult {
  type: MediaType;
  width: number | null;
  height: number | null;
}

const DEFAULT_HEAD_BYTES = 1024 * 1024;
const MIN_HEAD_BYTES = 1024;
const TAIL_BYTES = 64 * 1024;
const TYPE_MIN_BYTES = 16;
const PDF_EOF_WINDOW = 1024;
const PNG_IEND = [0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
const ZIP_EOCD = [0x50, 0x4b, 0x05, 0x06];
const ZIP_LOCAL_HEADER = [0x50, 0x4b, 0x03, 0x04];

const problems = {
  empty: problem(422, "empty_file", "The file is empty."),
  unsupported: problem(
    415,
    "unsupported_type",
    "This file type is not supported. Please upload a JPEG, PNG, GIF, WebP, PDF, MP4 or WebM file.",
  ),
  polyglot: problem(
    415,
    "polyglot",
    "This file contains hidden content of another type (such as web page code or an archive), " +
      "so it cannot be uploaded.",
  ),
  unreadable: problem(
    422,
    "unreadable_header",
    "The size of this image could not be read. The file may be damaged.",
  ),
  truncated: problem(
    422,
    "truncated",
    "The file seems to be incomplete or damaged. Please try uploading it again.",
  ),
  trailing: problem(
    422,
    "trailing_data",
    "The file has unexpected extra data after its end. The file may be damaged.",
  ),
};

/** A frozen problem (shared verdicts must not be mutated by callers). */
function problem(status: 415 | 422, code: string, message: string): InspectProblem {
  return Object.freeze({ status, code, message });
}

/** Incremental inspector, fed an upload's chunks in order. */
export class Inspector {
  readonly #maxPixels: number;
  readonly #maxHead: number;
  #head: Uint8Array;
  #headLength = 0;
  readonly #tail = new Uint8Array(TAIL_BYTES);
  #tailPos = 0;
  #bytes = 0;
  #ended = false;
  readonly #boxes = new BoxTracker();
  #cachedType: MediaType | null = null;
  #early: { at: number; problem: InspectProblem | null } | null = null;

  /** Throws RangeError on limits that make no sense (non-positive pixels, a head under 1 KiB). */
  constructor(limits: InspectLimits) {
    const maxHead = limits.maxHeadBytes ?? DEFAULT_HEAD_BYTES;
    if (!(limits.maxPixels > 0)) throw new RangeError("maxPixels must be positive");
    if (!Number.isSafeInteger(maxHead) || maxHead < MIN_HEAD_BYTES) {
      throw new RangeError(`maxHeadBytes must be an integer of at least ${MIN_HEAD_BYTES}`);
    }
    this.#maxPixels = limits.maxPixels;
    this.#maxHead = maxHead;
    this.#head = new Uint8Array(Math.min(maxHead, 16 * 1024));
  }

  /** Feed the next chunk (in order). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#boxes.push(chunk, this.#bytes);
    this.#appendHead(chunk);
    this.#appendTail(chunk);
    this.#bytes += chunk.length;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes currently allocated for the head and tail buffers (for memory accounting). */
  get retained(): { head: number; tail: number } {
    return { head: this.#head.length, tail: this.#tail.length };
  }

  /** The sniffed type once at least 16 bytes (or EOF) were seen, else null. */
  get type(): MediaType | null {
    if (this.#cachedType) return this.#cachedType;
    if (this.#headLength < TYPE_MIN_BYTES && !this.#ended) return null;
    const type = sniff(this.#headView());
    // More bytes can still reveal MP4 compatible brands or the WebM DocType, so only cache a final answer.
    if (this.#headLength >= SNIFF_BYTES || this.#ended) this.#cachedType = type;
    return type;
  }

  /**
   * Call after the first >= 4096 bytes (or at EOF): a problem that can already be decided (415 unsupported
   * type or markup; 422 too many pixels when the image header is already in the head, or unreadable header
   * once the head is full), else null. Cheap and idempotent.
   */
  early(): InspectProblem | null {
    if (this.#early?.at !== this.#headLength) {
      this.#early = { at: this.#headLength, problem: this.#decideEarly() };
    }
    return this.#early.problem;
  }

  /** Call at EOF: the final verdict. */
  finish(): InspectResult | InspectProblem {
    this.#ended = true;
    if (this.#bytes === 0) return problems.empty;
    const type = this.type;
    if (!type) return problems.unsupported;
    const tail = this.#tailView();
    if (containsMarkup(this.#headView()) || containsZip(tail)) return problems.polyglot;
    const dims = this.#dimensions(type.mime);
    if (dims && !("width" in dims)) return dims;
    const ending = this.#checkEnding(type.mime, tail);
    if (ending) return ending;
    return { type, width: dims?.width ?? null, height: dims?.height ?? null };
  }

  #decideEarly(): InspectProblem | null {
    if (this.#bytes === 0) return null;
    const type = sniff(this.#headView());
    if (!type) return problems.unsupported;
    if (containsMarkup(this.#headView())) return problems.polyglot;
    const dims = this.#dimensions(type.mime);
    if (dims && !("width" in dims)) {
      const headFull = this.#headLength >= this.#maxHead;
      return dims.code === "unreadable_header" && !headFull ? null : dims;
    }
    return null;
  }

  /** Image dimensions within the pixel limit, a problem, or null for non-images. */
  #dimensions(mime: MediaMime): { width: number; height: number } | InspectProblem | null {
    if (!mime.startsWith("image/")) return null;
    const dims = imageDimensions(this.#headView(), mime);
    if (!dims) return problems.unreadable;
    if (dims.width * dims.height > this.#maxPixels) return tooManyPixels(this.#maxPixels);
    return dims;
  }

  /** Truncation / trailing-data checks, per type. */
  #checkEnding(mime: MediaMime, tail: Uint8Array): InspectProblem | null {
    switch (mime) {
      case "image/jpeg":
        return endsWith(trimTrailingZeros(tail), [0xff, 0xd9]) ? null : problems.truncated;
      case "image/png":
        if (endsWith(tail, PNG_IEND)) return null;
        return indexOf(tail, PNG_IEND) >= 0 ? problems.trailing : problems.truncated;
      case "image/gif":
        return tail[tail.length - 1] === 0x3b ? null : problems.truncated;
      case "image/webp":
        return this.#checkRiffSize();
      case "application/pdf":
        return indexOf(tail.subarray(-PDF_EOF_WINDOW), ascii("%%EOF")) >= 0 ? null : problems.truncated;
      case "video/mp4":
        return this.#boxes.tilesExactly(this.#bytes) && this.#boxes.sawMoov ? null : problems.truncated;
      case "video/webm":
        // No end check for WebM: live-recorded files (MediaRecorder) legitimately end mid-cluster and leave
        // unknown sizes in their Segment/Cluster headers, so there is no reliable end marker to look for.
        return null;
    }
  }

  /** The RIFF size field (+ 8) must equal the total size. */
  #checkRiffSize(): InspectProblem | null {
    const declared = u32le(this.#headView(), 4) + 8;
    if (declared === this.#bytes) return null;
    return declared < this.#bytes ? problems.trailing : problems.truncated;
  }

  #appendHead(chunk: Uint8Array): void {
    const take = Math.min(chunk.length, this.#maxHead - this.#headLength);
    if (take <= 0) return;
    const needed = this.#headLength + take;
    if (needed > this.#head.length) {
      let capacity = this.#head.length;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, this.#maxHead));
      grown.set(this.#headView());
      this.#head = grown;
    }
    this.#head.set(chunk.subarray(0, take), this.#headLength);
    this.#headLength = needed;
  }

  /** Writes into the tail ring buffer; only the last TAIL_BYTES of a big chunk matter. */
  #appendTail(chunk: Uint8Array): void {
    const skip = Math.max(0, chunk.length - TAIL_BYTES);
    let pos = (this.#tailPos + skip) % TAIL_BYTES;
    const data = chunk.subarray(skip);
    const first = Math.min(data.length, TAIL_BYTES - pos);
    this.#tail.set(data.subarray(0, first), pos);
    this.#tail.set(data.subarray(first), 0);
    pos = (pos + data.length) % TAIL_BYTES;
    this.#tailPos = pos;
  }

  #headView(): Uint8Array {
    return this.#head.subarray(0, this.#headLength);
  }

  /** The last min(bytes, 64 KiB) bytes, in order. */
  #tailView(): Uint8Array {
    if (this.#bytes <= TAIL_BYTES) return this.#tail.subarray(0, this.#bytes);
    const ordered = new Uint8Array(TAIL_BYTES);
    ordered.set(this.#tail.subarray(this.#tailPos));
    ordered.set(this.#tail.subarray(0, this.#tailPos), TAIL_BYTES - this.#tailPos);
    return ordered;
  }
}

/**
 * Follows top-level ISO-BMFF boxes across chunk boundaries, looking only at box headers. It runs for every
 * upload (it is cheap) and is only consulted when the file sniffs as MP4.
 */
class BoxTracker {
  /** Absolute offset of the box whose header is being read. */
  #boxStart = 0;
  readonly #header = new Uint8Array(16);
  #headerLength = 0;
  #headerNeed = 8;
  #malformed = false;
  #toEof = false;
  /** Whether a top-level `moov` box was seen. */
  sawMoov = false;

  /** Consumes a chunk that starts at absolute offset `chunkStart`. */
  push(chunk: Uint8Array, chunkStart: number): void {
    while (!this.#malformed && !this.#toEof) {
      const at = this.#boxStart + this.#headerLength - chunkStart;
      if (at >= chunk.length) return;
      const take = Math.min(this.#headerNeed - this.#headerLength, chunk.length - at);
      this.#header.set(chunk.subarray(at, at + take), this.#headerLength);
      this.#headerLength += take;
      if (this.#headerLength < this.#headerNeed) return;
      this.#readHeader();
    }
  }

  /** True when the boxes end exactly at `total` (or the last one extends to EOF) and none was malformed. */
  tilesExactly(total: number): boolean {
    if (this.#malformed) return false;
    if (this.#toEof) return true;
    return this.#headerLength === 0 && this.#boxStart === total;
  }

  #readHeader(): void {
    const size32 = u32be(this.#header, 0);
    if (size32 === 1 && this.#headerNeed === 8) {
      this.#headerNeed = 16; // 64-bit largesize follows the type
      return;
    }
    const size = size32 === 1 ? u64be(this.#header, 8) : size32;
    if (ascii("moov").every((c, i) => this.#header[4 + i] === c)) this.sawMoov = true;
    if (size32 === 0) {
      this.#toEof = true;
    } else if (size < this.#headerNeed || !Number.isSafeInteger(size)) {
      this.#malformed = true;
    } else {
      this.#boxStart += size;
      this.#headerLength = 0;
      this.#headerNeed = 8;
    }
  }
}

/** Whether `x` is an InspectProblem (as opposed to a successful verdict). */
export function isProblem(x: unknown): x is InspectProblem {
  if (typeof x !== "object" || x === null) return false;
  const p = x as Record<string, unknown>;
  return (p.status === 415 || p.status === 422) && typeof p.code === "string" &&
    typeof p.message === "string";
}

function tooManyPixels(maxPixels: number): InspectProblem {
  const limit = formatMegapixels(maxPixels);
  return problem(422, "too_many_pixels", `The image has too many pixels. The limit is ${limit} megapixels.`);
}

/** 40000000 → "40", 2500000 → "2.5", 1000 → "0.001". */
function formatMegapixels(pixels: number): string {
  const mp = pixels / 1e6;
  return String(mp >= 1 ? Math.round(mp * 10) / 10 : Number(mp.toPrecision(2)));
}

/** A ZIP end-of-central-directory record or local file header anywhere in the bytes. */
function containsZip(bytes: Uint8Array): boolean {
  return indexOf(bytes, ZIP_EOCD) >= 0 || indexOf(bytes, ZIP_LOCAL_HEADER) >= 0;
}

function trimTrailingZeros(b: Uint8Array): Uint8Array {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

function endsWith(b: Uint8Array, suffix: number[]): boolean {
  if (b.length < suffix.length) return false;
  const from = b.length - suffix.length;
  return suffix.every((s, i) => b[from + i] === s);
}

/** First offset of `needle` in `hay`, or -1. */
function indexOf(hay: Uint8Array, needle: number[]): number {
  const last = hay.length - needle.length;
  for (let at = hay.indexOf(needle[0]); at !== -1 && at <= last; at = hay.indexOf(needle[0], at + 1)) {
    if (needle.every((n, i) => hay[at + i] === n)) return at;
  }
  return -1;
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
}

function u32le(b: Uint8Array, at: number): number {
  return ((b[at + 3] << 24) >>> 0) + ((b[at + 2] << 16) | (b[at + 1] << 8) | b[at]);
}

function u64be(b: Uint8Array, at: number): number {
  return u32be(b, at) * 2 ** 32 + u32be(b, at + 4);
}
