/** Tests for the streaming multipart/form-data parser: framing, chunking, limits, errors, filenames. */
import assert from "node:assert/strict";
import { AppError } from "@/lib/errors.ts";
import {
  boundaryOf,
  type MultipartLimits,
  parseMultipart,
  type Part,
  sanitizeFilename,
} from "./multipart.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A pull-based source (no read-ahead) that records how much was read and whether it was cancelled. */
class Source {
  read = 0;
  cancelled = false;
  readonly stream: ReadableStream<Uint8Array>;
  constructor(bytes: Uint8Array, chunkSize: number | (() => number)) {
    const size = typeof chunkSize === "number" ? () => chunkSize : chunkSize;
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (this.read >= bytes.length) return controller.close();
        const end = Math.min(bytes.length, this.read + Math.max(1, size()));
        controller.enqueue(bytes.slice(this.read, end));
        this.read = end;
      },
      cancel: () => {
        this.cancelled = true;
      },
    }, { highWaterMark: 0 });
  }
}

interface RawPart {
  headers: string;
  body: Uint8Array | string;
}

function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const arrays = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** A multipart body the way browsers frame it, with optional preamble and epilogue. */
function build(boundary: string, parts: RawPart[], opts: { preamble?: string; epilogue?: string } = {}) {
  const pieces: (Uint8Array | string)[] = [opts.preamble ? opts.preamble + "\r\n" : ""];
  for (const part of parts) pieces.push(`--${boundary}\r\n${part.headers}\r\n\r\n`, part.body, "\r\n");
  pieces.push(`--${boundary}--`, opts.epilogue ?? "");
  return concat(...pieces);
}

const field = (name: string, value: string | Uint8Array, extra = ""): RawPart => ({
  headers: `Content-Disposition: form-data; name="${name}"${extra}`,
  body: value,
});

