import assert from "node:assert/strict";
import { Image } from "imagescript";
import { type InspectLimits, Inspector, type InspectProblem, isProblem } from "./inspect.ts";
import { imageDimensions, type MediaMime, sniff } from "./sniff.ts";

// ---------------------------------------------------------------------------------------------------------
// Fixture builders (minimal but structurally valid files).

type Part = Uint8Array | number[] | string;

function bytes(...parts: Part[]): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === "string" ? new TextEncoder().encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)
  );
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

const u16be = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u16le = (n: number) => [n & 0xff, (n >> 8) & 0xff];
const u32be = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];

const png = (w: number, h: number) => new Image(w, h).encode();
const jpeg = (w: number, h: number) => new Image(w, h).encodeJPEG(80);

function gif(w: number, h: number): Uint8Array {
  return bytes(
    "GIF89a",
    u16le(w),
    u16le(h),
    [0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff],
    [0x2c, 0, 0, 0, 0, ...u16le(w), ...u16le(h), 0],
    [0x02, 0x02, 0x44, 0x01, 0x00],
    [0x3b],
  );
}

function riff(chunkType: string, data: Part): Uint8Array {
  const payload = bytes(data);
  const chunk = bytes(chunkType, u32le(payload.length), payload, payload.length % 2 ? [0] : []);
  return bytes("RIFF", u32le(4 + chunk.length), "WEBP", chunk);
}

