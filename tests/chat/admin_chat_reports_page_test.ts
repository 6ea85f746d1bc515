import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { browser, randomAdmin, randomUser } from "../support/factories.ts";

const form = (cookies: string, fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: browser(cookies, { "content-type": "application/x-www-form-urlencoded" }),
  body: new URLSearchParams(fields).toString(),
});

appTest(
  "[chat] /admin/chat-reports: admins see reported messages and act on them with plain forms",
  async (t) => {
    const admin = await randomAdmin(t);
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const room = await roomWith(t, ada, [bo]);
    const rude = await say(t, bo, room.id, "something <b>rude</b>");
    const report = await api(t, ada, "POST", `/messages/${rude.id}/report`, { reason: "Insulting & rude" });
    assert.equal(report.status, 201);

    const anon = await t.request("/admin/chat-reports", { headers: { accept: "text/html" } });
    assert.equal(anon.status, 303);
    assert.match(anon.headers.get("location") ?? "", /^\/login\?next=/);
    assert.equal((await t.request("/admin/chat-reports", { headers: browser(ada.cookies) })).status, 403);
    assert.equal(
      (await t.request(`/admin/chat-reports/${report.body.id}`, form(ada.cookies, { action: "dismiss" })))
        .status,
      403,
    );

    const page = await t.request("/admin/chat-reports", { headers: browser(admin.cookies) });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /something &lt;b>rude&lt;\/b>/, "the body is escaped");
    assert.match(html, /Insulting &amp; rude/);
    assert.match(html, new RegExp(`action="/admin/chat-reports/${report.body.id}"`));

    const bad = await t.request(
      `/admin/chat-reports/${report.body.id}`,
      form(admin.cookies, { action: "explode" }),
    );
    assert.equal(bad.status, 422);

    const muted = await t.request(
      `/admin/chat-reports/${report.body.id}`,
      form(admin.cookies, { action: "mute_author", minutes: "60" }),
    );
    assert.equal(muted.status, 303);
    assert.match(decodeURIComponent(muted.headers.get("location") ?? ""), /author muted for 60 min/);
    const refused = await api(t, bo, "POST", `/rooms/${room.id}/messages`, {
      body: "again",
      client_id: "x1",
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "muted");

    const again = await t.request(
      `/admin/chat-reports/${report.body.id}`,
      form(admin.cookies, { action: "dismiss" }),
    );
    assert.equal(again.status, 409, "a resolved report stays resolved");
    const open = await t.request("/admin/chat-reports", { headers: browser(admin.cookies) });
    assert.match(await open.text(), /No open reports/);
    const done = await t.request("/admin/chat-reports?status=actioned", { headers: browser(admin.cookies) });
    assert.match(await done.text(), /author muted for 60 min/);
  },
);
