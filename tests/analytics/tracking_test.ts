/**
 * Tracking (docs/analytics.md, "Tracking"): every activity kind is written by the real action, in the
 * action's transaction; deleted accounts are anonymized; page views are cookie-free, path-normalized,
 * bot-filtered and keyed by a daily salted hash that never stores the IP.
 */
import assert from "node:assert/strict";
import { PageViews } from "@/lib/analytics/pageviews.ts";
import { rollupPending } from "@/lib/analytics/rollup.ts";
import { createLogger } from "@/lib/log.ts";
import { appTest, type TestContext, withApp } from "../support/app.ts";
import { api, roomWith, say } from "../support/chat.ts";
import { createEvent, expectError, expectOk, rsvp } from "../support/events.ts";
import { json, randomUser } from "../support/factories.ts";
import { pdfBytes, upload } from "../support/media.ts";
import { cast, orderIn } from "../support/orders.ts";

interface Activity {
  id: number;
  kind: string;
  user_id: string | null;
  subject_id: string | null;
  path: string | null;
  visitor: string | null;
  data: Record<string, unknown>;
  occurred_at: Date | string;
}

async function activity(t: TestContext, kind?: string): Promise<Activity[]> {
  const rows = await t.platform.db.query<Activity & { data: unknown }>(
    `select id, kind, user_id, subject_id, path, visitor, data, occurred_at from analytics.activity
     where $1::text is null or kind = $1 order by id`,
    [kind ?? null],
  );
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
  }));
}

async function activityCount(t: TestContext): Promise<number> {
  const [row] = await t.platform.db.query<{ n: number }>("select count(*)::int as n from analytics.activity");
  return Number(row.n);
}

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/** A GET as a browser would send it; returns the response after reading the body. */
async function visit(
  t: TestContext,
  path: string,
  opts: { ua?: string | null; ip?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: "text/html", ...opts.headers };
  if (opts.ua !== null) headers["user-agent"] = opts.ua ?? FIREFOX;
  const res = await t.request(path, { headers, ip: opts.ip });
  await res.body?.cancel();
  return res;
}

/** Lets in-flight recordings (hashing, salt lookup) finish, then writes the buffer. */
async function settle(t: TestContext): Promise<void> {
  await new Promise((r) => setTimeout(r, 150));
  await t.platform.pageViews.flush();
}

// ------------------------------------------------------------------------------------------------
// Activity kinds written by the real actions

appTest("[analytics tracking] sign up and sign in", async (t) => {
  const u = await randomUser(t);
  const up = (await activity(t, "signed_up")).filter((r) => r.user_id === u.id);
  assert.equal(up.length, 1, "one signed_up for the new account");
  assert.equal(up[0].subject_id, null);

  const before = (await activity(t, "signed_in")).filter((r) => r.user_id === u.id).length;
  const res = await t.request("/api/v1/auth/login", json("POST", { email: u.email, password: u.password }));
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const after = (await activity(t, "signed_in")).filter((r) => r.user_id === u.id).length;
  assert.equal(after, before + 1, "a sign-in records signed_in");

  // A wrong password changes nothing.
  const total = await activityCount(t);
  const bad = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: u.email, password: "wrong-password" }),
  );
  assert.ok(bad.status >= 400 && bad.status < 500, String(bad.status));
  await bad.body?.cancel();
  assert.equal(await activityCount(t), total, "a refused sign-in records nothing");
});

appTest("[analytics tracking] messages count per room, system messages do not", async (t) => {
  const [owner, member] = [await randomUser(t, "owner"), await randomUser(t)];
  const room = await roomWith(t, owner, [member]); // adding a member posts a system message
  const [sys] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.messages where room_id = $1 and kind = 'system'",
    [room.id],
  );
  await t.platform.db.query("select public.chat_system_message($1, 'A system note', '{}'::jsonb)", [room.id]);
  assert.equal((await activity(t, "message_sent")).length, 0, `no activity for ${sys.n} + 1 system messages`);

  await say(t, owner, room.id, "hello");
  await say(t, member, room.id, "hi there");
  await say(t, member, room.id, "again");
  const rows = await activity(t, "message_sent");
  assert.equal(rows.length, 3);
  assert.ok(rows.every((r) => r.subject_id === room.id), "subject is the room");
  assert.deepEqual(rows.map((r) => r.user_id), [owner.id, member.id, member.id]);
});

