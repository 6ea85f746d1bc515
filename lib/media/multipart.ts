/**
 * Streaming multipart/form-data parser (RFC 2046 framing, RFC 7578 form data) for large uploads.
 *
 * The body is scanned once: between source chunks the parser keeps only a carry shorter than the
 * delimiter (`\r\n--boundary`), and part bytes are handed to the consumer as they arrive, so a part is
 * never held in memory. A `\r\n--boundary` that is not followed by `--`, transport padding + CRLF is
 * not a delimiter (RFC 2046 grammar) and passes through as content.
 */
import { AppError } from "@/lib/errors.ts";
import { parseParams, parsePartHeaders } from "./form_headers.ts";

export { sanitizeFilename } from "./form_headers.ts";

/** One part of a multipart/form-data body. */
export interface Part {
  /** The form field name (from Content-Disposition: form-data; name="..."). */
  name: string;
  /** The filename parameter (filename* RFC 5987 too), or null for plain fields. Raw, unsanitized. */
  filename: string | null;
  /** The part's Content-Type header, or null when absent. */
  contentType: string | null;
  /** The part's bytes as they arrive. Consume it fully or cancel it before asking for the next part. */
  body: ReadableStream<Uint8Array>;
}

/** Limits applied while parsing; exceeding one throws AppError(400, "bad_multipart"). */
export interface MultipartLimits {
  /** Most parts accepted (default 10). */
  maxParts?: number;
  /** Most header bytes per part (default 8192); a preamble before the first delimiter counts too. */
  maxHeaderBytes?: number;
}

const CR = 13;
const LF = 10;
const DASH = 45;
const SP = 32;
const HT = 9;
/** Transport padding allowed after a delimiter before it is no longer taken for one. */
const MAX_PADDING = 256;
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const encoder = new TextEncoder();

/** What follows a delimiter: another part or the end of the body. */
type DelimiterKind = "part" | "close";
/** A step of body scanning: some body bytes, or the delimiter that ends the part. */
type BodyStep = { chunk: Uint8Array } | { end: DelimiterKind };

/** The error every malformed body raises. */
function fail(message: string): AppError {
  return new AppError(400, "bad_multipart", message);
}

/**
 * The boundary from a Content-Type header; throws AppError(400, "bad_multipart") when the header is not
 * multipart/form-data with a valid boundary (1-70 chars, RFC 2046 charset, quoted or not).
 */
export function boundaryOf(contentType: string | null | undefined): string {
  if (!contentType) throw fail("Send the body as multipart/form-data.");
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type !== "multipart/form-data") throw fail("Send the body as multipart/form-data.");
  const boundary = semi < 0 ? undefined : parseParams(contentType, semi).get("boundary");
  if (boundary === undefined || !BOUNDARY_RE.test(boundary)) {
    throw fail("The multipart boundary is missing or invalid.");
  }
  return boundary;
}

/** Parts of a multipart/form-data body in order. */
export async function* parseMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  limits: MultipartLimits = {},
): AsyncGenerator<Part> {
  if (boundary.length < 1 || boundary.length > 70) throw fail("The multipart boundary is invalid.");
  const maxParts = limits.maxParts ?? 10;
  const maxHeaderBytes = limits.maxHeaderBytes ?? 8192;
  const scanner = new Scanner(body.getReader(), boundary);
  let current: PartBody | null = null;
  try {
    let kind = await scanner.skipPreamble(maxHeaderBytes);
    for (let count = 1; kind === "part"; count++) {
      if (count > maxParts) throw fail(`The form has more than ${maxParts} parts.`);
      const fields = parsePartHeaders(await scanner.readHeaders(maxHeaderBytes));
      current = new PartBody(scanner);
      yield { ...fields, body: current.stream };
      kind = await current.finish();
      current = null;
    }
  } finally {
    current?.detach();
    await scanner.close();
  }
}

/**
 * Reads the source, finds delimiters and hands out body bytes. Operations run one at a time
 * (`exclusive`) because both the generator and a part's body stream drive it.
 */
