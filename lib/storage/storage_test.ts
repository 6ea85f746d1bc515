/**
 * The storage contract, run against the local adapter (in a temp dir) and the Supabase adapter
 * (against the fake storage-api), plus adapter-specific checks and `openStorage`'s choice.
 */
import assert from "node:assert/strict";
import { loadConfig } from "@/lib/config.ts";
import { contentTypeFor, localStore } from "@/lib/storage/local.ts";
import { openStorage } from "@/lib/storage/mod.ts";
import type { Storage } from "@/lib/storage/port.ts";
import { ensureBucket, supabaseStorage } from "@/lib/storage/supabase.ts";
import { type FakeStorage, startFakeStorage } from "@/tests/support/fake_storage.ts";

/** A storage under test and a way to see everything it left behind, temp files included. */
interface Harness {
  storage: Storage;
  /** Every path (local: files and directories, hidden ones too) or object the backend holds. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

/** Every file and directory under `dir`, relative to `root`, hidden entries included. */
async function walkAll(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    out.push(path.slice(root.length + 1));
    if (entry.isDirectory) out.push(...await walkAll(root, path));
  }
  return out.sort();
}

async function localHarness(): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "plaza-storage-" });
  return {
    storage: localStore(dir),
    leftovers: () => walkAll(dir),
    close: () => Deno.remove(dir, { recursive: true }),
  };
}

async function supabaseHarness(): Promise<Harness & { fake: FakeStorage }> {
  const fake = await startFakeStorage();
  const opts = { url: fake.url, serviceRoleKey: fake.serviceRoleKey, bucket: "media" };
  await ensureBucket(opts);
  return {
    fake,
    storage: supabaseStorage(opts),
    leftovers: () => Promise.resolve([...fake.objects.keys()].sort()),
    close: () => fake.close(),
  };
}

const adapters: [string, () => Promise<Harness>][] = [["local", localHarness], ["supabase", supabaseHarness]];

const text = (s: string) => new TextEncoder().encode(s);

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A stream of `chunks`, then (when given) `failure` instead of closing. */
function streamOf(chunks: Uint8Array[], failure?: unknown): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else if (failure !== undefined) controller.error(failure);
      else controller.close();
    },
  });
}

/** `size` bytes of a non-repeating-looking pattern, streamed in 64 KiB chunks. */
function bigPayload(size: number): { bytes: Uint8Array; stream: () => ReadableStream<Uint8Array> } {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < size; at += 65536) chunks.push(bytes.subarray(at, at + 65536));
  return { bytes, stream: () => streamOf(chunks) };
}

function contract(name: string, fn: (storage: Storage, harness: Harness) => Promise<void>) {
  for (const [adapter, open] of adapters) {
    Deno.test(`storage (${adapter}): ${name}`, async () => {
      const harness = await open();
      try {
        await fn(harness.storage, harness);
      } finally {
        await harness.close();
      }
    });
  }
}

contract("put, get and read round-trip bytes, size and content type", async (storage) => {
  const body = text("hello, plaza");
  assert.deepEqual(await storage.put("m1/photo.jpg", body, { contentType: "image/jpeg" }), {
    bytes: body.byteLength,
  });
  const got = await storage.get("m1/photo.jpg");
  assert.ok(got);
  assert.equal(got.size, body.byteLength);
  assert.equal(got.contentType, "image/jpeg");
  assert.deepEqual(await collect(got.body), body);
  assert.deepEqual(await storage.read("m1/photo.jpg"), body);

  const streamed = await storage.put("m1/doc.pdf", streamOf([text("%PDF-"), text("1.7")]), {
    contentType: "application/pdf",
  });
  assert.equal(streamed.bytes, 8);
  assert.deepEqual(await storage.read("m1/doc.pdf"), text("%PDF-1.7"));
  assert.equal((await storage.get("m1/doc.pdf"))?.contentType, "application/pdf");
  await (await storage.get("m1/doc.pdf"))?.body.cancel();
});

contract("missing objects read as null", async (storage) => {
  assert.equal(await storage.get("nope/original"), null);
  assert.equal(await storage.read("nope/original"), null);
});

contract("put replaces what was under the key", async (storage) => {
  await storage.put("m1/thumb.jpg", text("first version"), { contentType: "image/jpeg" });
  await storage.put("m1/thumb.jpg", streamOf([text("second")]), { contentType: "image/jpeg" });
  assert.deepEqual(await storage.read("m1/thumb.jpg"), text("second"));
  const got = await storage.get("m1/thumb.jpg");
  assert.equal(got?.size, 6);
  await got?.body.cancel();
  assert.deepEqual(await storage.list(""), ["m1/thumb.jpg"]);
});

contract("a stream that errors halfway leaves nothing and rethrows its error", async (storage, harness) => {
  const boom = new Error("boom");
  await assert.rejects(
    storage.put("m1/original.jpg", streamOf([new Uint8Array(100_000), new Uint8Array(100_000)], boom), {
      contentType: "image/jpeg",
    }),
    (err) => err === boom,
  );
  assert.equal(await storage.get("m1/original.jpg"), null);
  assert.deepEqual(await storage.list(""), []);
  assert.deepEqual(await harness.leftovers(), []);
});