interface Collected {
  name: string;
  filename: string | null;
  contentType: string | null;
  bytes: Uint8Array;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function collect(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  limits?: MultipartLimits,
): Promise<Collected[]> {
  const out: Collected[] = [];
  for await (const part of parseMultipart(body, boundary, limits)) {
    const { name, filename, contentType } = part;
    out.push({ name, filename, contentType, bytes: await readAll(part.body) });
  }
  return out;
}

async function parseBytes(bytes: Uint8Array, boundary: string, chunk = 1 << 16, limits?: MultipartLimits) {
  return await collect(new Source(bytes, chunk).stream, boundary, limits);
}

async function assertBadMultipart(promise: Promise<unknown>, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected AppError, got ${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "bad_multipart");
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** Deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Binary content full of CRLFs, dashes and boundary lookalikes that are not real delimiters. */
function trickyBinary(boundary: string): Uint8Array {
  const rand = random(7);
  const noise = Uint8Array.from({ length: 700 }, () => Math.floor(rand() * 256));
  return concat(
    "\r\n",
    "--",
    noise.subarray(0, 100),
    `\r\n--${boundary.slice(0, -1)}`,
    "\r\r\n\r\n-",
    `\r\n--${boundary}X`,
    `\r\n--${boundary}-x`,
    `\r\n--${boundary} \tz`,
    `\r\n--${boundary}\r\r`,
    `--${boundary}--`,
    noise.subarray(100),
    `\n--${boundary}\r\n`,
    "\r\n-",
    "\r",
  );
}

Deno.test("parses a simple two-field form", async () => {
  const bytes = build("xYz", [field("title", "Hello"), field("body", "Wörld\r\nline 2")]);
  const parts = await parseBytes(bytes, "xYz");
  assert.deepEqual(parts.map((p) => [p.name, p.filename, p.contentType, dec.decode(p.bytes)]), [
    ["title", null, null, "Hello"],
    ["body", null, null, "Wörld\r\nline 2"],
  ]);
});

Deno.test("passes binary content with CRLF, dashes and boundary lookalikes through intact", async () => {
  const boundary = "boundary";
  const file = trickyBinary(boundary);
  const bytes = build(boundary, [
    field("file", file, '; filename="a.bin"\r\nContent-Type: application/octet-stream'),
    field("after", "ok"),
  ]);
  for (const chunk of [1, 2, 3, 7, 11, 64, 1 << 16]) {
    const parts = await parseBytes(bytes, boundary, chunk);
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[0].bytes, file, `chunk ${chunk}`);
    assert.equal(parts[0].filename, "a.bin");
    assert.equal(parts[0].contentType, "application/octet-stream");
    assert.equal(dec.decode(parts[1].bytes), "ok");
  }
});

Deno.test("every chunk size and random chunkings yield identical parts", async () => {
  const boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
  const file = trickyBinary(boundary);
  const bytes = build(boundary, [
    field("a", ""),
    field("file", file, '; filename="x.bin"'),
    field("c", "--" + boundary),
  ], { preamble: "This is a preamble.", epilogue: "\r\nepilogue --" + boundary + "--\r\n" });
  const expected = await parseBytes(bytes, boundary, bytes.length);
  assert.deepEqual(expected.map((p) => p.bytes.length), [0, file.length, boundary.length + 2]);
  assert.deepEqual(expected[1].bytes, file);
  for (let chunk = 1; chunk <= bytes.length; chunk++) {
    assert.deepEqual(await parseBytes(bytes, boundary, chunk), expected, `chunk size ${chunk}`);
  }
  const rand = random(42);
  for (let i = 0; i < 300; i++) {
    const max = [2, 8, 80, 800][i % 4];
    const parts = await collect(new Source(bytes, () => 1 + Math.floor(rand() * max)).stream, boundary);
    assert.deepEqual(parts, expected, `random chunking ${i}`);
  }
});

Deno.test("streams a 20 MB part in source-sized chunks, retaining less than a delimiter", async () => {
  const boundary = "AaB03x";
  const delimiterLength = boundary.length + 4;
  const size = 20 * 1024 * 1024;
  const content = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) content[i] = 13; // CRs make the scanner look closer
  content.set(enc.encode(`\r\n--${boundary.slice(0, 5)}`), size - 13); // ends with a delimiter prefix
  const bytes = build(boundary, [field("file", content, '; filename="big.bin"')]);
  const headerLength = bytes.indexOf(13, bytes.indexOf(10) + 1) + 4; // through the blank line
  const source = new Source(bytes, 1 << 16);
  const started = performance.now();
  let chunks = 0;
  let received = 0;
  let maxChunk = 0;
  let maxRetained = 0;
  for await (const part of parseMultipart(source.stream, boundary)) {
    const reader = part.body.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks++;
      received += r.value.length;
      maxChunk = Math.max(maxChunk, r.value.length);
      if (source.read < bytes.length) {
        maxRetained = Math.max(maxRetained, source.read - headerLength - received);
      }
    }
  }
  assert.equal(received, size);
  assert.ok(chunks > 100, `only ${chunks} chunks`);
  assert.ok(maxChunk <= (1 << 16) + delimiterLength, `a chunk of ${maxChunk} bytes was accumulated`);
  assert.ok(maxRetained < delimiterLength, `retained ${maxRetained} bytes`);
  assert.ok(performance.now() - started < 5000, "parsing 20 MB took too long");
});

Deno.test("a truncated upload rejects the body reader with bad_multipart, then next()", async () => {
  const full = build("bnd", [field("file", "x".repeat(5000), '; filename="f"')]);
  const truncated = full.subarray(0, 3000);
  const parts = parseMultipart(new Source(truncated, 512).stream, "bnd");
  const first = await parts.next();
  assert.equal(first.done, false);
  await assertBadMultipart(readAll((first.value as Part).body), /ended/);
  await assertBadMultipart(parts.next());
});

