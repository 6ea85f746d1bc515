import assert from "node:assert/strict";
import { notify, notifyMany } from "@/lib/notify/notify.ts";
import { appTest } from "./support/app.ts";
import { browser, json, randomUser } from "./support/factories.ts";

appTest(
  "[notifications] notify writes one in-app row per dedup key; the inbox pages by keyset",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const first = await notify(t.platform, alice.id, {
      category: "system",
      template: "system.announcement",
      data: { title: "Hello", body: "First", url: "/chat" },
      dedupKey: "hello",
    });
    const again = await notify(t.platform, alice.id, {
      category: "system",
      template: "system.announcement",
      data: { title: "Hello", body: "First", url: "/chat" },
      dedupKey: "hello",
    });
    assert.equal(first.created, true);
    assert.deepEqual(again, { id: first.id, created: false });
    for (let i = 0; i < 4; i++) {
      await notify(t.platform, alice.id, {
        category: "system",
        template: "system.announcement",
        data: { title: `N${i}` },
        dedupKey: `n${i}`,
      });
    }
    const page1 = await t.request("/api/v1/notifications?limit=3", { headers: alice.bearer });
    assert.equal(page1.status, 200);
    assert.match(page1.headers.get("content-type") ?? "", /application\/json/);
    const body1 = await page1.json();
    assert.equal(body1.unread, 5);
    assert.deepEqual(body1.notifications.map((n: { title: string }) => n.title), ["N3", "N2", "N1"]);
    assert.ok(body1.next_before);
    const body2 = await (await t.request(`/api/v1/notifications?limit=3&before=${body1.next_before}`, {
      headers: alice.bearer,
    })).json();
    assert.deepEqual(body2.notifications.map((n: { title: string }) => n.title), ["N0", "Hello"]);
    assert.equal(body2.next_before, null);
    assert.equal(body2.notifications[1].url, "/chat");

    // Two jobs queued: one delivery per notification, the repeat queued nothing new.
    const jobs = await t.platform.db.query("select 1 from plaza.jobs where name = 'notify-deliver'");
    assert.equal(jobs.length, 5);
  },
);

appTest(
  "[notifications] read by ids or all; other people's notifications are neither seen nor marked",
  async (t) => {
    const alice = await randomUser(t, "alice");
    const bob = await randomUser(t, "bob");
    const ids: number[] = [];
    for (const who of [alice, alice, alice, bob]) {
      const { id } = await notify(t.platform, who.id, {
        category: "chat",
        template: "system.test",
        dedupKey: crypto.randomUUID(),
      });
      ids.push(id);
    }
    const read = await t.request(
      "/api/v1/notifications/read",
      json("POST", { ids: [ids[0], ids[3]] }, alice.bearer),
    );
    assert.equal(read.status, 200);
    assert.deepEqual(await read.json(), { marked: [ids[0]], unread: 2 });
    const again = await t.request(
      "/api/v1/notifications/read",
      json("POST", { ids: [ids[0]] }, alice.bearer),
    );
    assert.deepEqual(await again.json(), { marked: [], unread: 2 }, "reading twice changes nothing");
    const bobs = await (await t.request("/api/v1/notifications", { headers: bob.bearer })).json();
    assert.equal(bobs.unread, 1, "bob's stays unread");
    assert.equal(bobs.notifications.length, 1);

    const all = await t.request(
      "/api/v1/notifications/read",
      json("POST", { all: true }, browser(alice.cookies)),
    );
    const allBody = await all.json();
    assert.deepEqual(allBody.marked.sort((x: number, y: number) => x - y), [ids[1], ids[2]]);
    assert.equal(allBody.unread, 0);
    const count = await (await t.request("/api/v1/notifications/unread", { headers: alice.bearer })).json();
    assert.deepEqual(count, { unread: 0 });
  },
);

appTest("[notifications] bad requests get the error shape and change nothing", async (t) => {
  const alice = await randomUser(t, "alice");
  const { id } = await notify(t.platform, alice.id, {
    category: "system",
    template: "system.test",
    dedupKey: "x",
  });
  const cases: [string, Response, number][] = [
    ["no session", await t.request("/api/v1/notifications"), 401],
    [
      "garbage",
      await t.request("/api/v1/notifications/read", {
        method: "POST",
        headers: { ...alice.bearer, "content-type": "application/json" },
        body: "{not json",
      }),
      400,
    ],
    [
      "wrong type",
      await t.request("/api/v1/notifications/read", json("POST", { ids: ["1"] }, alice.bearer)),
      422,
    ],
    [
      "empty ids",
      await t.request("/api/v1/notifications/read", json("POST", { ids: [] }, alice.bearer)),
      422,
    ],
    [
      "all false",
      await t.request("/api/v1/notifications/read", json("POST", { all: false }, alice.bearer)),
      422,
    ],
    [
      "unknown field",
      await t.request("/api/v1/notifications/read", json("POST", { ids: [id], x: 1 }, alice.bearer)),
      422,
    ],
    [
      "too many",
      await t.request(
        "/api/v1/notifications/read",
        json("POST", { ids: Array.from({ length: 501 }, (_, i) => i + 1) }, alice.bearer),
      ),
      422,
    ],
    ["bad limit", await t.request("/api/v1/notifications?limit=1000", { headers: alice.bearer }), 422],
    ["bad cursor", await t.request("/api/v1/notifications?before=abc", { headers: alice.bearer }), 422],
    [
      "cross-site",
      await t.request(
        "/api/v1/notifications/read",
        json("POST", { all: true }, {
          cookie: alice.cookies,
          origin: "https://evil.example",
          "sec-fetch-site": "cross-site",
        }),
      ),
      403,
    ],
  ];
  for (const [label, res, status] of cases) {
    assert.equal(res.status, status, label);
    const body = await res.json();
    assert.equal(typeof body.error?.code, "string", label);
    assert.equal(typeof body.error?.message, "string", label);
  }
  const [row] = await t.platform.db.query<{ read_at: Date | null }>(
    "select read_at from public.notifications where id = $1",
    [id],
  );
  assert.equal(row.read_at, null, "still unread");
});