contract("a cancelled upload stream leaves nothing", async (storage, harness) => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const cancelled = new DOMException("client went away", "AbortError");
  const put = storage.put("m2/original.png", readable, { contentType: "image/png" });
  await writer.write(new Uint8Array(50_000));
  await writer.abort(cancelled);
  await assert.rejects(put, (err) => err === cancelled);
  assert.equal(await storage.read("m2/original.png"), null);
  assert.deepEqual(await storage.list(""), []);
  assert.deepEqual(await harness.leftovers(), []);
});

contract("a 5 MB body streams through", async (storage) => {
  const payload = bigPayload(5 * 1024 * 1024);
  const { bytes } = await storage.put("big/original.mp4", payload.stream(), { contentType: "video/mp4" });
  assert.equal(bytes, payload.bytes.byteLength);
  const got = await storage.get("big/original.mp4");
  assert.ok(got);
  assert.equal(got.size, payload.bytes.byteLength);
  assert.deepEqual(await collect(got.body), payload.bytes);
});

contract("delete removes several keys and ignores missing ones", async (storage, harness) => {
  for (const key of ["a/original", "a/thumb.jpg", "b/original", "c/original"]) {
    await storage.put(key, text(key), { contentType: "application/octet-stream" });
  }
  await storage.delete(["a/original", "a/thumb.jpg", "b/original", "missing/original", "a/nothing"]);
  assert.deepEqual(await storage.list(""), ["c/original"]);
  assert.equal(await storage.read("a/original"), null);
  await storage.delete([]);
  await storage.delete(["c/original"]);
  assert.deepEqual(await storage.list(""), []);
  assert.deepEqual(await harness.leftovers(), []);
});

contract("list returns nested keys by prefix", async (storage) => {
  const keys = ["m1/original", "m1/thumb.jpg", "m1/sizes/small.jpg", "m1/sizes/large.jpg", "m10/original"];
  for (const key of [...keys, "m2/original"]) {
    await storage.put(key, text(key), { contentType: "application/octet-stream" });
  }
  assert.deepEqual(await storage.list("m1/"), [
    "m1/original",
    "m1/sizes/large.jpg",
    "m1/sizes/small.jpg",
    "m1/thumb.jpg",
  ]);
  assert.deepEqual(await storage.list("m1"), [...keys].sort());
  assert.deepEqual(await storage.list("m1/s"), ["m1/sizes/large.jpg", "m1/sizes/small.jpg"]);
  assert.deepEqual(await storage.list("m1/thumb"), ["m1/thumb.jpg"]);
  assert.deepEqual(await storage.list("m1/sizes/small.jpg"), ["m1/sizes/small.jpg"]);
  assert.deepEqual(await storage.list(""), [...keys, "m2/original"].sort());
  assert.deepEqual(await storage.list("nope/"), []);
  assert.deepEqual(await storage.list("../"), []);
});

contract("invalid keys are refused", async (storage, harness) => {
  for (const key of ["../x", "/abs", "a//b", "", "a/../b", "a/./b", "a/", ".hidden", "a b"]) {
    await assert.rejects(storage.put(key, text("x"), { contentType: "text/plain" }), /Invalid storage key/);
    await assert.rejects(storage.get(key), /Invalid storage key/);
    await assert.rejects(storage.read(key), /Invalid storage key/);
    await assert.rejects(storage.delete(["ok/key", key]), /Invalid storage key/);
  }
  assert.deepEqual(await harness.leftovers(), []);
});

contract("concurrent puts of different keys all land", async (storage, harness) => {
  const keys = Array.from({ length: 24 }, (_, i) => `m${i % 4}/variant-${i}.webp`);
  await Promise.all(
    keys.map((key) =>
      storage.put(key, streamOf([text(`${key}:`), new Uint8Array(10_000).fill(keys.indexOf(key))]), {
        contentType: "image/webp",
      })
    ),
  );
  assert.deepEqual(await storage.list(""), [...keys].sort());
  for (const [i, key] of keys.entries()) {
    const bytes = await storage.read(key);
    assert.equal(bytes?.byteLength, key.length + 1 + 10_000);
    assert.equal(bytes?.at(-1), i);
  }
  // Deleting and writing in the same folders concurrently must not trip over pruned directories.
  await Promise.all([
    storage.delete(keys.slice(0, 12)),
    ...keys.slice(0, 12).map((key) => storage.put(`${key}.again`, text("x"), { contentType: "text/plain" })),
  ]);
  const left = await storage.list("");
  assert.equal(left.length, 24);
  assert.ok((await harness.leftovers()).every((p) => !p.split("/").at(-1)!.startsWith(".")));
});