appTest("[analytics tracking] RSVP changes carry from/to; check-in recorded", async (t) => {
  const [org, guest] = [await randomUser(t, "org"), await randomUser(t)];
  const ev = await createEvent(t, org);
  expectOk(await rsvp(t, guest, ev.id, "maybe"));
  const ticket = expectOk(await rsvp(t, guest, ev.id, "going")).ticket_code as string;
  const rows = (await activity(t, "rsvp_changed")).filter((r) => r.user_id === guest.id);
  assert.equal(rows.length, 2);
  assert.ok(rows.every((r) => r.subject_id === ev.id));
  assert.deepEqual(rows[0].data, { from: null, to: "maybe" });
  assert.deepEqual(rows[1].data, { from: "maybe", to: "going" });

  expectOk(await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: ticket }));
  const checked = await activity(t, "checked_in");
  assert.equal(checked.length, 1);
  assert.equal(checked[0].user_id, guest.id);
  assert.equal(checked[0].subject_id, ev.id);

  // A second check-in is refused (409) and records nothing.
  const total = await activityCount(t);
  expectError(await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: ticket }), 409);
  assert.equal(await activityCount(t), total);
});

appTest("[analytics tracking] media upload records kind and bytes", async (t) => {
  const u = await randomUser(t);
  const bytes = pdfBytes(500);
  const up = await upload(t, u, bytes, { filename: "doc.pdf", type: "application/pdf" });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const rows = await activity(t, "media_uploaded");
  assert.equal(rows.length, 1);
  assert.equal(rows[0].user_id, u.id);
  assert.equal(rows[0].subject_id, up.body.id);
  assert.deepEqual(rows[0].data, { kind: "pdf", bytes: bytes.length });
});

appTest("[analytics tracking] order created, assigned, status changes record {to}", async (t) => {
  const c = await cast(t);
  const order = await orderIn(t, c, "delivered");
  const rows = (await activity(t, "order_status_changed")).filter((r) => r.subject_id === order.id);
  assert.deepEqual(rows.map((r) => r.data.to), [
    "requested",
    "assigned",
    "en_route_pickup",
    "picked_up",
    "en_route_dropoff",
    "delivered",
  ]);
  assert.equal(rows[0].user_id, c.customer.id, "created by the customer");
  assert.equal(rows[1].user_id, c.admin.id, "assigned by the admin");
  assert.ok(rows.slice(2).every((r) => r.user_id === c.partner.id), "steps by the partner");
});

// ------------------------------------------------------------------------------------------------
// Transactional: nothing is recorded for what did not happen

appTest("[analytics tracking] a rolled-back action records nothing", async (t) => {
  const u = await randomUser(t);
  const room = await roomWith(t, u);
  const before = await activityCount(t);
  await assert.rejects(
    t.platform.db.transaction(async (tx) => {
      await tx.query(
        `insert into public.messages (id, room_id, user_id, body) values (nextval('public.messages_id_seq'), $1, $2, 'x')`,
        [room.id, u.id],
      );
      const [n] = await tx.query<{ n: number }>(
        "select count(*)::int as n from analytics.activity where kind = 'message_sent'",
      );
      assert.equal(Number(n.n), 1, "written inside the transaction");
      throw new Error("roll back");
    }),
    /roll back/,
  );
  // A statement that violates a constraint inside a transaction: the whole transaction is gone.
  await assert.rejects(t.platform.db.transaction(async (tx) => {
    await tx.query(
      `insert into public.messages (id, room_id, user_id, body) values (nextval('public.messages_id_seq'), $1, $2, 'ok')`,
      [room.id, u.id],
    );
    await tx.query(
      `insert into public.messages (id, room_id, user_id, body) values (nextval('public.messages_id_seq'), $1, $2, '   ')`,
      [room.id, u.id],
    );
  }));
  assert.equal(await activityCount(t), before, "activity unchanged after rollbacks");
});

