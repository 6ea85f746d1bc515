/** Chat attachments in the API as the chat island uses them, and the room-list label. */
import assert from "node:assert/strict";
import { attachmentsLabel } from "@/lib/client/chat_attachments.tsx";
import { appTest } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { randomUser } from "../support/factories.ts";
import { jpegBytes } from "../support/images.ts";
import { readyImage } from "../support/media.ts";

const image = { kind: "image", filename: "a.jpg" };

Deno.test("[chat ui] the room list labels messages that are only attachments", () => {
  assert.equal(attachmentsLabel([]), "");
  assert.equal(attachmentsLabel([image]), "Photo");
  assert.equal(attachmentsLabel([image, image]), "2 photos");
  assert.equal(attachmentsLabel([{ kind: "pdf", filename: "menu.pdf" }]), "menu.pdf");
  assert.equal(attachmentsLabel([image, { kind: "video", filename: "v.mp4" }]), "2 files");
});

appTest("[chat ui] a message with only a photo carries its snapshot, and members get its URLs", async (t) => {
  const ana = await randomUser(t, "ana");
  const ben = await randomUser(t, "ben");
  const room = await roomWith(t, ana, [ben]);
  const photo = await readyImage(t, ana, await jpegBytes(300, 200), "harbour.jpg");
  const m = await say(t, ana, room.id, "", { attachments: [{ media_id: photo.id }] });
  assert.equal(m.body, "");
  assert.equal(m.attachments.length, 1);
  const a = m.attachments[0];
  assert.deepEqual(
    { id: a.media_id, kind: a.kind, filename: a.filename, width: a.width, height: a.height },
    { id: photo.id, kind: "image", filename: "harbour.jpg", width: 300, height: 200 },
  );
  // History has it too; Ben gets signed URLs for the thumbnail grid.
  const history = await api(t, ben, "GET", `/rooms/${room.id}/messages`);
  assert.equal(history.body.messages[0].attachments[0].media_id, photo.id);
  const urls = await api(t, ben, "GET", `/media/urls?ids=${photo.id}`);
  assert.equal(urls.status, 200);
  assert.match(urls.body.items[0].urls.thumb, /\/thumb\?exp=\d+&sig=/);
  assert.ok(Date.parse(urls.body.items[0].urls_expire_at) > Date.now());
});
