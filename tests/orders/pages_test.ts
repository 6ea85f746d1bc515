/** The order pages (routes/pages/orders.tsx): list, no-JS form, order page, share links, sign-in. */
import assert from "node:assert/strict";
import { signShare } from "@/lib/orders/share.ts";
import { appTest } from "../support/app.ts";
import { browser, randomUser } from "../support/factories.ts";
import { api, cast, DROPOFF, orderIn, PICKUP, placeOrder, route, sendFixes } from "../support/orders.ts";

const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
const formHeaders = (cookies: string) =>
  browser(cookies, { "content-type": "application/x-www-form-urlencoded", accept: "text/html" });
const page = (cookies: string) => ({ headers: browser(cookies, { accept: "text/html" }) });

const VALID = {
  pickup_address: PICKUP.address,
  pickup_lat: String(PICKUP.lat),
  pickup_lng: String(PICKUP.lng),
  dropoff_address: DROPOFF.address,
  dropoff_lat: String(DROPOFF.lat),
  dropoff_lng: String(DROPOFF.lng),
  notes: "Ring twice",
};

/** The OrderTracker island's JSON props on a page. */
function trackerProps(html: string) {
  const m = /data-island="OrderTracker" data-props="([^"]*)"/.exec(html);
  assert.ok(m, "the page renders the OrderTracker island");
  const json = m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
  return JSON.parse(json);
}

appTest("[orders pages] signed out: /orders and /orders/:id redirect to sign in", async (t) => {
  for (const path of ["/orders", `/orders/${crypto.randomUUID()}`]) {
    const res = await t.request(path, { headers: { accept: "text/html" } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), `/login?next=${encodeURIComponent(path)}`);
  }
});

appTest("[orders pages] /orders lists the caller's orders, not other people's", async (t) => {
  const mia = await randomUser(t, "mia");
  const bo = await randomUser(t, "bo");
  const mine = await placeOrder(t, mia, { notes: "" });
  const theirs = await placeOrder(t, bo, {
    pickup: { ...PICKUP, address: "Somewhere else 9" },
    dropoff: DROPOFF,
  });
  const res = await t.request("/orders", page(mia.cookies));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const html = await res.text();
  assert.ok(html.includes(`href="/orders/${mine.id}"`));
  assert.ok(!html.includes(theirs.id));
  assert.match(html, /order-badge-requested/);
  assert.match(html, /data-testid="order-form"/);
  assert.ok(!html.includes('data-island="OrderTracker"'), "the list ships no tracker");
});

appTest("[orders pages] the no-JS form creates an order and redirects to it with 303", async (t) => {
  const mia = await randomUser(t, "mia");
  const res = await t.request("/orders", {
    method: "POST",
    headers: formHeaders(mia.cookies),
    body: form(VALID),
  });
  assert.equal(res.status, 303);
  const location = res.headers.get("location") ?? "";
  const id = /^\/orders\/([0-9a-f-]{36})$/.exec(location)?.[1];
  assert.ok(id, location);
  const order = await api(t, mia, "GET", `/orders/${id}`);
  assert.equal(order.status, 200);
  assert.equal(order.body.pickup.address, PICKUP.address);
  assert.equal(order.body.dropoff.lat, DROPOFF.lat);
  assert.equal(order.body.notes, "Ring twice");
  assert.equal(order.body.status, "requested");
});

appTest("[orders pages] a refused form comes back with 422, the messages and the typed values", async (t) => {
  const mia = await randomUser(t, "mia");
  const res = await t.request("/orders", {
    method: "POST",
    headers: formHeaders(mia.cookies),
    body: form({ ...VALID, pickup_lat: "north", dropoff_address: "", notes: "Keep <this>" }),
  });
  assert.equal(res.status, 422);
  const html = await res.text();
  assert.match(html, /Enter the latitude as a number/);
  assert.match(html, /Enter an address\./);
  assert.ok(html.includes('value="north"'), "the typed latitude is kept");
  assert.ok(html.includes(`value="${PICKUP.address}"`));
  assert.match(html, /Keep &lt;this(&gt;|>)/, "notes kept, escaped");
  // The same point twice is refused by the API's rule, shown beside the dropoff.
  const same = await t.request("/orders", {
    method: "POST",
    headers: formHeaders(mia.cookies),
    body: form({ ...VALID, dropoff_lat: VALID.pickup_lat, dropoff_lng: VALID.pickup_lng }),
  });
  assert.equal(same.status, 422);
  assert.match(await same.text(), /Pickup and dropoff are the same place/);
  assert.equal((await api(t, mia, "GET", "/orders")).body.orders.length, 0);
});