appTest("[notifications] preferences: defaults, saving, and validation", async (t) => {
  const alice = await randomUser(t, "alice");
  const defaults = await (await t.request("/api/v1/notifications/preferences", { headers: alice.bearer }))
    .json();
  assert.deepEqual(defaults.categories.chat, { push: true, sms: false, email: true });
  assert.deepEqual(defaults.settings, { timezone: "UTC", quiet_start: null, quiet_end: null });

  const saved = await t.request(
    "/api/v1/notifications/preferences",
    json("PUT", {
      categories: { chat: { push: false, sms: false, email: false } },
      settings: { timezone: "Europe/Paris", quiet_start: "22:00", quiet_end: "07:30" },
    }, alice.bearer),
  );
  assert.equal(saved.status, 200);
  const body = await saved.json();
  assert.deepEqual(body.categories.chat, { push: false, sms: false, email: false });
  assert.deepEqual(body.categories.orders, { push: true, sms: true, email: true }, "others keep defaults");
  assert.deepEqual(body.settings, { timezone: "Europe/Paris", quiet_start: "22:00", quiet_end: "07:30" });

  const bad = [
    { categories: { chat: { push: "yes", sms: false, email: false } } },
    { categories: { gossip: { push: true, sms: false, email: false } } },
    { categories: { chat: { push: true } } },
    { settings: { timezone: "Mars/Olympus", quiet_start: null, quiet_end: null } },
    { settings: { timezone: "UTC", quiet_start: "22:00", quiet_end: null } },
    { settings: { timezone: "UTC", quiet_start: "25:00", quiet_end: "07:00" } },
  ];
  for (const b of bad) {
    const res = await t.request("/api/v1/notifications/preferences", json("PUT", b, alice.bearer));
    assert.equal(res.status, 422, JSON.stringify(b));
  }
  const after = await (await t.request("/api/v1/notifications/preferences", { headers: alice.bearer }))
    .json();
  assert.deepEqual(after, body, "nothing changed by bad requests");
});

appTest(
  "[notifications] unknown templates and bad template data are refused before anything is written",
  async (t) => {
    const alice = await randomUser(t, "alice");
    await assert.rejects(
      notify(t.platform, alice.id, { category: "system", template: "nope", dedupKey: "a" }),
      /unknown notification template/,
    );
    await assert.rejects(
      notify(t.platform, alice.id, {
        category: "system",
        template: "system.announcement",
        data: { title: "" },
        dedupKey: "b",
      }),
      /invalid data/,
    );
    const rows = await t.platform.db.query("select 1 from public.notifications");
    assert.equal(rows.length, 0);
  },
);

appTest(
  "[notifications] notifyMany writes one row per person, skips those already notified, and queues their delivery",
  async (t) => {
    const people = [await randomUser(t, "a"), await randomUser(t, "b"), await randomUser(t, "c")];
    await notify(t.platform, people[0].id, {
      category: "system",
      template: "system.announcement",
      data: { title: "Maintenance tonight" },
      dedupKey: "maint",
    });
    const { created } = await notifyMany(t.platform, people.map((p) => p.id), {
      category: "system",
      template: "system.announcement",
      data: { title: "Maintenance tonight" },
      dedupKey: "maint",
    });
    assert.equal(created, 2, "the first person already had it");
    const rows = await t.platform.db.query<{ user_id: string }>(
      "select user_id from public.notifications where dedup_key = 'maint'",
    );
    assert.equal(rows.length, 3);
    const jobs = await t.platform.db.query("select 1 from plaza.jobs where name = 'notify-deliver'");
    assert.equal(jobs.length, 3);
    for (const p of people) {
      const body = await (await t.request("/api/v1/notifications", { headers: p.bearer })).json();
      assert.equal(body.notifications.length, 1);
      assert.equal(body.notifications[0].title, "Maintenance tonight");
    }
  },
);