appTest("[analytics tracking] API calls refused with 4xx leave no activity", async (t) => {
  const [owner, outsider] = [await randomUser(t, "owner"), await randomUser(t, "outsider")];
  const room = await roomWith(t, owner);
  const ev = await createEvent(t, owner);
  const before = await activityCount(t);
  const notMember = await api(t, outsider, "POST", `/rooms/${room.id}/messages`, {
    body: "let me in",
    client_id: crypto.randomUUID(),
  });
  assert.ok(notMember.status >= 400 && notMember.status < 500, JSON.stringify(notMember));
  const empty = await api(t, owner, "POST", `/rooms/${room.id}/messages`, {
    body: "",
    client_id: crypto.randomUUID(),
  });
  assert.ok(empty.status >= 400 && empty.status < 500, JSON.stringify(empty));
  expectError(await rsvp(t, outsider, ev.id, "sometimes"), 422);
  const badUpload = await upload(t, outsider, new TextEncoder().encode("not a file"), { filename: "x.exe" });
  assert.ok(badUpload.status >= 400 && badUpload.status < 500, JSON.stringify(badUpload));
  assert.equal(await activityCount(t), before);
});

appTest("[analytics tracking] deleting a user anonymizes activity and drops daily_users", async (t) => {
  const [a, b] = [await randomUser(t), await randomUser(t)];
  const room = await roomWith(t, a, [b]);
  await say(t, a, room.id, "one");
  await say(t, b, room.id, "two");
  await rollupPending(t.platform.db);
  const [du] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from analytics.daily_users where user_id = $1",
    [a.id],
  );
  assert.ok(Number(du.n) >= 1, "a is a daily user before deletion");
  const total = await activityCount(t);
  const ofA = (await activity(t)).filter((r) => r.user_id === a.id).length;
  assert.ok(ofA >= 2);

  await t.platform.db.query("delete from auth.users where id = $1", [a.id]);
  assert.equal(await activityCount(t), total, "rows stay");
  const rows = await activity(t);
  assert.equal(rows.filter((r) => r.user_id === a.id).length, 0, "no row points at the deleted user");
  assert.ok(rows.some((r) => r.user_id === b.id), "other users untouched");
  assert.equal(rows.filter((r) => r.kind === "message_sent" && r.user_id === null).length, 1);
  const [after] = await t.platform.db.query<{ a: number; b: number }>(
    `select count(*) filter (where user_id = $1)::int as a, count(*) filter (where user_id = $2)::int as b
     from analytics.daily_users`,
    [a.id, b.id],
  );
  assert.equal(Number(after.a), 0, "daily_users rows of the deleted user removed");
  assert.ok(Number(after.b) >= 1);
});

// ------------------------------------------------------------------------------------------------
// Page views

