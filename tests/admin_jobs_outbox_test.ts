import assert from "node:assert/strict";
import { createQueue } from "@/lib/jobs/queue.ts";
import { notify } from "@/lib/notify/notify.ts";
import { sendEmail } from "@/lib/notify/outbox.ts";
import { appTest } from "./support/app.ts";
import { browser, json, randomAdmin, randomUser } from "./support/factories.ts";

async function deadJob(t: Parameters<Parameters<typeof appTest>[1]>[0], name = "nobody-handles-this") {
  const queue = createQueue(t.platform.db);
  await queue.enqueue(name, { n: 1 }, { dedupId: `d-${crypto.randomUUID()}` });
  const [job] = await queue.claim("test-node", 1, 60);
  await queue.fail(job, "test-node", "no handler", { permanent: true });
  return job.id;
}

appTest(
  "[admin jobs] admins see jobs by state and retry or delete dead letters; others cannot",
  async (t) => {
    const admin = await randomAdmin(t);
    const member = await randomUser(t, "member");
    const dead = await deadJob(t);
    const other = await deadJob(t);

    const anon = await t.request("/admin/jobs", { headers: { accept: "text/html" } });
    assert.equal(anon.status, 303);
    assert.match(anon.headers.get("location") ?? "", /^\/login\?next=/);
    assert.equal((await t.request("/admin/jobs", { headers: browser(member.cookies) })).status, 403);
    assert.equal((await t.request("/api/v1/admin/jobs", { headers: member.bearer })).status, 403);
    assert.equal(
      (await t.request(`/admin/jobs/dead/${dead}/retry`, {
        method: "POST",
        headers: browser(member.cookies),
      }))
        .status,
      403,
    );

    const page = await t.request("/admin/jobs?state=dead", { headers: browser(admin.cookies) });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /nobody-handles-this/);
    assert.match(html, /no handler/);

    const api = await (await t.request("/api/v1/admin/jobs?state=dead", { headers: admin.bearer })).json();
    assert.equal(api.counts.dead, 2);
    assert.deepEqual(api.jobs.map((j: { id: number }) => j.id).sort(), [dead, other].sort());

    const retried = await t.request(`/admin/jobs/dead/${dead}/retry`, {
      method: "POST",
      headers: browser(admin.cookies),
    });
    assert.equal(retried.status, 303);
    const back = await t.platform.db.query<{ status: string }>(
      "select status from plaza.jobs where name = 'nobody-handles-this'",
    );
    assert.deepEqual(back.map((r) => r.status), ["queued"], "back in the queue");
    const deleted = await t.request(
      `/api/v1/admin/jobs/dead/${other}/delete`,
      json("POST", {}, admin.bearer),
    );
    assert.equal(deleted.status, 200);
    const again = await t.request(`/api/v1/admin/jobs/dead/${other}/delete`, json("POST", {}, admin.bearer));
    assert.equal(again.status, 404, "deleting twice finds nothing");
    const bad = await t.request(`/api/v1/admin/jobs/running/1/delete`, json("POST", {}, admin.bearer));
    assert.equal(bad.status, 422, "running jobs are not deleted from under their runner");
    const badQuery = await t.request("/api/v1/admin/jobs?state=zombie", { headers: admin.bearer });
    assert.equal(badQuery.status, 422);
  },
);

appTest("[admin outbox] admins read every email and text, and the delivery log", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t, "member");
  await sendEmail(t.platform, {
    to: member.email,
    subject: "Hello <there>",
    text: "Plain part",
    html: "<p>Html part</p>",
  });
  const { id } = await notify(t.platform, member.id, {
    category: "system",
    template: "system.test",
    dedupKey: "x",
  });
  await t.platform.db.query(
    `insert into plaza.deliveries (notification_id, user_id, channel, provider, provider_id, status, cost_micros, cost_unit)
     values ($1, $2, 'sms', 'twilio', 'SM123', 'delivered', 7500, 'USD')`,
    [id, member.id],
  );
  assert.equal((await t.request("/admin/outbox", { headers: browser(member.cookies) })).status, 403);
  const page = await t.request("/admin/outbox", { headers: browser(admin.cookies) });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /Hello &lt;there>/, "escaped");
  assert.match(html, /SM123/);
  assert.match(html, /0\.0075 USD/);
  const list = await (await t.request("/api/v1/admin/outbox?channel=email", { headers: admin.bearer }))
    .json();
  assert.equal(list.messages.length, 1);
  const one = await t.request(`/admin/outbox/${list.messages[0].id}`, { headers: browser(admin.cookies) });
  assert.match(await one.text(), /Plain part/);
  assert.equal((await t.request("/admin/outbox/999999", { headers: browser(admin.cookies) })).status, 404);
  assert.equal((await t.request("/admin/outbox/abc", { headers: browser(admin.cookies) })).status, 422);
  assert.equal((await t.request("/api/v1/admin/outbox?channel=fax", { headers: admin.bearer })).status, 422);
  assert.equal((await t.request("/api/v1/admin/deliveries", { headers: member.bearer })).status, 403);
  const log = await (await t.request("/api/v1/admin/deliveries", { headers: admin.bearer })).json();
  assert.equal(log.deliveries[0].cost_micros, 7500);
});

appTest(
  "[notification pages] the inbox and settings render; the settings form saves and explains mistakes",
  async (t) => {
    const alice = await randomUser(t, "alice");
    await notify(t.platform, alice.id, {
      category: "system",
      template: "system.announcement",
      data: { title: "Welcome <aboard>" },
      dedupKey: "w",
    });
    const inbox = await t.request("/notifications", { headers: browser(alice.cookies) });
    assert.equal(inbox.status, 200);
    assert.match(await inbox.text(), /Welcome &lt;aboard>/);
    const settings = await t.request("/settings/notifications", { headers: browser(alice.cookies) });
    assert.match(await settings.text(), /data-island="DeviceChannels"/);

    const form = (fields: Record<string, string>) => ({
      method: "POST",
      headers: { ...browser(alice.cookies), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
    const saved = await t.request(
      "/settings/notifications",
      form({
        "chat.push": "on",
        "orders.sms": "on",
        timezone: "America/New_York",
        quiet_start: "",
        quiet_end: "",
      }),
    );
    assert.equal(saved.status, 303);
    const prefs = await (await t.request("/api/v1/notifications/preferences", { headers: alice.bearer }))
      .json();
    assert.deepEqual(prefs.categories.chat, { push: true, sms: false, email: false });
    assert.deepEqual(prefs.categories.orders, { push: false, sms: true, email: false });
    assert.equal(prefs.settings.timezone, "America/New_York");

    const wrong = await t.request(
      "/settings/notifications",
      form({ timezone: "America/New_York", quiet_start: "22:00", quiet_end: "" }),
    );
    assert.equal(wrong.status, 422);
    assert.match(await wrong.text(), /Give both ends of the quiet hours/);

    const readAll = await t.request("/notifications/read-all", {
      method: "POST",
      headers: browser(alice.cookies),
    });
    assert.equal(readAll.status, 303);
    const count = await (await t.request("/api/v1/notifications/unread", { headers: alice.bearer })).json();
    assert.equal(count.unread, 0);
  },
);