const webpLossless = (w: number, h: number) =>
  riff("VP8L", [0x2f, ...u32le(((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14)), 0x10, 0x07, 0x10, 0x11]);
const webpLossy = (w: number, h: number) =>
  riff("VP8 ", [0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, ...u16le(w), ...u16le(h), 1, 2, 3, 4, 5]);

function webpExtended(w: number, h: number): Uint8Array {
  const vp8x = bytes("VP8X", u32le(10), [0, 0, 0, 0], u32le(w - 1).slice(0, 3), u32le(h - 1).slice(0, 3));
  const inner = webpLossless(w, h).subarray(12);
  return bytes("RIFF", u32le(4 + vp8x.length + inner.length), "WEBP", vp8x, inner);
}

const pdf = (body = "1 0 obj\n<< /Type /Catalog >>\nendobj\n") =>
  bytes("%PDF-1.4\n", body, "trailer\n<< /Root 1 0 R >>\n%%EOF\n");

function box(type: string, ...payload: Part[]): Uint8Array {
  const data = bytes(...payload);
  return bytes(u32be(8 + data.length), type, data);
}

const ftyp = (major = "isom", ...compatible: string[]) =>
  box("ftyp", major, u32be(0x200), ...(compatible.length ? compatible : ["isom", "iso2", "avc1", "mp41"]));
const moov = () => box("moov", box("mvhd", new Uint8Array(100)));
const mp4 = (mdatSize = 64) => bytes(ftyp(), moov(), box("mdat", new Uint8Array(mdatSize).fill(7)));

function webm(docType = "webm", body: Part = new Uint8Array(40)): Uint8Array {
  const header = bytes(
    [0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01],
    [0x42, 0x82, 0x84],
    docType.slice(0, 4),
  );
  const ebml = bytes([0x1a, 0x45, 0xdf, 0xa3, 0x80 | header.length], header);
  return bytes(ebml, [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], body);
}

function zip(): Uint8Array {
  const name = "evil.class";
  const data = "payload";
  const local = bytes([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0], u32le(0), u32le(7), u32le(7));
  const entry = bytes(local, u16le(name.length), u16le(0), name, data);
  const central = bytes([0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0], new Uint8Array(38), name);
  const eocd = bytes(
    [0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0],
    u32le(central.length),
    u32le(entry.length),
    [0, 0],
  );
  return bytes(entry, central, eocd);
}

function insertAfterSoi(jpg: Uint8Array, marker: number, payload: Part): Uint8Array {
  const data = bytes(payload);
  return bytes(jpg.subarray(0, 2), [0xff, marker], u16be(data.length + 2), data, jpg.subarray(2));
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

const LIMITS: InspectLimits = { maxPixels: 50_000_000 };

type Verdict = ReturnType<Inspector["finish"]>;

function inspect(file: Uint8Array, chunkSize = file.length || 1, limits: InspectLimits = LIMITS): Verdict {
  const inspector = new Inspector(limits);
  for (let at = 0; at < file.length; at += chunkSize) inspector.push(file.subarray(at, at + chunkSize));
  return inspector.finish();
}

/** The inspector's current type (a function call, so assertions do not narrow the getter). */
function mimeOf(inspector: Inspector): MediaMime | undefined {
  return inspector.type?.mime;
}

function codeOf(v: Verdict): string {
  return isProblem(v) ? v.code : `ok:${v.type.mime}`;
}

function assertProblem(v: Verdict, status: 415 | 422, code: string, what = code): InspectProblem {
  assert.ok(isProblem(v), `${what}: expected ${code}, got ${JSON.stringify(v)}`);
  assert.equal(v.code, code, what);
  assert.equal(v.status, status);
  assert.ok(v.message.length > 10 && v.message.endsWith("."), v.message);
  return v;
}

/** Deterministic PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function validFiles(): Promise<[string, Uint8Array][]> {
  return [
    ["png", await png(8, 6)],
    ["jpeg", await jpeg(8, 6)],
    ["gif", gif(8, 6)],
    ["webp lossless", webpLossless(8, 6)],
    ["webp lossy", webpLossy(8, 6)],
    ["webp extended", webpExtended(8, 6)],
    ["pdf", pdf()],
    ["mp4", mp4()],
    ["webm", webm()],
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Accepted files.

Deno.test("[inspect] accepts each supported type with its dimensions", async () => {
  const expected: Record<string, [MediaMime, number | null, number | null]> = {
    "png": ["image/png", 8, 6],
    "jpeg": ["image/jpeg", 8, 6],
    "gif": ["image/gif", 8, 6],
    "webp lossless": ["image/webp", 8, 6],
    "webp lossy": ["image/webp", 8, 6],
    "webp extended": ["image/webp", 8, 6],
    "pdf": ["application/pdf", null, null],
    "mp4": ["video/mp4", null, null],
    "webm": ["video/webm", null, null],
  };
  for (const [name, file] of await validFiles()) {
    const v = inspect(file);
    assert.ok(!isProblem(v), `${name}: ${JSON.stringify(v)}`);
    const [mime, width, height] = expected[name];
    assert.deepEqual([v.type.mime, v.width, v.height], [mime, width, height], name);
  }
});

Deno.test("[inspect] MP4 box variants: size 0 to EOF, 64-bit largesize, moov last", () => {
  const toEof = bytes(ftyp(), moov(), u32be(0), "mdat", new Uint8Array(500));
  assert.equal(codeOf(inspect(toEof)), "ok:video/mp4");
  const large = bytes(ftyp(), moov(), u32be(1), "mdat", u32be(0), u32be(16 + 300), new Uint8Array(300));
  assert.equal(codeOf(inspect(large)), "ok:video/mp4");
  assert.equal(codeOf(inspect(large, 1)), "ok:video/mp4");
  const moovLast = bytes(ftyp(), box("free"), box("mdat", new Uint8Array(1000)), moov());
  assert.equal(codeOf(inspect(moovLast, 7)), "ok:video/mp4");
});

Deno.test("[inspect] JPEG with trailing zero padding is accepted", async () => {
  const file = bytes(await jpeg(4, 4), new Uint8Array(100));
  assert.equal(codeOf(inspect(file)), "ok:image/jpeg");
});

Deno.test("[inspect] JPEG with a large APP1 before the SOF is still measured within the head", async () => {
  const file = insertAfterSoi(await jpeg(30, 20), 0xe1, bytes("Exif\0\0", new Uint8Array(65_000)));
  const v = inspect(file, 4096);
  assert.ok(!isProblem(v));
  assert.deepEqual([v.width, v.height], [30, 20]);
  // The same file with a head too small to reach the SOF.
  assertProblem(inspect(file, 4096, { maxPixels: 1e6, maxHeadBytes: 8192 }), 422, "unreadable_header");
});

// ---------------------------------------------------------------------------------------------------------
// Refusals.

Deno.test("[inspect] an empty file", () => {
  const v = assertProblem(inspect(new Uint8Array()), 422, "empty_file");
  assert.equal(v.message, "The file is empty.");
  assert.equal(new Inspector(LIMITS).early(), null);
});

Deno.test("[inspect] unsupported types list what is accepted", () => {
  const files: [string, Uint8Array][] = [
    ["svg", bytes('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
    ["html renamed .png", bytes("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")],
    ["bmp", bytes("BM", u32le(58), u32le(0), u32le(54), u32le(40), u32le(1), u32le(1), new Uint8Array(32))],
    ["zip", zip()],
    ["text", bytes("hello world\n")],
    ["heic", bytes(ftyp("heic", "mif1", "heic"), moov())],
    ["quicktime", bytes(ftyp("qt  ", "qt  "), moov())],
    ["matroska", webm("matroska")],
    ["tiny", bytes([0xff])],
  ];
  for (const [name, file] of files) {
    const v = assertProblem(inspect(file), 415, "unsupported_type");
    for (const t of ["JPEG", "PNG", "GIF", "WebP", "PDF", "MP4", "WebM"]) {
      assert.match(v.message, new RegExp(t), name);
    }
  }
});

Deno.test("[inspect] markup in the first KiB makes any type a polyglot", async () => {
  const jpegHtml = insertAfterSoi(await jpeg(4, 4), 0xfe, "<script>alert(document.cookie)</script>");
  assertProblem(inspect(jpegHtml), 415, "polyglot");
  assertProblem(inspect(pdf("<html><body onload=alert(1)></body></html>\n")), 415, "polyglot");
  assertProblem(inspect(webm("webm", "<iframe src=//evil>")), 415, "polyglot");
  assertProblem(inspect(bytes(ftyp(), box("free", "<svg onload=alert(1)>"), moov())), 415, "polyglot");
  const gifComment = bytes(
    gif(2, 2).subarray(0, 19),
    [0x21, 0xfe, 8],
    "<a href=",
    [0],
    gif(2, 2).subarray(19),
  );
  assertProblem(inspect(gifComment), 415, "polyglot");
  // Markup after the first KiB is not a polyglot (browsers only sniff the start).
  const late = insertAfterSoi(await jpeg(4, 4), 0xfe, bytes(new Uint8Array(1100), "<script>"));
  assert.equal(codeOf(inspect(late)), "ok:image/jpeg");
});

Deno.test("[inspect] a ZIP in the tail is a polyglot (GIFAR, PDF+ZIP)", async () => {
  assertProblem(inspect(bytes(gif(4, 4), zip())), 415, "polyglot");
  assertProblem(inspect(bytes(pdf(), zip())), 415, "polyglot");
  assertProblem(inspect(bytes(await jpeg(4, 4), zip())), 415, "polyglot");
  const eocdOnly = bytes(mp4(), [0x50, 0x4b, 0x05, 0x06], new Uint8Array(18));
  assertProblem(inspect(eocdOnly, 1000), 415, "polyglot");
});

Deno.test("[inspect] too many pixels, decided from the header alone", async () => {
  const ihdr = bytes(u32be(13), "IHDR", u32be(100_000), u32be(100_000), [8, 6, 0, 0, 0], u32be(0));
  const header = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], ihdr);
  const file = bytes(header, new Uint8Array(100 - header.length));
  assert.equal(file.length, 100);
  const v = assertProblem(inspect(file), 422, "too_many_pixels");
  assert.match(v.message, /50 megapixels/);

  const inspector = new Inspector({ maxPixels: 2_500_000 });
  inspector.push(file);
  assert.match(
    assertProblem(inspector.early() as Verdict, 422, "too_many_pixels").message,
    /2\.5 megapixels/,
  );

  assertProblem(inspect(await png(20, 20), undefined, { maxPixels: 399 }), 422, "too_many_pixels");
  assert.equal(codeOf(inspect(await png(20, 20), undefined, { maxPixels: 400 })), "ok:image/png");
  assertProblem(inspect(webpExtended(20_000, 20_000)), 422, "too_many_pixels");
  const gifBomb = bytes(
    gif(1, 1).subarray(0, -1),
    [0x2c, 0, 0, 0, 0, ...u16le(60_000), ...u16le(60_000), 0],
    [
      0x02,
      0x02,
      0x44,
      0x01,
      0x00,
      0x3b,
    ],
  );
  assertProblem(inspect(gifBomb), 422, "too_many_pixels");
});

Deno.test("[inspect] unreadable or zero-size image headers", async () => {
  const zeroPng = await png(2, 2);
  zeroPng.set(u32be(0), 16);
  assertProblem(inspect(zeroPng), 422, "unreadable_header");
  assertProblem(inspect(gif(0, 0)), 422, "unreadable_header");
  assertProblem(inspect(bytes([0xff, 0xd8, 0xff, 0xd9])), 422, "unreadable_header");
  assertProblem(inspect(riff("ALPH", new Uint8Array(20))), 422, "unreadable_header");
});

Deno.test("[inspect] truncated files", async () => {
  const cut = (b: Uint8Array, n: number) => b.subarray(0, b.length - n);
  assertProblem(inspect(cut(await jpeg(16, 16), 1)), 422, "truncated");
  assertProblem(inspect(cut(await jpeg(16, 16), 40)), 422, "truncated");
  assertProblem(inspect(cut(await png(16, 16), 1)), 422, "truncated");
  assertProblem(inspect(cut(await png(16, 16), 20)), 422, "truncated");
  assertProblem(inspect(cut(gif(16, 16), 1)), 422, "truncated");
  assertProblem(inspect(cut(webpLossless(16, 16), 2)), 422, "truncated");
  assertProblem(inspect(cut(pdf(), 7)), 422, "truncated");
  assertProblem(inspect(cut(mp4(), 1)), 422, "truncated");
  assertProblem(inspect(cut(mp4(), 70)), 422, "truncated", "cut inside a box header");
  assertProblem(inspect(bytes(ftyp(), box("mdat", new Uint8Array(10)))), 422, "truncated", "no moov");
  assertProblem(inspect(bytes(ftyp(), moov(), u32be(4), "free")), 422, "truncated", "box size < 8");
  assertProblem(inspect(bytes(ftyp(), moov(), u32be(1), "mdat", u32be(0), u32be(8))), 422, "truncated");
  assertProblem(inspect(bytes(mp4(), "junk")), 422, "truncated", "bytes after the last box");
});

Deno.test("[inspect] trailing data after the end", async () => {
  assertProblem(inspect(bytes(await png(4, 4), "extra")), 422, "trailing_data");
  assertProblem(inspect(bytes(webpLossy(4, 4), "extra")), 422, "trailing_data");
  // JPEG/GIF cannot tell trailing data from truncation: both report "truncated".
  assertProblem(inspect(bytes(await jpeg(4, 4), "extra")), 422, "truncated");
  assertProblem(inspect(bytes(gif(4, 4), "extra")), 422, "truncated");
  // PDF only needs %%EOF near the end (incremental updates append after it).
  assert.equal(codeOf(inspect(bytes(pdf(), "\n"))), "ok:application/pdf");
});

// ---------------------------------------------------------------------------------------------------------
// Streaming behaviour.

Deno.test("[inspect] 1-byte chunks, odd chunks and one chunk give identical verdicts", async () => {
  const files: [string, Uint8Array][] = [
    ...await validFiles(),
    ["gifar", bytes(gif(4, 4), zip())],
    ["truncated png", (await png(8, 8)).subarray(0, 50)],
    ["trailing webp", bytes(webpLossy(4, 4), "x")],
    ["html", bytes("<html></html>")],
    ["large mp4", mp4(70_000)],
    ["big jpeg header", insertAfterSoi(await jpeg(5, 5), 0xe1, new Uint8Array(70_000))],
  ];
  for (const [name, file] of files) {
    const whole = inspect(file);
    assert.deepEqual(inspect(file, 1), whole, `${name} in 1-byte chunks`);
    assert.deepEqual(inspect(file, 4093), whole, `${name} in 4093-byte chunks`);
  }
});

Deno.test("[inspect] type appears after 16 bytes; early() is idempotent", async () => {
  const file = await jpeg(64, 64);
  const inspector = new Inspector(LIMITS);
  inspector.push(file.subarray(0, 15));
  assert.equal(inspector.type, null);
  assert.equal(inspector.bytes, 15);
  inspector.push(file.subarray(15, 4096));
  assert.equal(mimeOf(inspector), "image/jpeg");
  assert.equal(inspector.early(), null);
  assert.equal(inspector.early(), null);
  inspector.push(file.subarray(4096));
  assert.equal(inspector.bytes, file.length);
  assert.equal(codeOf(inspector.finish()), "ok:image/jpeg");

  const html = new Inspector(LIMITS);
  html.push(bytes("<html>", new Uint8Array(5000)));
  const first = html.early();
  assert.equal(first?.code, "unsupported_type");
  assert.deepEqual(html.early(), first);

  const polyglot = new Inspector(LIMITS);
  polyglot.push(pdf("<script>x</script>"));
  assert.equal(polyglot.early()?.code, "polyglot");

  const shortFile = new Inspector(LIMITS);
  shortFile.push(bytes("%PDF"));
  assert.equal(shortFile.type, null);
  assertProblem(shortFile.finish(), 415, "unsupported_type");
  assert.equal(shortFile.type, null, "EOF seen: sniffed on the 4 bytes");
});

Deno.test("[inspect] a head larger than maxHeadBytes: bounded memory and a correct verdict", async () => {
  const maxHeadBytes = 64 * 1024;
  const big = bytes(ftyp(), moov(), box("mdat", new Uint8Array(3 * 1024 * 1024).fill(0xab)));
  const pngBig = await png(10, 10);
  const withText = bytes(
    pngBig.subarray(0, 33),
    box("tEXt", "k\0", new Uint8Array(2_000_000)),
    [0, 0, 0, 0],
    pngBig.subarray(33),
  );
  for (const [file, mime] of [[big, "video/mp4"], [withText, "image/png"]] as const) {
    const inspector = new Inspector({ maxPixels: 1e6, maxHeadBytes });
    for (let at = 0; at < file.length; at += 10_000) {
      inspector.push(file.subarray(at, at + 10_000));
      assert.ok(inspector.retained.head <= maxHeadBytes);
      assert.ok(inspector.retained.tail <= 64 * 1024);
    }
    assert.equal(inspector.early(), null);
    assert.equal(codeOf(inspector.finish()), `ok:${mime}`);
  }
  const defaults = new Inspector({ maxPixels: 1e6 });
  defaults.push(big);
  assert.ok(defaults.retained.head <= 1024 * 1024);
  assert.equal(codeOf(defaults.finish()), "ok:video/mp4");
});

Deno.test("[inspect] the head-full case decides unreadable headers early", async () => {
  const file = insertAfterSoi(await jpeg(5, 5), 0xe1, new Uint8Array(10_000));
  const inspector = new Inspector({ maxPixels: 1e6, maxHeadBytes: 4096 });
  inspector.push(file.subarray(0, 4095));
  assert.equal(inspector.early(), null, "head not full yet: the SOF may still come");
  inspector.push(file.subarray(4095));
  assert.equal(inspector.early()?.code, "unreadable_header");
});

Deno.test("[inspect] rejects nonsensical limits", () => {
  assert.throws(() => new Inspector({ maxPixels: 0 }), RangeError);
  assert.throws(() => new Inspector({ maxPixels: 1, maxHeadBytes: 100 }), RangeError);
});

Deno.test("[inspect] isProblem", async () => {
  assert.equal(isProblem({ status: 415, code: "x", message: "y" }), true);
  assert.equal(isProblem({ status: 400, code: "x", message: "y" }), false);
  assert.equal(isProblem(null), false);
  assert.equal(isProblem("problem"), false);
  assert.equal(isProblem(inspect(await png(1, 1))), false);
});

// ---------------------------------------------------------------------------------------------------------
// Fuzzing.

const MAGIC: Record<MediaMime, (b: Uint8Array) => boolean> = {
  "image/jpeg": (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  "image/png": (b) => b[0] === 0x89 && String.fromCharCode(...b.subarray(1, 4)) === "PNG",
  "image/gif": (b) => String.fromCharCode(...b.subarray(0, 4)) === "GIF8",
  "image/webp": (b) => String.fromCharCode(...b.subarray(8, 12)) === "WEBP",
  "application/pdf": (b) => String.fromCharCode(...b.subarray(0, 5)) === "%PDF-",
  "video/mp4": (b) => String.fromCharCode(...b.subarray(4, 8)) === "ftyp",
  "video/webm": (b) => b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3,
};

const MIMES = Object.keys(MAGIC) as MediaMime[];

/** Runs every entry point on `file` and checks the result is a well-formed verdict. */
function fuzzOne(file: Uint8Array, random: () => number): Verdict {
  const type = sniff(file);
  if (type) assert.ok(MAGIC[type.mime](file), `sniffed ${type.mime} without its magic`);
  for (const mime of MIMES) {
    const dims = imageDimensions(file, mime);
    if (dims) assert.ok(dims.width > 0 && dims.height > 0);
  }
  const inspector = new Inspector({ maxPixels: 40_000_000, maxHeadBytes: 2048 });
  for (let at = 0; at < file.length;) {
    const n = 1 + Math.floor(random() * 700);
    inspector.push(file.subarray(at, at + n));
    at += n;
    const early = inspector.early();
    assert.ok(early === null || isProblem(early));
  }
  const v = inspector.finish();
  if (isProblem(v)) {
    assert.ok([415, 422].includes(v.status) && v.code.length > 0 && v.message.length > 0);
  } else {
    assert.ok(MAGIC[v.type.mime](file), `accepted ${v.type.mime} without its magic`);
    assert.equal(v.width === null, v.type.kind !== "image");
  }
  return v;
}

Deno.test("[inspect] fuzz: random buffers never throw and are (nearly) never accepted", () => {
  const random = mulberry32(0xc0ffee);
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const file = new Uint8Array(Math.floor(random() * 4097));
    for (let j = 0; j < file.length; j++) file[j] = Math.floor(random() * 256);
    if (i % 4 === 0 && file.length >= 12) {
      // Give a quarter of them a real magic so the deeper parsers get exercised too.
      const magics = [
        [0xff, 0xd8, 0xff],
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        [...bytes("GIF89a")],
        [
          ...bytes("RIFF\0\0\0\0WEBP"),
        ],
        [...bytes("%PDF-")],
        [...bytes("\0\0\0\x18ftypisom")],
        [0x1a, 0x45, 0xdf, 0xa3],
      ];
      file.set(magics[Math.floor(random() * magics.length)]);
    }
    if (!isProblem(fuzzOne(file, random))) accepted++;
  }
  assert.ok(accepted <= 2, `${accepted} random buffers were accepted`);
});

Deno.test("[inspect] fuzz: mutated valid files never throw", async () => {
  const random = mulberry32(42);
  const seeds = [
    ...(await validFiles()).map(([, f]) => f),
    await png(40, 30),
    await jpeg(40, 30),
    insertAfterSoi(await jpeg(9, 9), 0xe1, new Uint8Array(3000)),
  ];
  const outcomes = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const file = seeds[Math.floor(random() * seeds.length)].slice();
    const flips = Math.floor(random() * 8);
    for (let f = 0; f < flips; f++) file[Math.floor(random() * file.length)] = Math.floor(random() * 256);
    const mutated = random() < 0.4 ? file.subarray(0, Math.floor(random() * file.length)) : file;
    outcomes.add(codeOf(fuzzOne(mutated, random)));
  }
  // The mutations exercise many different verdicts, not just one failure mode.
  assert.ok(outcomes.size >= 8, [...outcomes].join(", "));
});