appTest("[analytics tracking] page view: counted, no cookie, path normalized, referrer host", async (t) => {
  const org = await randomUser(t, "org");
  const ev = await createEvent(t, org);
  const res = await visit(t, `/events/${ev.id}?utm_source=mail&x=1`, {
    headers: { referer: "https://news.example.org/some/article?id=3" },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.deepEqual(res.headers.getSetCookie(), [], "no cookie is set for an anonymous page view");
  await visit(t, "/events", { headers: { referer: "http://localhost/events/123" } }); // internal referrer
  await visit(t, "/login");
  await settle(t);
  const rows = await activity(t, "page_viewed");
  const by = new Map(rows.map((r) => [r.path, r]));
  assert.deepEqual([...by.keys()].sort(), ["/events", "/events/:id", "/login"]);
  assert.equal(rows.length, 3);
  assert.deepEqual(by.get("/events/:id")!.data, { referrer: "news.example.org" });
  assert.deepEqual(by.get("/events")!.data, {}, "own-site referrer not stored");
  assert.deepEqual(by.get("/login")!.data, {});
  assert.ok(rows.every((r) => r.user_id === null && r.subject_id === null));
  assert.ok(rows.every((r) => r.path && !r.path.includes("?")));
});

appTest(
  "[analytics tracking] page view: signed-in browser gets no tracking cookie and no user id",
  async (t) => {
    const u = await randomUser(t);
    const res = await visit(t, "/events", { headers: { cookie: u.cookies } });
    assert.equal(res.status, 200);
    assert.ok(
      res.headers.getSetCookie().every((c) => !/visitor|analytics|_pv|track/i.test(c)),
      JSON.stringify(res.headers.getSetCookie()),
    );
    await settle(t);
    const rows = await activity(t, "page_viewed");
    assert.equal(rows.length, 1);
    assert.equal(rows[0].user_id, null, "page views never carry the user");
  },
);

appTest("[analytics tracking] bots, API, static, media, 404 and redirects are not counted", async (t) => {
  const uas = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "",
  ];
  for (const ua of uas) {
    const res = await visit(t, "/events", { ua });
    assert.equal(res.status, 200, ua);
  }
  assert.equal((await visit(t, "/events", { ua: null })).status, 200);
  for (const path of ["/api/v1/events", "/static/styles.css", "/media/does-not-exist", "/health"]) {
    await visit(t, path);
  }
  const missing = await visit(t, "/no-such-page-here");
  assert.equal(missing.status, 404);
  const redirect = await visit(t, "/admin/analytics");
  assert.ok(redirect.status >= 300 && redirect.status < 400, String(redirect.status));
  // A prefetch is not a view.
  await visit(t, "/events", { headers: { "sec-purpose": "prefetch" } });
  await settle(t);
  assert.deepEqual((await activity(t, "page_viewed")).map((r) => r.path), []);
});

appTest("[analytics tracking] visitor hash: same IP+UA same hash; other UA or IP another", async (t) => {
  const ev = await createEvent(t, await randomUser(t, "org"));
  // Views are written in the order their hashing finishes: tell them apart by path.
  await visit(t, "/events", { ip: "192.0.2.10", ua: FIREFOX });
  await visit(t, "/login", { ip: "192.0.2.10", ua: FIREFOX });
  await visit(t, "/", { ip: "192.0.2.10", ua: CHROME });
  await visit(t, `/events/${ev.id}`, { ip: "192.0.2.11", ua: FIREFOX });
  await settle(t);
  const rows = await activity(t, "page_viewed");
  assert.equal(rows.length, 4);
  const by = new Map(rows.map((r) => [r.path, r.visitor]));
  const [a, b, c, d] = ["/events", "/login", "/", "/events/:id"].map((p) => by.get(p));
  assert.match(a ?? "", /^[A-Za-z0-9_-]{22}$/, "16 bytes, base64url");
  assert.equal(a, b, "same IP and UA on the same day: same visitor");
  assert.notEqual(a, c, "another UA: another visitor");
  assert.notEqual(a, d, "another IP: another visitor");
});

appTest("[analytics tracking] no IP address is stored in the page view row", async (t) => {
  const ip = "198.51.100.77";
  await visit(t, "/events", { ip, headers: { referer: "https://ref.example.com/x" } });
  await settle(t);
  const rows = await t.platform.db.query<{ j: string }>(
    "select to_jsonb(a)::text as j from analytics.activity a where kind = 'page_viewed'",
  );
  assert.equal(rows.length, 1);
  assert.ok(!rows[0].j.includes(ip), rows[0].j);
  assert.ok(!rows[0].j.includes("198.51.100"), rows[0].j);
  const cols = await t.platform.db.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_schema = 'analytics' and table_name = 'activity'",
  );
  assert.ok(cols.every((c) => !/ip|addr/i.test(c.column_name)), JSON.stringify(cols));
  // Nor in the salts table.
  const salts = await t.platform.db.query<{ j: string }>(
    "select to_jsonb(s)::text as j from plaza.analytics_salts s",
  );
  assert.ok(salts.every((s) => !s.j.includes(ip)));
});

appTest("[analytics tracking] the salt table keeps at most today and yesterday", async (t) => {
  await t.platform.db.query(
    `insert into plaza.analytics_salts (day, salt) values
       (current_date - 1, 'yesterday-salt'), (current_date - 2, 'old-salt'), (current_date - 10, 'older-salt')`,
  );
  // A fresh recorder (the platform's may have cached today's salt already).
  const pv = new PageViews({ db: t.platform.db, log: createLogger("error") });
  await pv.record({ path: "/events", ip: "192.0.2.1", userAgent: FIREFOX, referrer: null });
  await pv.close();
  const rows = await t.platform.db.query<{ day: string; age: number }>(
    "select to_char(day, 'YYYY-MM-DD') as day, (current_date - day)::int as age from plaza.analytics_salts order by day",
  );
  assert.deepEqual(rows.map((r) => Number(r.age)), [1, 0], JSON.stringify(rows));
  const [v] = await activity(t, "page_viewed");
  assert.ok(v.visitor);
});

Deno.test({
  name: "[analytics tracking] views recorded just before close() are written",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withApp(async (t) => {
      const pv = new PageViews({ db: t.platform.db, log: createLogger("error") });
      void pv.record({ path: "/a", ip: "192.0.2.1", userAgent: FIREFOX, referrer: null });
      await pv.close();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await activity(t, "page_viewed")).length, 1);
    });
  },
});
