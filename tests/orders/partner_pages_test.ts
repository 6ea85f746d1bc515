import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { browser, randomUser, type TestUser } from "../support/factories.ts";
import { api, cast, orderIn } from "../support/orders.ts";

const page = (t: TestContext, path: string, user?: TestUser) =>
  t.request(path, { headers: { ...(user ? browser(user.cookies) : {}), accept: "text/html" } });

const form = (t: TestContext, path: string, user: TestUser | null, body: Record<string, string>) =>
  t.request(path, {
    method: "POST",
    headers: {
      ...browser(user?.cookies ?? ""),
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html",
    },
    body: new URLSearchParams(body),
  });

appTest(
  "[partner pages] /partner: sign-in redirect, 403 for members, the partner's open orders",
  async (t) => {
    const c = await cast(t);
    const order = await orderIn(t, c, "assigned");

    const anon = await page(t, "/partner");
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.get("location"), "/login?next=%2Fpartner");

    const member = await page(t, "/partner", c.customer);
    assert.equal(member.status, 403);
    assert.match(member.headers.get("content-type") ?? "", /text\/html/);
    await member.body?.cancel();

    const res = await page(t, "/partner", c.partner);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const html = await res.text();
    assert.match(html, /data-island="PartnerConsole"/);
    assert.ok(html.includes(order.pickup.address.replaceAll("'", "&#39;")), "the pickup is listed");
    assert.ok(html.includes(`action="/partner/orders/${order.id}/status"`), "the no-JS step form");
    assert.match(html, /name="status" value="en_route_pickup"/);
    assert.doesNotMatch(html, /\sstyle="/, "no inline styles (CSP)");

    // A delivered order is not listed any more.
    const other = await orderIn(t, c, "delivered");
    const after = await (await page(t, "/partner", c.partner)).text();
    assert.ok(!after.includes(`/partner/orders/${other.id}/status`));

    const admin = await page(t, "/partner", c.admin);
    assert.equal(admin.status, 200);
    await admin.body?.cancel();
  },
);

appTest(
  "[partner pages] the no-JS step form moves the order along and refuses what is not allowed",
  async (t) => {
    const c = await cast(t);
    const order = await orderIn(t, c, "assigned");
    const path = `/partner/orders/${order.id}/status`;

    const step = await form(t, path, c.partner, { status: "en_route_pickup" });
    assert.equal(step.status, 303);
    assert.equal(step.headers.get("location"), "/partner");
    const now = await api(t, c.partner, "GET", `/orders/${order.id}`);
    assert.equal(now.body.status, "en_route_pickup");
    assert.equal(now.body.timeline.at(-1).status, "en_route_pickup");

    const skip = await form(t, path, c.partner, { status: "delivered" });
    assert.equal(skip.status, 409);
    assert.match(await skip.text(), /cannot become delivered/);

    const bogus = await form(t, path, c.partner, { status: "teleported" });
    assert.equal(bogus.status, 422);
    await bogus.body?.cancel();

    const customer = await form(t, path, c.customer, { status: "picked_up" });
    assert.equal(customer.status, 403);
    await customer.body?.cancel();

    const anon = await form(t, path, null, { status: "picked_up" });
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.get("location"), "/login?next=%2Fpartner");
    assert.equal((await api(t, c.partner, "GET", `/orders/${order.id}`)).body.status, "en_route_pickup");
  },
);

appTest("[partner pages] /admin/dispatch is for admins and lists open orders and partners", async (t) => {
  const c = await cast(t);
  const waiting = await orderIn(t, c, "requested");
  const moving = await orderIn(t, c, "picked_up");

  const anon = await page(t, "/admin/dispatch");
  assert.equal(anon.status, 303);
  assert.equal(anon.headers.get("location"), "/login?next=%2Fadmin%2Fdispatch");
  for (const who of [c.customer, c.partner]) {
    const res = await page(t, "/admin/dispatch", who);
    assert.equal(res.status, 403);
    await res.body?.cancel();
  }

  const res = await page(t, "/admin/dispatch", c.admin);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const html = await res.text();
  assert.match(html, /data-island="DispatchBoard"/);
  assert.match(html, /leaflet[^"]*\.css/, "the map settings carry the Leaflet stylesheet");
  assert.ok(
    html.includes(`action="/admin/dispatch/${waiting.id}/assign"`),
    "a requested order can be assigned",
  );
  assert.ok(!html.includes(`action="/admin/dispatch/${moving.id}/assign"`), "a picked-up order cannot");
  assert.ok(html.includes(`<option value="${c.partner.id}"`), "the partner is offered");
  assert.doesNotMatch(html, /\sstyle="/, "no inline styles (CSP)");
});

appTest(
  "[partner pages] the no-JS assign form assigns, and refuses non-admins and non-partners",
  async (t) => {
    const c = await cast(t);
    const order = await orderIn(t, c, "requested");
    const path = `/admin/dispatch/${order.id}/assign`;

    const byPartner = await form(t, path, c.partner, { partner_id: c.partner.id });
    assert.equal(byPartner.status, 403);
    await byPartner.body?.cancel();

    const notPartner = await form(t, path, c.admin, { partner_id: c.customer.id });
    assert.equal(notPartner.status, 422);
    assert.match(await notPartner.text(), /partner/i);

    const ok = await form(t, path, c.admin, { partner_id: c.partner.id });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/admin/dispatch");
    const view = await api(t, c.admin, "GET", `/orders/${order.id}`);
    assert.equal(view.body.status, "assigned");
    assert.equal(view.body.partner.id, c.partner.id);

    const stranger = await randomUser(t, "stranger");
    const bad = await form(t, path, c.admin, { partner_id: "not-a-uuid" });
    assert.equal(bad.status, 422);
    await bad.body?.cancel();
    const member = await form(t, path, stranger, { partner_id: c.partner.id });
    assert.equal(member.status, 403);
    await member.body?.cancel();
  },
);