Deno.test("truncation outside a body surfaces from next()", async () => {
  const full = build("bnd", [field("a", "1"), field("b", "2")]);
  const text = dec.decode(full);
  for (
    const cut of [text.indexOf("\r\n--bnd\r\n") + 9, text.indexOf('name="b"'), text.lastIndexOf("--bnd-")]
  ) {
    await assertBadMultipart(parseBytes(full.subarray(0, cut), "bnd", 4), undefined);
  }
  // Truncated in the middle of a skipped (unread) body: the drain in next() throws.
  const parts = parseMultipart(new Source(full.subarray(0, text.indexOf("2")), 3).stream, "bnd");
  await parts.next();
  const second = await parts.next();
  assert.equal((second.value as Part).name, "b");
  await assertBadMultipart(parts.next(), /ended/);
});

Deno.test("bodies without the boundary are bad_multipart", async () => {
  await assertBadMultipart(parseBytes(enc.encode("just some garbage\r\nwith lines"), "bnd"), /boundary/);
  await assertBadMultipart(parseBytes(new Uint8Array(0), "bnd"));
  await assertBadMultipart(parseBytes(enc.encode("--bndX\r\n"), "bnd"));
  await assertBadMultipart(parseBytes(enc.encode("x".repeat(100_000)), "bnd", 1024), /start/);
  const preambled = build("bnd", [field("a", "1")], { preamble: "ignored\r\n--bnd is not here" });
  assert.equal((await parseBytes(preambled, "bnd"))[0].name, "a");
});

Deno.test("accepts transport padding after delimiters and ignores the epilogue", async () => {
  const bytes = enc.encode(
    '--b \t\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b\t\r\n' +
      'content-disposition: FORM-DATA; NAME=b; Filename="q.txt"\r\nContent-Type: text/plain\r\n\r\n2' +
      "\r\n--b--  \r\n--b\r\nnot a part",
  );
  const parts = await parseBytes(bytes, "b", 1);
  assert.deepEqual(parts.map((p) => [p.name, p.filename, p.contentType, dec.decode(p.bytes)]), [
    ["a", null, null, "1"],
    ["b", "q.txt", "text/plain", "2"],
  ]);
});

Deno.test("rejects headers longer than maxHeaderBytes", async () => {
  const long = field("a", "1", `\r\nX-Pad: ${"p".repeat(9000)}`);
  await assertBadMultipart(parseBytes(build("b", [long]), "b"), /longer than 8192/);
  await assertBadMultipart(parseBytes(build("b", [long]), "b", 7), /longer than 8192/);
  const fits = field("a", "1", `\r\nX-Pad: ${"p".repeat(50)}`);
  assert.equal((await parseBytes(build("b", [fits]), "b", 1 << 16, { maxHeaderBytes: 200 })).length, 1);
  await assertBadMultipart(parseBytes(build("b", [fits]), "b", 1 << 16, { maxHeaderBytes: 60 }));
});

Deno.test("rejects more than maxParts parts", async () => {
  const many = (n: number) => build("b", Array.from({ length: n }, (_, i) => field(`f${i}`, `${i}`)));
  assert.equal((await parseBytes(many(10), "b")).length, 10);
  await assertBadMultipart(parseBytes(many(11), "b"), /more than 10 parts/);
  await assertBadMultipart(parseBytes(many(3), "b", 1 << 16, { maxParts: 2 }), /more than 2 parts/);
});

Deno.test("rejects header blocks without a form-data name", async () => {
  const cases = [
    { headers: "Content-Type: text/plain", body: "x" },
    { headers: 'Content-Disposition: attachment; name="a"', body: "x" },
    { headers: 'Content-Disposition: form-data; filename="a"', body: "x" },
    { headers: "Content-Disposition form-data", body: "x" },
  ];
  for (const part of cases) await assertBadMultipart(parseBytes(build("b", [part]), "b"), undefined);
  await assertBadMultipart(parseBytes(enc.encode("--b\r\n\r\nbody\r\n--b--"), "b"));
});

