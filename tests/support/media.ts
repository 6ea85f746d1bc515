/** Media fixtures: uploads through the API, processing without a job runner, storage listings. */
import assert from "node:assert/strict";
import { processMedia } from "@/lib/media/process.ts";
import type { TestContext } from "./app.ts";
import type { TestUser } from "./factories.ts";

/** A multipart body with one file (or the parts given). */
export function form(
  parts: { name?: string; filename?: string; type?: string; bytes: Uint8Array }[],
): FormData {
  const data = new FormData();
  for (const p of parts) {
    data.append(
      p.name ?? "file",
      new File([p.bytes as Uint8Array<ArrayBuffer>], p.filename ?? "photo.jpg", { type: p.type ?? "" }),
    );
  }
  return data;
}

/** Uploads `bytes` as `user`; returns status and JSON body. */
export async function upload(
  t: TestContext,
  user: TestUser,
  bytes: Uint8Array,
  opts: { filename?: string; type?: string; headers?: Record<string, string> } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const res = await t.request("/api/v1/media", {
    method: "POST",
    headers: { ...user.bearer, ...opts.headers },
    body: form([{ filename: opts.filename, type: opts.type, bytes }]),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Uploads and processes an image; returns the ready item as its owner sees it. */
export async function readyImage(t: TestContext, user: TestUser, bytes: Uint8Array, filename = "photo.jpg") {
  const up = await upload(t, user, bytes, { filename });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  assert.equal(await processMedia(t.platform, up.body.id), "ready");
  const res = await t.request(`/api/v1/media/${up.body.id}`, { headers: user.bearer });
  assert.equal(res.status, 200);
  return await res.json();
}

/** Runs processing for every item still processing (what the job runner would do). */
export async function processPending(t: TestContext): Promise<void> {
  const rows = await t.platform.db.query<{ id: string }>(
    "select id from public.media where status = 'processing'",
  );
  for (const r of rows) await processMedia(t.platform, r.id);
}

/** Every key in storage. */
export function storedKeys(t: TestContext): Promise<string[]> {
  return t.platform.storage.list("");
}

// ---------------------------------------------------------------------------------------------------------
// Handcrafted files (minimal but structurally valid, as in lib/media/inspect_test.ts) and refusal checks.

type Part = Uint8Array | number[] | string;

/** Concatenates strings (as UTF-8), byte arrays and number lists. */
export function bytesOf(...parts: Part[]): Uint8Array<ArrayBuffer> {
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

const u16le = (n: number) => [n & 0xff, (n >> 8) & 0xff];
const u16be = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32be = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];

/** A minimal PDF; `padding` bytes of comment make it bigger. */
export function pdfBytes(padding = 0): Uint8Array {
  return bytesOf(
    "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    padding ? `%${"x".repeat(padding)}\n` : "",
    "trailer\n<< /Root 1 0 R >>\n%%EOF\n",
  );
}

function box(type: string, ...payload: Part[]): Uint8Array {
  const data = bytesOf(...payload);
  return bytesOf(u32be(8 + data.length), type, data);
}

/** A minimal MP4: ftyp, moov/mvhd, mdat. */
export function mp4Bytes(mdatSize = 64): Uint8Array {
  return bytesOf(
    box("ftyp", "isom", u32be(0x200), "isom", "iso2", "avc1", "mp41"),
    box("moov", box("mvhd", new Uint8Array(100))),
    box("mdat", new Uint8Array(mdatSize).fill(7)),
  );
}

/** A minimal WebM: EBML header with DocType webm, then a Segment of unknown size. */
export function webmBytes(): Uint8Array {
  const header = bytesOf([0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01], [0x42, 0x82, 0x84], "webm");
  const ebml = bytesOf([0x1a, 0x45, 0xdf, 0xa3, 0x80 | header.length], header);
  return bytesOf(
    ebml,
    [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    new Uint8Array(40),
  );
}

/** A one-entry ZIP archive (local header, central directory, end record). */
export function zipBytes(): Uint8Array {
  const name = "evil.class";
  const local = bytesOf(
    [0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    u32le(0),
    u32le(7),
    u32le(7),
  );
  const entry = bytesOf(local, u16le(name.length), u16le(0), name, "payload");
  const central = bytesOf([0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0], new Uint8Array(38), name);
  const eocd = bytesOf(
    [0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0],
    u32le(central.length),
    u32le(entry.length),
    [0, 0],
  );
  return bytesOf(entry, central, eocd);
}

/** A JPEG with a COM segment carrying `text` right after SOI. */
export function jpegWithComment(jpeg: Uint8Array, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  return bytesOf(jpeg.subarray(0, 2), [0xff, 0xfe], u16be(data.length + 2), data, jpeg.subarray(2));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** `png` with its IHDR rewritten to declare `w`×`h` (CRC fixed up); the pixel data is left as it is. */
export function pngDeclaring(png: Uint8Array, w: number, h: number): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, w);
  view.setUint32(20, h);
  view.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** A JPEG whose entropy-coded data is overwritten with junk (still ending in FFD9): passes the upload checks, cannot be decoded. */
export function damagedJpeg(jpeg: Uint8Array): Uint8Array {
  const out = jpeg.slice();
  let sos = -1;
  for (let i = 2; i < out.length - 1; i++) {
    if (out[i] === 0xff && out[i + 1] === 0xda) {
      sos = i;
      break;
    }
  }
  if (sos < 0) throw new Error("no SOS marker");
  const start = sos + 2 + ((out[sos + 2] << 8) | out[sos + 3]);
  for (let i = start; i < out.length - 2; i++) out[i] = (i * 37) & 0xff;
  return out;
}

/** What refusals must leave untouched: media rows, stored keys, garbage claims. */
export interface StoreState {
  rows: number;
  keys: string[];
  garbage: number;
}

/** The current {@link StoreState}. */
export async function storeState(t: TestContext): Promise<StoreState> {
  const [row] = await t.platform.db.query<{ rows: number; garbage: number }>(
    `select (select count(*)::int from public.media) as rows,
       (select count(*)::int from plaza.storage_garbage) as garbage`,
  );
  return { rows: Number(row.rows), keys: (await storedKeys(t)).sort(), garbage: Number(row.garbage) };
}

/** Asserts nothing was written: no media row, no stored object, no garbage claim left behind. */
export async function assertNothingWritten(t: TestContext, before: StoreState, what = ""): Promise<void> {
  const after = await storeState(t);
  assert.equal(after.rows, before.rows, `${what}: a media row was written`);
  assert.deepEqual(after.keys, before.keys, `${what}: storage changed`);
  assert.equal(after.garbage, before.garbage, `${what}: a storage_garbage row was left behind`);
}

/** A raw POST /api/v1/media with the given content type and body; returns status and JSON. */
export async function rawUpload(
  t: TestContext,
  user: TestUser | null,
  body: BodyInit | null,
  headers: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const res = await t.request("/api/v1/media", {
    method: "POST",
    headers: { ...user?.bearer, ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A body stream that yields `bytes` in chunks (no Content-Length). */
export function streamOf(bytes: Uint8Array, chunk = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** A multipart/form-data body by hand: `[headers, content]` parts, and whether to close it. */
export function multipartBody(
  boundary: string,
  parts: { disposition: string; type?: string; content: Uint8Array }[],
  close = true,
): Uint8Array<ArrayBuffer> {
  const pieces: Part[] = [];
  for (const p of parts) {
    pieces.push(`--${boundary}\r\nContent-Disposition: ${p.disposition}\r\n`);
    if (p.type) pieces.push(`Content-Type: ${p.type}\r\n`);
    pieces.push("\r\n", p.content, "\r\n");
  }
  if (close) pieces.push(`--${boundary}--\r\n`);
  return bytesOf(...pieces);
}