appTest("[orders pages] a cross-site form post is refused", async (t) => {
  const mia = await randomUser(t, "mia");
  const res = await t.request("/orders", {
    method: "POST",
    headers: { ...formHeaders(mia.cookies), origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    body: form(VALID),
  });
  assert.equal(res.status, 403);
});

appTest("[orders pages] /orders/:id renders the tracker for its people, 404 for anyone else", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "en_route_pickup");
  // Recorded after the status change (the customer sees only the current leg).
  const fixes = route(PICKUP, 5, 20, 2, Date.now() + 9000);
  assert.equal((await sendFixes(t, c.partner, order.id, fixes)).status, 200);
  for (const who of [c.customer, c.partner, c.admin]) {
    const res = await t.request(`/orders/${order.id}`, page(who.cookies));
    assert.equal(res.status, 200, who.name);
    const html = await res.text();
    const props = trackerProps(html);
    assert.equal(props.mode, "order");
    assert.equal(props.order.id, order.id);
    assert.equal(props.me.id, who.id);
    assert.equal(props.track.visible, true);
    assert.equal(props.track.trail.length, 5);
    assert.equal(typeof props.supabaseUrl, "string");
    assert.match(props.map.css, /leaflet/);
    assert.match(html, /data-testid="timeline"/);
    assert.match(html, /data-testid="order-map"/);
    assert.ok(!/ style="/.test(html), "no inline style attributes");
  }
  const customerHtml = await (await t.request(`/orders/${order.id}`, page(c.customer.cookies))).text();
  assert.match(
    customerHtml,
    /action="\/orders\/[^"]+\/cancel"/,
    "the customer may cancel en route to pickup",
  );
  assert.match(customerHtml, /data-testid="share-order"/);
  const stranger = await randomUser(t, "stranger");
  const res = await t.request(`/orders/${order.id}`, page(stranger.cookies));
  assert.equal(res.status, 404);
  assert.equal((await t.request("/orders/not-a-uuid", page(c.customer.cookies))).status, 404);
});

appTest("[orders pages] the customer sees the position hidden until the partner is on the way", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "assigned");
  const html = await (await t.request(`/orders/${order.id}`, page(c.customer.cookies))).text();
  assert.equal(trackerProps(html).track.visible, false);
  assert.match(html, /data-testid="position-hidden"/);
});

appTest("[orders pages] cancel posts move the order and come back with 303", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "assigned");
  const res = await t.request(`/orders/${order.id}/cancel`, {
    method: "POST",
    headers: formHeaders(c.customer.cookies),
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), `/orders/${order.id}`);
  assert.equal((await api(t, c.customer, "GET", `/orders/${order.id}`)).body.status, "cancelled");
  const html = await (await t.request(`/orders/${order.id}`, page(c.customer.cookies))).text();
  assert.ok(!html.includes('/cancel"'), "no cancel button on a cancelled order");
  // A second cancel is refused on the page with the reason.
  const again = await t.request(`/orders/${order.id}/cancel`, {
    method: "POST",
    headers: formHeaders(c.customer.cookies),
  });
  assert.equal(again.status, 409);
  assert.match(await again.text(), /data-testid="order-error"/);
});

appTest("[orders pages] Share live link shows a working /track link", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "en_route_pickup");
  await sendFixes(t, c.partner, order.id, route(PICKUP, 3, 20, 2, Date.now() + 5000));
  const res = await t.request(`/orders/${order.id}/share`, {
    method: "POST",
    headers: formHeaders(c.customer.cookies),
  });
  assert.equal(res.status, 200);
  const html = await res.text();
  const path = /href="(\/track\/[^"]+)"/.exec(html)?.[1];
  assert.ok(path, "the link is on the page");
  const shared = await t.request(path, { headers: { accept: "text/html" } });
  assert.equal(shared.status, 200);
  const sharedHtml = await shared.text();
  const props = trackerProps(sharedHtml);
  assert.equal(props.mode, "share");
  assert.equal(props.track.trail.length, 3);
  assert.equal(props.order.partner, null);
  assert.ok(!sharedHtml.includes(c.partner.id), "no partner id");
  assert.ok(!sharedHtml.includes(c.customer.id), "no customer id");
  assert.ok(!sharedHtml.includes("order-chat"), "no chat");
  // The partner may not share.
  const partner = await t.request(`/orders/${order.id}/share`, {
    method: "POST",
    headers: formHeaders(c.partner.cookies),
  });
  assert.equal(partner.status, 403);
});

appTest("[orders pages] /track/:token: expired 410, tampered and revoked 404", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "en_route_pickup");
  const past = Math.floor(Date.now() / 1000) - 60;
  const expired = await signShare(t.platform.shareKey, order.id, past, 1);
  const res = await t.request(`/track/${expired}`, { headers: { accept: "text/html" } });
  assert.equal(res.status, 410);
  assert.match(await res.text(), /data-testid="link-expired"/);

  const future = Math.floor(Date.now() / 1000) + 3600;
  const good = await signShare(t.platform.shareKey, order.id, future, 1);
  assert.equal((await t.request(`/track/${good}`, { headers: { accept: "text/html" } })).status, 200);
  const tampered = good.slice(0, -1) + (good.endsWith("A") ? "B" : "A");
  const bad = await t.request(`/track/${tampered}`, { headers: { accept: "text/html" } });
  assert.equal(bad.status, 404);
  assert.match(await bad.text(), /data-testid="link-invalid"/);
  assert.equal((await t.request("/track/nonsense", { headers: { accept: "text/html" } })).status, 404);

  assert.equal((await api(t, c.customer, "DELETE", `/orders/${order.id}/share`)).status, 204);
  assert.equal((await t.request(`/track/${good}`, { headers: { accept: "text/html" } })).status, 404);
});