Deno.test("decodes filename* (RFC 5987) in preference to filename, and browser escapes", async () => {
  const parts = await parseBytes(
    build("b", [
      field("f", "1", `; filename="fallback.txt"; filename*=UTF-8''caf%C3%A9%20%E2%9C%93.txt`),
      field("g", "2", "; filename*=iso-8859-1'en'na%EFve.txt"),
      field("h", "3", `; filename="bad.txt"; filename*=UTF-8''%FF%FE`),
      field("q%22uote%0D%0A", "4", `; filename="C:\\x\\a%22b;c.txt"`),
      field("e", "5", `; filename="say \\"hi\\".txt"`),
      field("r", "6", `; filename="ünï.txt"`),
      field("s", "7", `; filename=""`),
    ]),
    "b",
  );
  assert.deepEqual(parts.map((p) => [p.name, p.filename]), [
    ["f", "café ✓.txt"],
    ["g", "naïve.txt"],
    ["h", "bad.txt"],
    ['q"uote\r\n', 'C:\\x\\a"b;c.txt'],
    ["e", 'say "hi".txt'],
    ["r", "ünï.txt"],
    ["s", ""],
  ]);
});

Deno.test("skips an unread body when the next part is requested and errors the old stream", async () => {
  const big = "z".repeat(100_000);
  const bytes = build("b", [field("skip", big), field("cancel", big), field("read", "kept")]);
  const source = new Source(bytes, 1000);
  const names: string[] = [];
  const bodies: ReadableStream<Uint8Array>[] = [];
  for await (const part of parseMultipart(source.stream, "b")) {
    names.push(part.name);
    bodies.push(part.body);
    if (part.name === "cancel") await part.body.cancel();
    if (part.name === "read") assert.equal(dec.decode(await readAll(part.body)), "kept");
  }
  assert.deepEqual(names, ["skip", "cancel", "read"]);
  await assert.rejects(readAll(bodies[0]), /skipped/);
});

Deno.test("stopping early cancels the source", async () => {
  const bytes = build("b", [field("a", "x".repeat(10_000)), field("b", "y")]);
  const source = new Source(bytes, 100);
  for await (const part of parseMultipart(source.stream, "b")) {
    const reader = part.body.getReader();
    await reader.read();
    break;
  }
  assert.ok(source.cancelled);
  assert.ok(source.read < bytes.length);
});

Deno.test("a source error propagates as-is", async () => {
  const boom = new Error("connection reset");
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(boom);
      sent = true;
      controller.enqueue(enc.encode('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\npartial'));
    },
  }, { highWaterMark: 0 });
  const parts = parseMultipart(stream, "b");
  const first = await parts.next();
  await assert.rejects(readAll((first.value as Part).body), (error) => error === boom);
  await assert.rejects(parts.next(), (error) => error === boom);
});

Deno.test("boundaryOf reads quoted and unquoted boundaries", () => {
  assert.equal(boundaryOf("multipart/form-data; boundary=abc"), "abc");
  assert.equal(boundaryOf('Multipart/Form-Data ; charset=utf-8; BOUNDARY="a b:c?=d"'), "a b:c?=d");
  assert.equal(boundaryOf(`multipart/form-data; boundary="a,b(c)+d'"`), "a,b(c)+d'");
  assert.equal(boundaryOf("multipart/form-data;boundary=----WebKitFormBoundaryX"), "----WebKitFormBoundaryX");
  assert.equal(boundaryOf(`multipart/form-data; boundary=${"a".repeat(70)}`), "a".repeat(70));
});

Deno.test("boundaryOf rejects other types and missing or invalid boundaries", () => {
  const bad = [
    null,
    undefined,
    "",
    "application/json",
    "multipart/mixed; boundary=abc",
    "multipart/form-data",
    "multipart/form-data; charset=utf-8",
    "multipart/form-data; boundary=",
    'multipart/form-data; boundary=""',
    `multipart/form-data; boundary=${"a".repeat(71)}`,
    'multipart/form-data; boundary="ends with space "',
    "multipart/form-data; boundary=a<b",
    'multipart/form-data; boundary="caf\u00e9"',
    'multipart/form-data; boundary="q;x"',
  ];
  for (const header of bad) {
    assert.throws(() => boundaryOf(header), (error: unknown) => {
      assert.ok(error instanceof AppError, String(header));
      assert.equal(error.code, "bad_multipart");
      assert.equal(error.status, 400);
      return true;
    });
  }
});