Deno.test("storage (local): content type comes from the key's extension", async () => {
  const harness = await localHarness();
  try {
    await harness.storage.put("m1/original", text("x"), { contentType: "image/png" });
    const got = await harness.storage.get("m1/original");
    assert.equal(got?.contentType, "application/octet-stream");
    await got?.body.cancel();
    assert.equal(contentTypeFor("a/b.JPG"), "image/jpeg");
    assert.equal(contentTypeFor("a/b.jpeg"), "image/jpeg");
    assert.equal(contentTypeFor("a/b.png"), "image/png");
    assert.equal(contentTypeFor("a/b.gif"), "image/gif");
    assert.equal(contentTypeFor("a/b.webp"), "image/webp");
    assert.equal(contentTypeFor("a/b.pdf"), "application/pdf");
    assert.equal(contentTypeFor("a/b.mp4"), "video/mp4");
    assert.equal(contentTypeFor("a/b.webm"), "video/webm");
    assert.equal(contentTypeFor("a.jpg/original"), "application/octet-stream");
  } finally {
    await harness.close();
  }
});

Deno.test("storage (local): delete prunes empty folders but never the root", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plaza-storage-" });
  try {
    const storage = localStore(`${dir}/media`);
    await storage.put("a/b/c/original", text("x"), { contentType: "text/plain" });
    await storage.put("a/keep", text("x"), { contentType: "text/plain" });
    await storage.delete(["a/b/c/original"]);
    assert.deepEqual(await walkAll(dir), ["media", "media/a", "media/a/keep"]);
    await storage.delete(["a/keep"]);
    assert.deepEqual(await walkAll(dir), ["media"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("storage (supabase): keeps the content type of extensionless keys and sends the service key", async () => {
  const harness = await supabaseHarness();
  try {
    await harness.storage.put("m1/original", text("png bytes"), { contentType: "image/png" });
    assert.equal(harness.fake.objects.get("media/m1/original")?.contentType, "image/png");
    const got = await harness.storage.get("m1/original");
    assert.equal(got?.contentType, "image/png");
    await got?.body.cancel();
    assert.deepEqual(harness.fake.requests.at(-2), {
      method: "POST",
      path: "/storage/v1/object/media/m1/original",
    });
    assert.deepEqual(harness.fake.requests.at(-1), {
      method: "GET",
      path: "/storage/v1/object/authenticated/media/m1/original",
    });
  } finally {
    await harness.close();
  }
});

Deno.test("storage (supabase): errors carry the status and message, ensureBucket is idempotent", async () => {
  const harness = await supabaseHarness();
  try {
    const opts = { url: harness.fake.url, serviceRoleKey: harness.fake.serviceRoleKey, bucket: "media" };
    await ensureBucket(opts); // already exists
    const wrong = supabaseStorage({ ...opts, serviceRoleKey: "wrong" });
    await assert.rejects(wrong.read("m1/original"), /HTTP 401: Invalid API key/);
    const noBucket = supabaseStorage({ ...opts, bucket: "other" });
    await assert.rejects(
      noBucket.put("m1/original", text("x"), { contentType: "text/plain" }),
      /upload failed: HTTP 400 \(404\): Bucket not found/,
    );
    await assert.rejects(ensureBucket({ ...opts, serviceRoleKey: "wrong" }), /create bucket failed/);
  } finally {
    await harness.close();
  }
});

Deno.test("storage (supabase): list pages through big folders and delete batches by 1000", async () => {
  const harness = await supabaseHarness();
  try {
    const keys = Array.from({ length: 1005 }, (_, i) => `big/v${String(i).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(
        keys.slice(i, i + 100).map((k) => harness.storage.put(k, text("x"), { contentType: "text/plain" })),
      );
    }
    const before = harness.fake.requests.length;
    assert.deepEqual(await harness.storage.list("big/"), keys);
    assert.equal(harness.fake.requests.length - before, 2);
    await harness.storage.delete(keys);
    assert.equal(harness.fake.requests.filter((r) => r.method === "DELETE").length, 2);
    assert.deepEqual(await harness.storage.list(""), []);
  } finally {
    await harness.close();
  }
});

Deno.test("openStorage picks Supabase when configured, else <dataDir>/media", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plaza-storage-" });
  try {
    const local = openStorage(loadConfig({ PLAZA_DATA_DIR: dir }));
    assert.equal(local.kind, "local");
    await local.put("m1/original", text("x"), { contentType: "text/plain" });
    assert.deepEqual(await Deno.readFile(`${dir}/media/m1/original`), text("x"));

    const fake = await startFakeStorage();
    try {
      const config = loadConfig({
        PLAZA_DATA_DIR: dir,
        SUPABASE_URL: fake.url,
        SUPABASE_ANON_KEY: "anon",
        SUPABASE_SERVICE_ROLE_KEY: fake.serviceRoleKey,
        SUPABASE_JWT_SECRET: "secret",
        SUPABASE_STORAGE_BUCKET: "uploads",
      });
      await ensureBucket({ url: fake.url, serviceRoleKey: fake.serviceRoleKey, bucket: config.media.bucket });
      const cloud = openStorage(config);
      assert.equal(cloud.kind, "supabase");
      await cloud.put("m1/original", text("y"), { contentType: "text/plain" });
      assert.deepEqual(fake.objects.get("uploads/m1/original")?.bytes, text("y"));
    } finally {
      await fake.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
