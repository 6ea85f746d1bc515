import assert from "node:assert/strict";
import { Image } from "imagescript";
import { containsMarkup, imageDimensions, type MediaMime, sniff } from "./sniff.ts";

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
const u24le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff];
const u32be = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];

function ftyp(major: string, ...compatible: string[]): Uint8Array {
  return bytes(u32be(16 + 4 * compatible.length), "ftyp", major, u32be(0), ...compatible);
}

function ebml(docType: string | null): Uint8Array {
  const children = bytes(
    [0x42, 0x86, 0x81, 0x01],
    docType === null ? [] : bytes([0x42, 0x82, 0x80 | docType.length], docType),
  );
  return bytes([0x1a, 0x45, 0xdf, 0xa3, 0x80 | children.length], children, [0x18, 0x53, 0x80, 0x67, 0x01]);
}

function gifHeader(w: number, h: number): Uint8Array {
  return bytes("GIF89a", u16le(w), u16le(h), [0x80, 0, 0], [0, 0, 0, 0xff, 0xff, 0xff]);
}

function gifFrame(left: number, top: number, w: number, h: number): Uint8Array {
  return bytes([0x2c], u16le(left), u16le(top), u16le(w), u16le(h), [0x00, 0x02, 0x02, 0x44, 0x01, 0x00]);
}

function riffWebp(chunkType: string, data: Part): Uint8Array {
  const payload = bytes(data);
  const chunk = bytes(chunkType, u32le(payload.length), payload, payload.length % 2 ? [0] : []);
  return bytes("RIFF", u32le(4 + chunk.length), "WEBP", chunk);
}

function jpegSegment(marker: number, payload: Part): Uint8Array {
  const data = bytes(payload);
  return bytes([0xff, marker], u16be(data.length + 2), data);
}

Deno.test("[sniff] recognises each accepted type by its magic bytes", async () => {
  const cases: [Uint8Array, string][] = [
    [await new Image(3, 2).encodeJPEG(80), "image/jpeg"],
    [await new Image(3, 2).encode(), "image/png"],
    [bytes("GIF87a", [1, 0, 1, 0]), "image/gif"],
    [bytes("GIF89a", [1, 0, 1, 0]), "image/gif"],
    [bytes("RIFF", u32le(4), "WEBP"), "image/webp"],
    [bytes("%PDF-1.7\n"), "application/pdf"],
    [ftyp("isom", "isom", "iso2", "avc1", "mp41"), "video/mp4"],
    [ebml("webm"), "video/webm"],
  ];
  for (const [head, mime] of cases) assert.equal(sniff(head)?.mime, mime, mime);
});

Deno.test("[sniff] reports kind and extension", () => {
  assert.deepEqual(sniff(bytes([0xff, 0xd8, 0xff, 0xe0])), { mime: "image/jpeg", kind: "image", ext: "jpg" });
  assert.deepEqual(sniff(bytes("%PDF-1.4")), { mime: "application/pdf", kind: "pdf", ext: "pdf" });
  assert.deepEqual(sniff(ebml("webm")), { mime: "video/webm", kind: "video", ext: "webm" });
  assert.deepEqual(sniff(ftyp("mp42")), { mime: "video/mp4", kind: "video", ext: "mp4" });
});

Deno.test("[sniff] refuses everything else", () => {
  const refused: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["svg", bytes('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
    ["xml svg", bytes('<?xml version="1.0"?><svg/>')],
    ["html", bytes("<!doctype html><html><body>hi</body></html>")],
    ["bmp", bytes("BM", u32le(70), u32le(0), u32le(54), u32le(40))],
    ["tiff le", bytes("II*\0", u32le(8))],
    ["tiff be", bytes("MM\0*", u32be(8))],
    ["zip", bytes([0x50, 0x4b, 0x03, 0x04], new Uint8Array(26))],
    ["text", bytes("just some text, nothing to see here")],
    ["pdf not at offset 0", bytes(" %PDF-1.4\n")],
    ["truncated jpeg magic", bytes([0xff, 0xd8])],
    ["truncated png magic", bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a])],
    ["gif88a", bytes("GIF88a", [1, 0, 1, 0])],
    ["riff wave", bytes("RIFF", u32le(4), "WAVE")],
    ["matroska", ebml("matroska")],
    ["ebml without doctype (defaults to matroska)", ebml(null)],
    ["ebml header cut off", ebml("webm").subarray(0, 8)],
    ["quicktime", ftyp("qt  ", "qt  ")],
    ["heic", ftyp("heic", "mif1", "heic")],
    ["heix", ftyp("heix", "mif1", "heix")],
    ["avif", ftyp("avif", "avif", "mif1", "miaf")],
    ["avif declaring mp4 compatibility", ftyp("avif", "mp41", "mif1")],
    ["msf1 sequence", ftyp("msf1", "iso8", "msf1")],
    ["unknown brand only", ftyp("abcd", "efgh")],
    ["ftyp size too small", bytes(u32be(4), "ftyp", "isom", u32be(0))],
    ["ftyp not at offset 4", bytes(u32be(24), "free", u32be(16), "ftypisom")],
  ];
  for (const [name, head] of refused) assert.equal(sniff(head), null, name);
});