class Scanner {
  /** Unconsumed bytes; after a body step at most a delimiter prefix (plus padding) stays here. */
  buf: Uint8Array;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #delimiter: Uint8Array;
  #tail: Promise<unknown> = Promise.resolve();
  #error: unknown = null;
  #closed = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, boundary: string) {
    this.#reader = reader;
    this.#delimiter = encoder.encode(`\r\n--${boundary}`);
    // A virtual CRLF lets a body that starts with `--boundary` match like any later delimiter.
    this.buf = Uint8Array.of(CR, LF);
  }

  /** Runs `fn` after every earlier operation; a failure is remembered and rethrown by later ones. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#error !== null) throw this.#error;
      if (this.#closed) throw new Error("The multipart parser was closed.");
      return fn();
    }).catch((error) => {
      this.#error ??= error;
      throw error;
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Discards the preamble (at most `limit` bytes) and the first delimiter. */
  skipPreamble(limit: number): Promise<DelimiterKind> {
    return this.exclusive(async () => {
      let skipped = 0;
      for (;;) {
        const step = await this.#bodyStep("The body does not contain the multipart boundary.");
        if ("end" in step) return step.end;
        skipped += step.chunk.length;
        if (skipped > limit + 2) throw fail("The body does not start with the multipart boundary.");
      }
    });
  }

  /** The raw header block of the next part (without the blank line), at most `limit` bytes. */
  readHeaders(limit: number): Promise<Uint8Array> {
    return this.exclusive(async () => {
      let from = 0;
      for (;;) {
        const buf = this.buf;
        if (buf.length >= 2 && buf[0] === CR && buf[1] === LF) return this.#take(2).subarray(0, 0);
        const end = indexOfBlankLine(buf, from);
        if (end > limit || (end < 0 && buf.length - 3 > limit)) {
          throw fail(`A part's headers are longer than ${limit} bytes.`);
        }
        if (end >= 0) return this.#take(end + 4).slice(0, end);
        from = Math.max(0, buf.length - 3);
        if (!await this.#fill()) throw fail("The upload ended inside a part's headers.");
      }
    });
  }

  /** Stops reading: cancels the source (the epilogue, an unfinished upload) and fails later operations. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#reader.cancel();
    } catch {
      // An errored source has already reported its error.
    }
  }

  /**
   * One scanning step through a part's body; call it inside `exclusive`. Never emits an empty chunk,
   * and keeps only a possible delimiter start (plus transport padding) buffered.
   */
  bodyStep(): Promise<BodyStep> {
    return this.#bodyStep("The upload ended before the closing multipart boundary.");
  }

  async #bodyStep(truncated: string): Promise<BodyStep> {
    const delimiter = this.#delimiter;
    let from = 0;
    for (;;) {
      const { index, full } = findDelimiter(this.buf, delimiter, from);
      if (full) {
        const tail = delimiterTail(this.buf, index + delimiter.length);
        if (tail === "invalid") {
          from = index + 1;
          continue;
        }
        if (index > 0) return { chunk: this.#take(index) };
        if (tail !== "more") {
          this.#take(delimiter.length + tail.length);
          return { end: tail.kind };
        }
      } else if (index > 0) {
        return { chunk: this.#take(index) };
      }
      if (!await this.#fill()) throw fail(truncated);
      from = 0;
    }
  }

  /** Appends the next non-empty source chunk; false at the end of the source. */
  async #fill(): Promise<boolean> {
    for (;;) {
      const { done, value } = await this.#reader.read();
      if (done) return false;
      if (value.length === 0) continue;
      this.buf = this.buf.length === 0 ? value : concat(this.buf, value);
      return true;
    }
  }

  /** Removes and returns the first `n` buffered bytes. */
  #take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** The body stream of one part, pulled on demand; `finish` skips whatever the consumer left. */
class PartBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #scanner: Scanner;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** The delimiter that ended the body, set inside the scanner's lock as soon as it is found. */
  #end: DelimiterKind | null = null;
  /** Whether the stream is closed, errored or cancelled. */
  #settled = false;

  constructor(scanner: Scanner) {
    this.#scanner = scanner;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => this.#pull(),
      cancel: () => {
        this.#settled = true;
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Skips the rest of the body (draining, not buffering) and returns what follows it. A body the
   * consumer left unread is errored so a late read cannot mistake it for a complete one.
   */
  finish(): Promise<DelimiterKind> {
    let skipped = false;
    return this.#scanner.exclusive(async () => {
      for (let step = await this.#step(); "chunk" in step; step = await this.#step()) skipped = true;
      return this.#end!;
    }).then((kind) => {
      if (skipped) {
        this.#fail(new Error("The part's body was skipped: read it before asking for the next part."));
      } else this.#close();
      return kind;
    }, (error) => {
      this.#fail(error);
      throw error;
    });
  }

  /** Fails a body the consumer still holds once the parser stops. */
  detach(): void {
    this.#fail(new Error("The multipart parser stopped before this part's body was read."));
  }

  async #pull(): Promise<void> {
    try {
      const step = await this.#scanner.exclusive(() => this.#step());
      if (this.#settled) return;
      if ("chunk" in step) this.#controller.enqueue(step.chunk);
      else this.#close();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** One body step, remembering the end so no later step reads into the next part. */
  async #step(): Promise<BodyStep> {
    if (this.#end !== null) return { end: this.#end };
    const step = await this.#scanner.bodyStep();
    if ("end" in step) this.#end = step.end;
    return step;
  }

  #close(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#controller.close();
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#controller.error(error);
  }
}

/**
 * The first full match of `delimiter` at or after `from` (`full`), else where a delimiter prefix
 * runs to the end of `buf`, else `buf.length`; everything before `index` is plain content.
 */
function findDelimiter(
  buf: Uint8Array,
  delimiter: Uint8Array,
  from: number,
): { index: number; full: boolean } {
  for (let i = buf.indexOf(CR, from); i !== -1; i = buf.indexOf(CR, i + 1)) {
    const n = Math.min(delimiter.length, buf.length - i);
    let j = 1;
    while (j < n && buf[i + j] === delimiter[j]) j++;
    if (j === n) return { index: i, full: n === delimiter.length };
  }
  return { index: buf.length, full: false };
}

/**
 * What follows `--boundary` at `at`: `--` closes, transport padding + CRLF starts a part; "more" when
 * the buffer ends first, "invalid" when it is content that merely looks like a delimiter.
 */
function delimiterTail(
  buf: Uint8Array,
  at: number,
): { kind: DelimiterKind; length: number } | "more" | "invalid" {
  if (at >= buf.length) return "more";
  if (buf[at] === DASH) {
    if (at + 1 >= buf.length) return "more";
    return buf[at + 1] === DASH ? { kind: "close", length: 2 } : "invalid";
  }
  let i = at;
  while (i < buf.length && (buf[i] === SP || buf[i] === HT)) {
    if (++i - at > MAX_PADDING) return "invalid";
  }
  if (i >= buf.length) return "more";
  if (buf[i] !== CR) return "invalid";
  if (i + 1 >= buf.length) return "more";
  return buf[i + 1] === LF ? { kind: "part", length: i + 2 - at } : "invalid";
}

/** Index of `\r\n\r\n` at or after `from`, or -1. */
function indexOfBlankLine(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(CR, from); i !== -1 && i + 3 < buf.length; i = buf.indexOf(CR, i + 1)) {
    if (buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
