/** The Supabase Storage adapter end to end: upload → process → serve → delete against the fake storage-api. */
import assert from "node:assert/strict";
import { Image } from "imagescript";
import { ensureBucket } from "@/lib/storage/mod.ts";
import { supabaseStorage } from "@/lib/storage/supabase.ts";
import { sweepMedia } from "@/lib/media/process.ts";
import { withApp } from "../support/app.ts";
import { randomUser } from "../support/factories.ts";
import { startFakeStorage } from "../support/fake_storage.ts";
import { hasMetadata, jpegBytes, withExif } from "../support/images.ts";
import { assertNothingWritten, bytesOf, pdfBytes, readyImage, storeState, upload } from "../support/media.ts";

Deno.test({
  name: "[media cloud storage] upload, process, serve and delete through Supabase Storage",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fake = await startFakeStorage();
    try {
      const options = { url: fake.url, serviceRoleKey: fake.serviceRoleKey, bucket: "media" };
      await ensureBucket(options);
      await withApp(async (t) => {
        assert.equal(t.platform.storage.kind, "supabase");
        const user = await randomUser(t);
        const stranger = await randomUser(t);
        const photo = withExif(await jpegBytes(640, 480), { gps: true, orientation: 6 });
        const item = await readyImage(t, user, photo);
        assert.deepEqual([item.width, item.height], [480, 640]);
        assert.deepEqual([...fake.objects.keys()].sort(), [
          `media/${item.id}/full.jpg`,
          `media/${item.id}/medium.jpg`,
          `media/${item.id}/thumb.jpg`,
        ]);
        for (const variant of ["thumb", "medium", "full"]) {
          const res = await t.request(item.urls[variant], { headers: stranger.bearer });
          assert.equal(res.status, 200, variant);
          assert.equal(res.headers.get("content-type"), "image/jpeg");
          const bytes = new Uint8Array(await res.arrayBuffer());
          assert.equal(hasMetadata(bytes), false);
          const image = await Image.decode(bytes);
          assert.ok(image.height > image.width, `${variant} is upright`);
        }
        const pdf = await upload(t, user, pdfBytes(), { filename: "a.pdf" });
        assert.equal(pdf.status, 201);
        const served = await t.request(pdf.body.urls.original);
        assert.deepEqual(new Uint8Array(await served.arrayBuffer()), pdfBytes());
        assert.equal(fake.objects.get(`media/${pdf.body.id}/original.pdf`)?.contentType, "application/pdf");

        // A refusal leaves nothing in the bucket.
        const before = await storeState(t);
        const refused = await upload(t, user, bytesOf(await jpegBytes(20, 20), "<html>"), {});
        assert.ok(refused.status >= 400, JSON.stringify(refused.body));
        await assertNothingWritten(t, before, "refused upload");

        for (const id of [item.id, pdf.body.id]) {
          const del = await t.request(`/api/v1/media/${id}`, { method: "DELETE", headers: user.bearer });
          assert.equal(del.status, 204);
        }
        await sweepMedia(t.platform);
        assert.deepEqual([...fake.objects.keys()], []);
        assert.deepEqual(await t.platform.storage.list(""), []);
      }, { storage: supabaseStorage(options) });
    } finally {
      await fake.close();
    }
  },
});