Deno.test("[sniff] MP4 accepted through a compatible brand only", () => {
  assert.equal(sniff(ftyp("XAVC", "mp42", "iso2"))?.mime, "video/mp4");
  assert.equal(sniff(ftyp("M4V ", "M4V ", "M4A "))?.mime, "video/mp4");
  assert.equal(sniff(ftyp("dash", "iso6"))?.mime, "video/mp4");
  // Compatible brands past the end of the head are not considered.
  assert.equal(sniff(ftyp("XAVC", "mp42").subarray(0, 16)), null);
});

Deno.test("[sniff] containsMarkup finds tags case-insensitively in the first KiB", () => {
  const tags = [
    "<html>",
    "<HEAD>",
    "<Body onload=x>",
    "<script>",
    "<svg ",
    "<?xml ",
    "<!DOCTYPE html>",
    "<iframe src=x>",
    "<object data=x>",
    "<embed src=x>",
    "<img src=x>",
    "<a href=x>",
    "<style>",
    "<div>",
    "<meta charset=x>",
    "<link rel=x>",
    "<!-- c -->",
    "<title>",
    "<form>",
  ];
  for (const tag of tags) {
    assert.equal(containsMarkup(bytes([0xff, 0xd8, 0xff, 0xfe, 0, 20], tag)), true, tag);
    assert.equal(containsMarkup(bytes(new Uint8Array(1000), tag.toUpperCase())), true, tag.toUpperCase());
  }
});

Deno.test("[sniff] containsMarkup ignores markup past 1024 bytes and innocent bytes", async () => {
  assert.equal(containsMarkup(bytes(new Uint8Array(1024), "<html>")), false);
  assert.equal(containsMarkup(bytes(new Uint8Array(1020), "<html>")), false, "tag cut at the boundary");
  assert.equal(containsMarkup(bytes(new Uint8Array(1019), "<html>")), true);
  assert.equal(containsMarkup(bytes("a < b and <abbr> and <", [0x3c])), false);
  assert.equal(containsMarkup(new Uint8Array()), false);
  assert.equal(containsMarkup(await new Image(20, 20).encode()), false);
  assert.equal(containsMarkup(await new Image(20, 20).encodeJPEG(90)), false);
});

Deno.test("[sniff] imageDimensions reads PNG and JPEG headers written by an encoder", async () => {
  const png = await new Image(123, 45).encode();
  const jpeg = await new Image(67, 89).encodeJPEG(80);
  assert.deepEqual(imageDimensions(png, "image/png"), { width: 123, height: 45 });
  assert.deepEqual(imageDimensions(jpeg, "image/jpeg"), { width: 67, height: 89 });
  assert.deepEqual(imageDimensions(png.subarray(0, 24), "image/png"), { width: 123, height: 45 });
  assert.equal(imageDimensions(png.subarray(0, 23), "image/png"), null);
});

Deno.test("[sniff] JPEG: walks past large segments and DHT/DAC/JPG markers to the SOF", async () => {
  const jpeg = await new Image(10, 20).encodeJPEG(80);
  const app1 = jpegSegment(0xe1, bytes("Exif\0\0", new Uint8Array(60_000)));
  const big = bytes(jpeg.subarray(0, 2), app1, jpeg.subarray(2));
  assert.deepEqual(imageDimensions(big, "image/jpeg"), { width: 10, height: 20 });
  assert.equal(imageDimensions(big.subarray(0, 50_000), "image/jpeg"), null, "SOF beyond the head");

  const sof2 = jpegSegment(0xc2, [8, ...u16be(300), ...u16be(400), 1, 1, 0x11, 0]);
  const decoys = bytes(
    jpegSegment(0xc4, new Uint8Array(20)),
    jpegSegment(0xcc, [0, 0]),
    jpegSegment(0xc8, [1, 2, 3]),
    [0xff, 0xff, 0xff], // fill bytes before a marker
    sof2,
  );
  assert.deepEqual(imageDimensions(bytes([0xff, 0xd8], decoys), "image/jpeg"), { width: 400, height: 300 });
});