Deno.test("sanitizeFilename strips paths and dangerous characters", () => {
  assert.equal(sanitizeFilename("../../etc/passwd"), "passwd");
  assert.equal(sanitizeFilename("C:\\x\\evil.exe"), "evil.exe");
  assert.equal(sanitizeFilename("a\u202Egnp.exe"), "agnp.exe");
  assert.equal(sanitizeFilename("x\u2066y\u2069z\u200F.txt"), "xyz.txt");
  assert.equal(sanitizeFilename("nul\u0000byte.png"), "nulbyte.png");
  assert.equal(sanitizeFilename('"<script>".html'), "script.html");
  assert.equal(sanitizeFilename("tab\tand \r\n  spaces .txt"), "tab and spaces .txt");
  assert.equal(sanitizeFilename("  ..hidden..  "), "hidden");
  assert.equal(sanitizeFilename("cafe\u0301.txt"), "caf\u00e9.txt");
  assert.equal(sanitizeFilename(""), "");
  assert.equal(sanitizeFilename("dir/"), "");
  assert.equal(sanitizeFilename(".."), "");
  const long = sanitizeFilename("n".repeat(300) + ".jpg");
  assert.equal(long.length, 200);
  assert.ok(long.endsWith("n.jpg"));
  const emoji = sanitizeFilename("😀".repeat(250) + ".png");
  assert.equal(Array.from(emoji).length, 200);
  assert.ok(emoji.endsWith("😀.png"));
  assert.equal(sanitizeFilename("x".repeat(250)).length, 200);
});

/** Deno's `formData()` keeps the `%22`/`%0D`/`%0A` escapes browsers put in names; the parser reverses them. */
function undoBrowserEscapes(value: string): string {
  return value.replaceAll("%0D", "\r").replaceAll("%0A", "\n").replaceAll("%22", '"');
}

Deno.test("matches the platform's FormData encoding and parsing", async () => {
  const rand = random(3);
  const binary = Uint8Array.from({ length: 300_000 }, () => Math.floor(rand() * 256));
  const form = new FormData();
  form.append("title", "Hello, wörld");
  form.append("multi\nline", "a\r\nb\nc\rd");
  form.append('quo"te', "--");
  form.append("photo", new File([binary], "été 😀.jpg", { type: "image/jpeg" }));
  form.append("empty", new File([], ""));
  form.append("blob", new Blob(["blobby"]));
  form.append("path", new File(["p"], 'C:\\dir\\we"ird\r\n.txt', { type: "text/plain" }));
  const request = new Request("http://x", { method: "POST", body: form });
  const expected = await request.clone().formData();
  const parts = await collect(request.body!, boundaryOf(request.headers.get("content-type")));
  const entries = [...expected.entries()];
  assert.equal(parts.length, entries.length);
  for (const [i, [name, value]] of entries.entries()) {
    const part = parts[i];
    assert.equal(part.name, undoBrowserEscapes(name));
    if (typeof value === "string") {
      assert.equal(part.filename, null);
      assert.equal(dec.decode(part.bytes), value);
    } else {
      assert.equal(part.filename, undoBrowserEscapes(value.name));
      assert.equal(part.contentType, value.type || "application/octet-stream");
      assert.deepEqual(part.bytes, new Uint8Array(await value.arrayBuffer()));
    }
  }
  assert.deepEqual(parts[3].bytes, binary);
  assert.equal(parts[3].filename, "été 😀.jpg");
  assert.equal(parts[1].name, "multi\r\nline");
  assert.equal(parts[6].filename, 'C:\\dir\\we"ird\r\n.txt');
});
