/** Who sees what (RLS on public.media) and GET /api/v1/media/urls. */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { appTest } from "../support/app.ts";
import { randomAdmin, randomUser } from "../support/factories.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { memberClaims } from "../support/events.ts";
import { jpegBytes } from "../support/images.ts";
import { readyImage } from "../support/media.ts";

appTest("[media rls] a stranger cannot select, insert or update someone's media through SQL", async (t) => {
  const owner = await randomUser(t);
  const stranger = await randomUser(t);
  const item = await readyImage(t, owner, await jpegBytes(40, 30));

  const mine = await asUser(
    t.platform.db,
    memberClaims(owner),
    (tx) => tx.query("select id from public.media where id = $1", [item.id]),
  );
  assert.equal(mine.length, 1);
  const seen = await asUser(
    t.platform.db,
    memberClaims(stranger),
    (tx) => tx.query("select id from public.media"),
  );
  assert.equal(seen.length, 0);
  await assert.rejects(
    asUser(t.platform.db, null, (tx) => tx.query("select id from public.media")),
    /permission denied/,
    "anon may not read media at all",
  );

  await assert.rejects(
    asUser(t.platform.db, memberClaims(stranger), (tx) =>
      tx.query(
        `insert into public.media (owner_id, kind, mime, status, bytes, variants)
         values ($1, 'image', 'image/png', 'ready', 10, $2::text::jsonb)`,
        [stranger.id, JSON.stringify({ full: { key: `${item.id}/full.jpg`, mime: "image/jpeg" } })],
      )),
    /permission denied/,
  );
  await assert.rejects(
    asUser(t.platform.db, memberClaims(owner), (tx) =>
      tx.query(
        `insert into public.media (owner_id, kind, mime, status, bytes) values ($1, 'pdf', 'application/pdf', 'ready', 10)`,
        [owner.id],
      )),
    /permission denied/,
    "not even owners insert directly",
  );
  for (const who of [stranger, owner]) {
    await assert.rejects(
      asUser(
        t.platform.db,
        memberClaims(who),
        (tx) =>
          tx.query("update public.media set hidden_at = null, owner_id = $2 where id = $1", [
            item.id,
            who.id,
          ]),
      ),
      /permission denied/,
    );
  }
  const [row] = await t.platform.db.query<{ owner_id: string }>(
    "select owner_id from public.media where id = $1",
    [
      item.id,
    ],
  );
  assert.equal(row.owner_id, owner.id);
  // Moderation functions are for admins only.
  await assert.rejects(
    asUser(
      t.platform.db,
      memberClaims(owner),
      (tx) => tx.query("select public.media_moderate($1, 'restore', '')", [item.id]),
    ),
  );
});

appTest("[media rls] room members see media attached in their room; others do not", async (t) => {
  const owner = await randomUser(t);
  const member = await randomUser(t);
  const outsider = await randomUser(t);
  const admin = await randomAdmin(t);
  const shared = await readyImage(t, owner, await jpegBytes(40, 30));
  const unshared = await readyImage(t, owner, await jpegBytes(40, 30));
  const room = await roomWith(t, owner, [member]);
  await say(t, owner, room.id, "", { attachments: [{ media_id: shared.id }] });

  const select = (who: typeof owner) =>
    asUser(
      t.platform.db,
      memberClaims(who),
      (tx) => tx.query<{ id: string }>("select id from public.media order by id"),
    ).then((r) => r.map((x) => x.id));
  assert.deepEqual(await select(member), [shared.id]);
  assert.deepEqual(await select(outsider), []);
  assert.deepEqual(await select(owner), [shared.id, unshared.id].sort());
  const adminSees = await asUser(
    t.platform.db,
    { sub: admin.id, role: "authenticated", app_metadata: { role: "admin" } },
    (tx) => tx.query<{ id: string }>("select id from public.media order by id"),
  );
  assert.deepEqual(adminSees.map((r) => r.id), [shared.id, unshared.id].sort());

  // Through the API as well.
  assert.equal((await api(t, member, "GET", `/media/${shared.id}`)).status, 200);
  assert.equal((await api(t, member, "GET", `/media/${unshared.id}`)).status, 404);
  assert.equal((await api(t, outsider, "GET", `/media/${shared.id}`)).status, 404);
  // The member's own library does not list it.
  const library = await api(t, member, "GET", "/media");
  assert.deepEqual(library.body.items, []);

  // Leaving the room ends it.
  const left = await api(t, member, "DELETE", `/rooms/${room.id}/members/${member.id}`);
  assert.ok([200, 204].includes(left.status), JSON.stringify(left));
  assert.deepEqual(await select(member), []);
});

appTest("[media rls] GET /api/v1/media/urls returns only visible ids; bad ids are 422", async (t) => {
  const owner = await randomUser(t);
  const member = await randomUser(t);
  const shared = await readyImage(t, owner, await jpegBytes(40, 30));
  const privateOne = await readyImage(t, owner, await jpegBytes(40, 30));
  const room = await roomWith(t, owner, [member]);
  await say(t, owner, room.id, "pic", { attachments: [{ media_id: shared.id }] });

  const ids = [shared.id, privateOne.id, crypto.randomUUID()].join(",");
  const asMember = await api(t, member, "GET", `/media/urls?ids=${ids}`);
  assert.equal(asMember.status, 200, JSON.stringify(asMember.body));
  assert.deepEqual(asMember.body.items.map((i: { id: string }) => i.id), [shared.id]);
  const [entry] = asMember.body.items;
  assert.deepEqual(Object.keys(entry.urls).sort(), ["full", "medium", "thumb"]);
  assert.equal(entry.width, 40);
  assert.equal(entry.hidden, false);
  assert.ok(Date.parse(entry.urls_expire_at) > Date.now());
  // Its URLs serve the member (and anyone holding them).
  const res = await t.request(entry.urls.thumb, { headers: member.bearer });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  // Upper-case ids are the same ids.
  const upper = await api(t, member, "GET", `/media/urls?ids=${shared.id.toUpperCase()}`);
  assert.deepEqual(upper.body.items.map((i: { id: string }) => i.id), [shared.id]);

  const asOwner = await api(t, owner, "GET", `/media/urls?ids=${ids}`);
  assert.deepEqual(
    asOwner.body.items.map((i: { id: string }) => i.id).sort(),
    [shared.id, privateOne.id].sort(),
  );

  const tooMany = Array.from({ length: 51 }, () => crypto.randomUUID()).join(",");
  for (
    const q of [
      "ids=not-a-uuid",
      "ids=",
      "",
      `ids=${shared.id},xyz`,
      `ids=${tooMany}`,
      `ids=${shared.id}&x=1`,
    ]
  ) {
    const bad = await api(t, member, "GET", `/media/urls?${q}`);
    assert.equal(bad.status, 422, `${q}: ${JSON.stringify(bad.body)}`);
  }
  const signedOut = await t.request(`/api/v1/media/urls?ids=${shared.id}`);
  assert.equal(signedOut.status, 401);
  await signedOut.body?.cancel();
});