Deno.test("[sniff] JPEG: malformed or frame-less headers give null", () => {
  const sof0 = (w: number, h: number) => jpegSegment(0xc0, [8, ...u16be(h), ...u16be(w), 1, 1, 0x11, 0]);
  assert.deepEqual(imageDimensions(bytes([0xff, 0xd8], sof0(5, 6)), "image/jpeg"), { width: 5, height: 6 });
  assert.equal(imageDimensions(bytes([0xff, 0xd8], sof0(5, 0)), "image/jpeg"), null, "zero height (DNL)");
  assert.equal(imageDimensions(bytes([0xff, 0xd8, 0x00], sof0(5, 6)), "image/jpeg"), null, "no marker");
  assert.equal(imageDimensions(bytes([0xff, 0xd8, 0xff, 0xda, 0, 2], sof0(5, 6)), "image/jpeg"), null);
  assert.equal(imageDimensions(bytes([0xff, 0xd8, 0xff, 0xe0, 0, 1]), "image/jpeg"), null, "length < 2");
  assert.equal(imageDimensions(bytes([0xff, 0xd8, 0xff, 0xd9]), "image/jpeg"), null);
  assert.equal(imageDimensions(bytes([0xff, 0xd8], sof0(5, 6)).subarray(0, 10), "image/jpeg"), null);
});

Deno.test("[sniff] GIF: the max of the logical screen and every frame's extent", () => {
  const trailer = [0x3b];
  assert.deepEqual(imageDimensions(bytes(gifHeader(10, 20), gifFrame(0, 0, 10, 20), trailer), "image/gif"), {
    width: 10,
    height: 20,
  });
  const sneaky = bytes(
    gifHeader(1, 1),
    [0x21, 0xf9, 4, 0, 0, 0, 0, 0], // graphic control extension
    gifFrame(0, 0, 1, 1),
    gifFrame(5, 0, 5000, 3),
    gifFrame(0, 7, 2, 6000),
    trailer,
  );
  assert.deepEqual(imageDimensions(sneaky, "image/gif"), { width: 5005, height: 6007 });
  assert.deepEqual(
    imageDimensions(sneaky.subarray(0, 30), "image/gif"),
    { width: 1, height: 1 },
    "frames cut",
  );
  assert.deepEqual(imageDimensions(bytes(gifHeader(0, 0), gifFrame(0, 0, 3, 4)), "image/gif"), {
    width: 3,
    height: 4,
  });
  assert.equal(imageDimensions(bytes(gifHeader(0, 0), trailer), "image/gif"), null);
  assert.equal(imageDimensions(bytes("GIF89a", [1, 0]), "image/gif"), null);
});

Deno.test("[sniff] WebP: VP8, VP8L and VP8X headers", () => {
  const vp8 = riffWebp("VP8 ", [0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, ...u16le(640), ...u16le(480), 0, 0]);
  assert.deepEqual(imageDimensions(vp8, "image/webp"), { width: 640, height: 480 });
  const lossless = riffWebp("VP8L", [0x2f, ...u32le((99 & 0x3fff) | ((49 & 0x3fff) << 14)), 0, 0, 0]);
  assert.deepEqual(imageDimensions(lossless, "image/webp"), { width: 100, height: 50 });
  const extended = riffWebp("VP8X", [0x10, 0, 0, 0, ...u24le(19_999), ...u24le(29_999)]);
  assert.deepEqual(imageDimensions(extended, "image/webp"), { width: 20_000, height: 30_000 });

  const badStart = riffWebp("VP8 ", [0x30, 0x01, 0x00, 0x9d, 0x01, 0x2b, ...u16le(640), ...u16le(480), 0, 0]);
  assert.equal(imageDimensions(badStart, "image/webp"), null);
  assert.equal(imageDimensions(riffWebp("VP8L", [0x2e, 0, 0, 0, 0, 0, 0, 0]), "image/webp"), null);
  assert.equal(imageDimensions(riffWebp("ALPH", new Uint8Array(12)), "image/webp"), null);
  assert.equal(imageDimensions(vp8.subarray(0, 29), "image/webp"), null);
  assert.equal(imageDimensions(lossless.subarray(0, 24), "image/webp"), null);
});

Deno.test("[sniff] imageDimensions is null for non-images and zero sizes", async () => {
  const png = await new Image(4, 4).encode();
  for (const mime of ["application/pdf", "video/mp4", "video/webm"] as MediaMime[]) {
    assert.equal(imageDimensions(png, mime), null);
  }
  const zero = bytes(png.subarray(0, 16), u32be(0), u32be(4));
  assert.equal(imageDimensions(zero, "image/png"), null);
  assert.equal(imageDimensions(bytes(png.subarray(0, 16), u32be(2 ** 31), u32be(4)), "image/png"), null);
  assert.equal(imageDimensions(png, "image/jpeg"), null, "wrong mime");
});
