/**
 * Rollups and the dashboard API (docs/analytics.md, "Rollups" and "Dashboard"): activity rows written
 * by hand with chosen times, rolled up by `rollupPending` / `backfill`, read back from the tables and
 * through `/api/v1/analytics/*`.
 */
import assert from "node:assert/strict";
import { backfill, rollupPending } from "@/lib/analytics/rollup.ts";
import { appTest, type TestContext, withApp } from "../support/app.ts";
import { DATABASE_URL } from "../support/db.ts";
import { api, roomWith } from "../support/chat.ts";
import { createEvent, expectOk, rsvp } from "../support/events.ts";
import { randomAdmin, randomUser, type TestUser } from "../support/factories.ts";
import { cast, placeOrder } from "../support/orders.ts";

const DAY_MS = 86_400_000;
const today = () => new Date().toISOString().slice(0, 10);
function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}
const at = (day: string, hm: string) => `${day}T${hm}:00Z`;

interface Row {
  kind: string;
  at: string;
  user?: string | null;
  subject?: string | null;
  path?: string | null;
  visitor?: string | null;
  data?: Record<string, unknown>;
}

/** Inserts activity rows as the service connection (recorded now, occurred when told). */
async function insertActivity(t: TestContext, rows: Row[]): Promise<void> {
  await t.platform.db.query(
    `insert into analytics.activity (kind, occurred_at, user_id, subject_id, path, visitor, data)
     select kind, at, "user", subject, path, visitor, coalesce(data, '{}'::jsonb)
     from jsonb_to_recordset($1::text::jsonb)
       as r (kind text, at timestamptz, "user" uuid, subject uuid, path text, visitor text, data jsonb)`,
    [JSON.stringify(rows)],
  );
}

/** Starts from empty analytics (the API fixtures wrote activity of their own). */
async function wipe(t: TestContext): Promise<void> {
  await t.platform.db.query(`delete from analytics.activity`);
  await t.platform.db.query(`delete from analytics.daily_metrics`);
  await t.platform.db.query(`delete from analytics.hourly_metrics`);
  await t.platform.db.query(`delete from analytics.daily_users`);
  await t.platform.db.query(`delete from plaza.analytics_state`);
}

/** daily_metrics of one day as {"metric|key": value}. */
async function daily(t: TestContext, day: string): Promise<Record<string, number>> {
  const rows = await t.platform.db.query<{ metric: string; key: string; value: number }>(
    "select metric, key, value from analytics.daily_metrics where day = $1::date order by metric, key",
    [day],
  );
  return Object.fromEntries(rows.map((r) => [r.key ? `${r.metric}|${r.key}` : r.metric, Number(r.value)]));
}

async function hourly(t: TestContext, hour: string): Promise<Record<string, number>> {
  const rows = await t.platform.db.query<{ metric: string; key: string; value: number }>(
    "select metric, key, value from analytics.hourly_metrics where hour = $1::timestamptz order by metric, key",
    [hour],
  );
  return Object.fromEntries(rows.map((r) => [r.key ? `${r.metric}|${r.key}` : r.metric, Number(r.value)]));
}

/** Every rollup row, in a stable order, as text. */
async function snapshot(t: TestContext): Promise<{ daily: string[]; hourly: string[]; users: string[] }> {
  const q = (sql: string) => t.platform.db.query<{ s: string }>(sql).then((rows) => rows.map((r) => r.s));
  return {
    daily: await q(
      `select concat_ws('|', day, metric, key, value) as s from analytics.daily_metrics order by day, metric, key`,
    ),
    hourly: await q(
      `select concat_ws('|', to_char(hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24'), metric, key, value) as s
       from analytics.hourly_metrics order by hour, metric, key`,
    ),
    users: await q(
      `select concat_ws('|', day, user_id) as s from analytics.daily_users order by day, user_id`,
    ),
  };
}

const U = Array.from({ length: 6 }, () => crypto.randomUUID()); // U[0] unused: u1..u5

/** The fixture: real rooms, an event and orders, and a week of hand-written activity. */
async function seed(t: TestContext) {
  const admin = await randomAdmin(t);
  const A = addDays(today(), -20); // the range A..A+6; previous period A-7..A-1
  const D = addDays(A, 2); // the busy day
  const r1 = await roomWith(t, admin, [], "public");
  const r2 = await roomWith(t, admin, [], "public");
  await t.platform.db.query(`update public.rooms set name = 'Kitchen, "main"' where id = $1`, [r1.id]);
  const [g1, g2] = [await randomUser(t, "guest"), await randomUser(t, "guest")];
  const ev = await createEvent(t, admin);
  const ticket = expectOk(await rsvp(t, g1, ev.id, "going")).ticket_code;
  expectOk(await rsvp(t, g2, ev.id, "going"));
  expectOk(await api(t, admin, "POST", `/events/${ev.id}/checkin`, { code: ticket }));
  await t.platform.db.query(
    `update public.events set starts_at = $2::timestamptz, ends_at = $2::timestamptz + interval '2 hours' where id = $1`,
    [ev.id, at(D, "18:00")],
  );
  const c = await cast(t);
  const [o1, o2, o3] = [
    await placeOrder(t, c.customer),
    await placeOrder(t, c.customer),
    await placeOrder(t, c.customer),
  ];
  for (const [o, hm] of [[o1, "10:00"], [o2, "09:00"], [o3, "12:00"]] as const) {
    await t.platform.db.query("update public.orders set created_at = $2 where id = $1", [o.id, at(D, hm)]);
  }
  await wipe(t);
  const [, u1, u2, u3, u4, u5] = U;
  const E = ev.id;
  const msg = (day: string, hm: string, user: string, room: string): Row => ({
    kind: "message_sent",
    at: at(day, hm),
    user,
    subject: room,
  });
  const order = (hm: string, id: string, to: string): Row => ({
    kind: "order_status_changed",
    at: at(D, hm),
    user: u1,
    subject: id,
    data: { to },
  });
  const rows: Row[] = [
    // The busy day D.
    { kind: "signed_up", at: at(D, "08:10"), user: u1 },
    { kind: "signed_in", at: at(D, "08:15"), user: u1 },
    { kind: "signed_in", at: at(D, "09:05"), user: u2 },
    msg(D, "09:10", u1, r1.id),
    msg(D, "09:20", u1, r1.id),
    msg(D, "09:30", u2, r1.id),
    msg(D, "09:40", u2, r1.id),
    msg(D, "10:15", u2, r2.id),
    { kind: "rsvp_changed", at: at(D, "11:00"), user: u1, subject: E, data: { from: null, to: "going" } },
    { kind: "rsvp_changed", at: at(D, "11:05"), user: u2, subject: E, data: { from: null, to: "maybe" } },
    { kind: "rsvp_changed", at: at(D, "11:10"), user: u2, subject: E, data: { from: "maybe", to: "going" } },
    { kind: "checked_in", at: at(D, "18:30"), user: u1, subject: E },
    {
      kind: "media_uploaded",
      at: at(D, "13:00"),
      user: u3,
      subject: crypto.randomUUID(),
      data: { kind: "image", bytes: 1000 },
    },
    {
      kind: "media_uploaded",
      at: at(D, "13:10"),
      user: u3,
      subject: crypto.randomUUID(),
      data: { kind: "pdf", bytes: 500 },
    },
    {
      kind: "media_uploaded",
      at: at(D, "13:20"),
      user: u1,
      subject: crypto.randomUUID(),
      data: { kind: "image", bytes: 250 },
    },
    order("10:00", o1.id, "requested"),
    order("10:05", o1.id, "assigned"),
    order("10:40", o1.id, "delivered"),
    order("09:00", o2.id, "requested"),
    order("11:00", o2.id, "delivered"),
    order("12:00", o3.id, "requested"),
    order("12:30", o3.id, "cancelled"),
    { kind: "page_viewed", at: at(D, "14:00"), path: "/events", visitor: "v1" },
    {
      kind: "page_viewed",
      at: at(D, "14:05"),
      path: "/events",
      visitor: "v2",
      data: { referrer: "x.example" },
    },
    { kind: "page_viewed", at: at(D, "14:10"), path: "/login", visitor: "v1" },
    // The rest of the range: R1 4 more, R2 1 more; one more registration.
    ...["08:00", "08:01", "08:02", "08:03"].map((hm) => msg(addDays(A, 4), hm, u1, r1.id)),
    msg(addDays(A, 5), "20:00", u2, r2.id),
    { kind: "signed_up", at: at(addDays(A, 5), "21:00"), user: u4 },
    // The previous period: 5 messages by u5 (R1 2, R2 3).
    ...["10:00", "10:01"].map((hm) => msg(addDays(A, -3), hm, u5, r1.id)),
    ...["11:00", "11:01", "11:02"].map((hm) => msg(addDays(A, -3), hm, u5, r2.id)),
  ];
  await insertActivity(t, rows);
  return { admin, A, D, r1, r2, ev, orders: [o1, o2, o3], rows, guests: [g1, g2] as TestUser[] };
}

/** What the busy day must hold. */
function expectedDay(s: Awaited<ReturnType<typeof seed>>): Record<string, number> {
  const [r1, r2, E] = [s.r1.id, s.r2.id, s.ev.id];
  return {
    active_users: 3,
    wau: 4, // u1, u2, u3 and u5 (3 days before)
    mau: 4,
    registrations: 1,
    sign_ins: 2,
    messages: 5,
    [`room_messages|${r1}`]: 4,
    [`room_messages|${r2}`]: 1,
    rsvps: 3,
    rsvps_going: 2,
    [`event_rsvps|${E}`]: 3,
    checkins: 1,
    [`event_checkins|${E}`]: 1,
    [`event_going|${E}`]: 2,
    [`event_attended|${E}`]: 1,
    uploads: 3,
    upload_bytes: 1750,
    "uploads_kind|image": 2,
    "uploads_kind|pdf": 1,
    orders_created: 3,
    "order_status|requested": 3,
    "order_status|assigned": 1,
    "order_status|delivered": 2,
    "order_status|cancelled": 1,
    deliveries: 2,
    delivery_seconds: 40 * 60 + 2 * 3600,
    page_views: 3,
    visitors: 2,
    "page_path|/events": 2,
    "page_path|/login": 1,
  };
}

function sorted(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}

// ------------------------------------------------------------------------------------------------
// Metrics

appTest("[analytics rollup] rollupPending: every daily metric of a day, and one hour", async (t) => {
  const s = await seed(t);
  const result = await rollupPending(t.platform.db);
  assert.ok(result.days >= 4, JSON.stringify(result));
  assert.deepEqual(sorted(await daily(t, s.D)), sorted(expectedDay(s)));
  const [, u1, u2] = U;
  assert.deepEqual(
    (await t.platform.db.query<{ user_id: string }>(
      "select user_id from analytics.daily_users where day = $1 order by user_id",
      [s.D],
    )).map((r) => r.user_id),
    [u1, u2, U[3]].sort(),
  );
  // Hour D 09:00: u2 signs in, 4 messages (u1, u2), order o2 placed (by u1).
  assert.deepEqual(sorted(await hourly(t, at(s.D, "09:00"))), {
    active_users: 2,
    messages: 4,
    "order_status|requested": 1,
    sign_ins: 1,
  });
  // Hour D 14:00: page views only.
  assert.deepEqual(sorted(await hourly(t, at(s.D, "14:00"))), {
    active_users: 0,
    page_views: 3,
    visitors: 2,
  });
  // The other days of the range.
  assert.deepEqual(sorted(await daily(t, addDays(s.A, 4))), {
    active_users: 1,
    mau: 4,
    messages: 4,
    [`room_messages|${s.r1.id}`]: 4,
    wau: 3, // u5's day (A-3) is out of the window
  });
  // A day without activity has WAU/MAU only.
  assert.deepEqual(await daily(t, addDays(s.A, 3)), { mau: 4, wau: 4 });
});

appTest("[analytics rollup] backfill gives the same day as rollupPending", async (t) => {
  const s = await seed(t);
  await backfill(t.platform.db, addDays(s.A, -7), addDays(s.A, 6));
  assert.deepEqual(sorted(await daily(t, s.D)), sorted(expectedDay(s)));
  assert.equal(
    Object.keys(await hourly(t, at(s.D, "03:00"))).length <= 1,
    true,
    "an empty hour: at most 0 DAU",
  );
});

appTest("[analytics rollup] running rollupPending or backfill twice changes nothing", async (t) => {
  const s = await seed(t);
  await rollupPending(t.platform.db);
  const first = await snapshot(t);
  await rollupPending(t.platform.db);
  const second = await snapshot(t);
  // The current hour may have rolled over between the runs: compare the seeded days only.
  const seeded = (x: string[]) => x.filter((r) => r < today());
  assert.deepEqual(seeded(second.daily), seeded(first.daily));
  assert.deepEqual(seeded(second.hourly), seeded(first.hourly));
  assert.deepEqual(second.users, first.users);

  await backfill(t.platform.db, addDays(s.A, -7), addDays(s.A, 6));
  const b1 = await snapshot(t);
  await backfill(t.platform.db, addDays(s.A, -7), addDays(s.A, 6));
  assert.deepEqual(await snapshot(t), b1);
  // Backfill and the scheduled run agree on every day that had activity.
  const busy = [addDays(s.A, -3), s.D, addDays(s.A, 4), addDays(s.A, 5)];
  const onBusy = (x: string[]) => x.filter((r) => busy.includes(r.slice(0, 10)));
  assert.deepEqual(onBusy(b1.daily), onBusy(first.daily));
});

appTest("[analytics rollup] a late event is folded in and updates WAU/MAU of later days", async (t) => {
  await randomAdmin(t);
  await wipe(t);
  const T = today();
  const late = addDays(T, -3);
  const [, u1, u2] = U;
  await insertActivity(t, [
    { kind: "signed_in", at: at(addDays(T, -5), "10:00"), user: u1 },
    { kind: "signed_in", at: at(addDays(T, -1), "10:00"), user: u1 },
  ]);
  await rollupPending(t.platform.db);
  const before = await daily(t, late);
  assert.equal(before.active_users, undefined, "nothing yet on the late day");
  assert.equal(before.wau, 1);
  assert.equal((await daily(t, T)).wau, 1);

  await insertActivity(t, [{ kind: "signed_in", at: at(late, "12:00"), user: u2 }]);
  await rollupPending(t.platform.db);
  const after = await daily(t, late);
  assert.equal(after.active_users, 1);
  assert.equal(after.sign_ins, 1);
  assert.equal(after.wau, 2);
  assert.equal(after.mau, 2);
  for (let d = -2; d <= 0; d++) {
    const m = await daily(t, addDays(T, d));
    assert.equal(m.wau, 2, `wau of ${addDays(T, d)}`);
    assert.equal(m.mau, 2, `mau of ${addDays(T, d)}`);
  }
  assert.equal((await daily(t, addDays(T, -4))).wau, 1, "days before the late one unchanged");
  assert.equal((await hourly(t, at(late, "12:00"))).sign_ins, 1, "the late hour too");
});

appTest("[analytics rollup] backfill rebuilds days whose rollups were deleted", async (t) => {
  const s = await seed(t);
  const from = addDays(s.A, -7);
  const to = addDays(s.A, 6);
  await backfill(t.platform.db, from, to);
  const full = await snapshot(t);
  await t.platform.db.query("delete from analytics.daily_metrics where day between $1::date and $2::date", [
    s.D,
    addDays(s.D, 2),
  ]);
  await t.platform.db.query(
    "delete from analytics.hourly_metrics where hour >= $1::date and hour < $2::date",
    [
      s.D,
      addDays(s.D, 3),
    ],
  );
  await t.platform.db.query("delete from analytics.daily_users where day = $1::date", [s.D]);
  assert.notDeepEqual(await snapshot(t), full);
  const { days } = await backfill(t.platform.db, s.D, addDays(s.D, 2));
  assert.equal(days, 3);
  assert.deepEqual(await snapshot(t), full);
});

// ------------------------------------------------------------------------------------------------
// Dashboard API

type Summary = {
  section: string;
  range: { from: string; to: string; days: number };
  previous: { from: string; to: string };
  kpis: {
    key: string;
    value: number | null;
    previous: number | null;
    change: number | null;
    format: string;
  }[];
  charts: { key: string; series: { key: string }[]; days: string[]; values: number[][] }[];
  tables: { key: string; columns: string[]; rows: unknown[][] }[];
};

async function summary(t: TestContext, user: TestUser, query: string) {
  return await api(t, user, "GET", `/analytics/summary?${query}`);
}

const approx = (a: number | null, b: number) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);

appTest("[analytics dashboard] summary KPIs, change vs previous, charts and tables", async (t) => {
  const s = await seed(t);
  await rollupPending(t.platform.db);
  const to = addDays(s.A, 6);
  const range = `from=${s.A}&to=${to}`;
  const kpi = (sum: Summary, key: string) => {
    const k = sum.kpis.find((k) => k.key === key);
    assert.ok(k, `kpi ${key} in ${sum.kpis.map((k) => k.key)}`);
    return k;
  };
  const days = Array.from({ length: 7 }, (_, i) => addDays(s.A, i));

  // Community.
  const com = expectOk(await summary(t, s.admin, `section=community&${range}`)) as Summary;
  assert.equal(com.section, "community");
  assert.deepEqual(com.range, { from: s.A, to, days: 7 });
  assert.deepEqual(com.previous, { from: addDays(s.A, -7), to: addDays(s.A, -1) });
  assert.equal(kpi(com, "registrations").value, 2);
  assert.equal(kpi(com, "sign_ins").value, 2);
  assert.equal(kpi(com, "wau").value, 4, "WAU of the last day (u1..u4)");
  assert.equal(kpi(com, "mau").value, 5);
  for (const chart of com.charts) {
    assert.deepEqual(chart.days, days, `every day in chart ${chart.key}`);
    for (const v of chart.values) assert.equal(v.length, 7);
  }
  const messages = com.charts.find((c) => c.key === "messages")!;
  assert.deepEqual(messages.values, [[0, 0, 5, 0, 4, 1, 0]]);
  const top = com.tables.find((x) => x.key === "top_rooms")!;
  assert.equal(top.rows.length, 2);
  assert.deepEqual(top.rows[0], ['Kitchen, "main"', 8, 2, 3]);
  assert.deepEqual(top.rows[1].slice(0, 3), [s.r2.name, 2, 3]);
  approx(top.rows[1][3] as number, -1 / 3);
  const trending = com.tables.find((x) => x.key === "trending_rooms")!;
  assert.deepEqual(trending.rows, [['Kitchen, "main"', 8, 2, 3]], "R2 has fewer than 3 in the last 7 days");

  // Events.
  const evs = expectOk(await summary(t, s.admin, `section=events&${range}`)) as Summary;
  assert.equal(kpi(evs, "rsvps").value, 3);
  assert.equal(kpi(evs, "rsvps_going").value, 2);
  assert.equal(kpi(evs, "checkins").value, 1);
  assert.equal(kpi(evs, "show_up_rate").format, "percent");
  const held = evs.tables.find((x) => x.key === "events_held")!;
  assert.deepEqual(held.rows, [[s.ev.title, s.D, 2, 1, 0.5]]);
  const trendingEvents = evs.tables.find((x) => x.key === "trending_events")!;
  assert.deepEqual(trendingEvents.rows, [[s.ev.title, 3, 0, null]]);

  // Orders.
  const ord = expectOk(await summary(t, s.admin, `section=orders&${range}`)) as Summary;
  assert.equal(kpi(ord, "orders_created").value, 3);
  assert.equal(kpi(ord, "deliveries").value, 2);
  assert.equal(kpi(ord, "cancelled").value, 1);
  assert.equal(kpi(ord, "delivery_time").value, (40 * 60 + 2 * 3600) / 2);
  assert.equal(kpi(ord, "delivery_time").format, "seconds");
  assert.deepEqual(ord.tables.find((x) => x.key === "order_status")!.rows, [
    ["requested", 3, 0, null],
    ["delivered", 2, 0, null],
    ["assigned", 1, 0, null],
    ["cancelled", 1, 0, null],
  ]);
  const dt = ord.charts.find((c) => c.key === "delivery_time")!;
  assert.deepEqual(dt.values, [[0, 0, 4800, 0, 0, 0, 0]]);

  // Media.
  const med = expectOk(await summary(t, s.admin, `section=media&${range}`)) as Summary;
  assert.equal(kpi(med, "uploads").value, 3);
  assert.equal(kpi(med, "upload_bytes").value, 1750);
  assert.equal(kpi(med, "upload_bytes").format, "bytes");
  assert.equal(kpi(med, "images").value, 2);
  assert.equal(kpi(med, "pdfs").value, 1);
  assert.equal(kpi(med, "videos").value, 0);
  assert.deepEqual(med.tables.find((x) => x.key === "uploads_by_kind")!.rows, [
    ["image", 2, 0, null],
    ["pdf", 1, 0, null],
  ]);

  // Overview (the default section).
  const ov = expectOk(await summary(t, s.admin, range)) as Summary;
  assert.equal(ov.section, "overview");
  assert.equal(kpi(ov, "page_views").value, 3);
  assert.equal(kpi(ov, "visitors").value, 2);
  assert.equal(kpi(ov, "deliveries").value, 2);
  const pages = ov.tables.find((x) => x.key === "top_pages")!;
  assert.equal(pages.rows.length, 2);
  assert.deepEqual(pages.rows[0].slice(0, 2), ["/events", 2]);
  approx(pages.rows[0][2] as number, 2 / 3);
  assert.deepEqual(pages.rows[1].slice(0, 2), ["/login", 1]);
  for (const chart of ov.charts) assert.deepEqual(chart.days, days);

  // A preset range ends today and has every day.
  const preset = expectOk(await summary(t, s.admin, "range=30")) as Summary;
  assert.equal(preset.range.to, today());
  assert.equal(preset.range.days, 30);
  assert.equal(preset.charts[0].days.length, 30);
  assert.equal(preset.charts[0].days[29], today());
});

Deno.test({
  name: "[analytics dashboard] KPIs compare the range with the previous period",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const s = await seed(t);
      await rollupPending(t.platform.db);
      const range = `from=${s.A}&to=${addDays(s.A, 6)}`;
      const com = expectOk(await summary(t, s.admin, `section=community&${range}`)) as Summary;
      const kpi = (key: string) => com.kpis.find((k) => k.key === key)!;
      assert.deepEqual(
        { value: kpi("messages").value, previous: kpi("messages").previous, change: kpi("messages").change },
        { value: 10, previous: 5, change: 1 },
      );
      assert.deepEqual(
        [kpi("registrations").value, kpi("registrations").previous, kpi("registrations").change],
        [2, 0, null],
        "previous 0: change null",
      );
      approx(kpi("active_users").value, 6 / 7);
      approx(kpi("active_users").previous, 1 / 7);
      approx(kpi("active_users").change, 5);
      const ord = expectOk(await summary(t, s.admin, `section=orders&${range}`)) as Summary;
      const created = ord.kpis.find((k) => k.key === "orders_created")!;
      assert.deepEqual([created.value, created.previous, created.change], [3, 0, null]);
    }),
});

Deno.test({
  name: "[analytics dashboard] the show-up rate KPI matches the events held",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const s = await seed(t);
      await rollupPending(t.platform.db);
      const range = `from=${s.A}&to=${addDays(s.A, 6)}`;
      const evs = expectOk(await summary(t, s.admin, `section=events&${range}`)) as Summary;
      const rate = evs.kpis.find((k) => k.key === "show_up_rate")!;
      assert.deepEqual([rate.value, rate.previous, rate.change], [0.5, null, null]);
    }),
});

appTest("[analytics dashboard] bad queries are refused; members get 403", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t);
  const bad = [
    "from=2026-03-10&to=2026-03-01",
    "from=2025-01-01&to=2026-03-01",
    "from=2026-02-30&to=2026-03-01",
    "from=2026-02-01&to=2026-13-01",
    "from=yesterday",
    "section=finance",
    "range=14",
    "colour=blue",
  ];
  for (const q of bad) {
    const res = await summary(t, admin, q);
    assert.ok([400, 422].includes(res.status), `${q}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body?.error?.code, "string", q);
    assert.equal(typeof res.body?.error?.message, "string", q);
  }
  const reversed = await summary(t, admin, "from=2026-03-10&to=2026-03-01");
  assert.equal(reversed.status, 422);
  assert.equal(reversed.body.error.code, "invalid_range");
  const long = await summary(t, admin, "from=2025-01-01&to=2026-03-01");
  assert.equal(long.status, 422);
  // 400 days is the limit, inclusive.
  expectOk(await summary(t, admin, `from=2025-01-01&to=${addDays("2025-01-01", 399)}`));

  for (const path of ["/analytics/summary", "/analytics/live", "/analytics/export.csv?table=top_pages"]) {
    const res = await api(t, member, "GET", path);
    assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body?.error?.code, "string");
    const anon = await t.request(`/api/v1${path}`);
    assert.equal(anon.status, 401, path);
    await anon.body?.cancel();
  }
});

appTest("[analytics dashboard] CSV export of a table and of a chart", async (t) => {
  const s = await seed(t);
  await rollupPending(t.platform.db);
  const range = `from=${s.A}&to=${addDays(s.A, 6)}`;
  const get = (q: string) => t.request(`/api/v1/analytics/export.csv?${q}`, { headers: s.admin.bearer });

  const res = await get(`section=community&${range}&table=top_rooms`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
  assert.match(res.headers.get("content-disposition") ?? "", /^attachment; filename="[^"]+\.csv"$/);
  const text = await res.text();
  assert.equal(
    text,
    'Room,Messages,Previous period,Change\r\n"Kitchen, ""main""",8,2,3\r\n' +
      `${s.r2.name},2,3,${(2 - 3) / 3}\r\n`,
  );

  const chart = await get(`section=community&${range}&table=chart:messages`);
  assert.equal(chart.status, 200);
  const lines = (await chart.text()).split("\r\n");
  assert.equal(lines.pop(), "", "CRLF after the last record");
  assert.deepEqual(lines, [
    "Day,Messages",
    ...[0, 0, 5, 0, 4, 1, 0].map((v, i) => `${addDays(s.A, i)},${v}`),
  ]);

  const orders = await get(`section=orders&${range}&table=chart:orders`);
  assert.equal(
    (await orders.text()).split("\r\n")[0],
    "Day,Placed,Delivered,Cancelled",
  );

  const missing = await get(`section=community&${range}&table=nope`);
  assert.equal(missing.status, 404);
  assert.equal(typeof (await missing.json()).error.code, "string");
  const noTable = await get(`section=community&${range}`);
  assert.ok([400, 422].includes(noTable.status), String(noTable.status));
  await noTable.body?.cancel();
});

appTest("[analytics dashboard] live counters count the last minutes", async (t) => {
  const admin = await randomAdmin(t);
  await wipe(t);
  const [, u1, u2, u3] = U;
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const room = crypto.randomUUID();
  await insertActivity(t, [
    { kind: "message_sent", at: ago(5), user: u1, subject: room },
    { kind: "message_sent", at: ago(20), user: u1, subject: room },
    { kind: "message_sent", at: ago(120), user: u2, subject: room },
    { kind: "signed_in", at: ago(600), user: u3 }, // too old
    { kind: "page_viewed", at: ago(30), path: "/events", visitor: "va" },
    { kind: "page_viewed", at: ago(40), path: "/login", visitor: "va" },
    { kind: "page_viewed", at: ago(50), path: "/login", visitor: "vb" },
    { kind: "page_viewed", at: ago(900), path: "/login", visitor: "vc" },
  ]);
  const live = expectOk(await api(t, admin, "GET", "/analytics/live"));
  assert.equal(live.active_users, 2);
  assert.equal(live.visitors, 2);
  assert.equal(live.messages_last_minute, 2);
  assert.ok(Math.abs(Date.parse(live.at) - Date.now()) < 60_000, live.at);
});

// ------------------------------------------------------------------------------------------------
// The backfill CLI

async function runCli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/analytics/backfill_cli.ts", ...args],
    env: { LOG_LEVEL: "error", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("[analytics backfill cli] bad arguments: exit 64 with usage", async () => {
  for (const args of [[], ["2026-1-1"], ["2026-01-01", "tomorrow"], ["yesterday"]]) {
    const r = await runCli(args, { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    assert.equal(r.code, 64, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /usage: deno task analytics:backfill/, args.join(" "));
  }
  const reversed = await runCli(["2026-01-03", "2026-01-01"], {
    DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  });
  assert.equal(reversed.code, 64);
  assert.match(reversed.stderr, /after/);
});

Deno.test({
  name: "[analytics backfill cli] an impossible date is a usage error",
  fn: async () => {
    const r = await runCli(["2026-02-30"], { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /usage/);
  },
});

appTest("[analytics backfill cli] rebuilds a range on the configured database", async (t) => {
  if (!DATABASE_URL || !t.testDb.url) return; // Postgres leg only (PGlite is in-process)
  await wipe(t);
  const [, u1, u2] = U;
  await insertActivity(t, [
    { kind: "signed_in", at: "2026-01-01T10:00:00Z", user: u1 },
    { kind: "message_sent", at: "2026-01-02T10:00:00Z", user: u2, subject: crypto.randomUUID() },
    { kind: "message_sent", at: "2026-01-03T23:59:59Z", user: u2, subject: crypto.randomUUID() },
    { kind: "message_sent", at: "2026-01-04T00:00:00Z", user: u2, subject: crypto.randomUUID() },
  ]);
  const r = await runCli(["2026-01-01", "2026-01-03"], { DATABASE_URL: t.testDb.url });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /rolled up 2026-01-01[\s\S]*rolled up 2026-01-03/);
  assert.match(r.stdout, /3 day\(s\) rebuilt/);
  assert.deepEqual(await daily(t, "2026-01-01"), { active_users: 1, mau: 1, sign_ins: 1, wau: 1 });
  assert.equal((await daily(t, "2026-01-02")).messages, 1);
  assert.equal((await daily(t, "2026-01-03")).messages, 1);
  assert.equal((await daily(t, "2026-01-04")).messages, undefined, "outside the range");
  assert.equal((await hourly(t, "2026-01-03T23:00:00Z")).messages, 1);
});

Deno.test({
  name: "[analytics rollup] a checked-in party counts as attended with its guests",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const org = await randomUser(t, "org");
      const guest = await randomUser(t);
      const ev = await createEvent(t, org);
      const ticket = expectOk(await rsvp(t, guest, ev.id, "going", 2)).ticket_code;
      expectOk(await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: ticket }));
      const day = addDays(today(), -1);
      await t.platform.db.query(
        `update public.events set starts_at = $2::timestamptz, ends_at = $2::timestamptz + interval '2 hours'
         where id = $1`,
        [ev.id, at(day, "18:00")],
      );
      await backfill(t.platform.db, day, day);
      const m = await daily(t, day);
      assert.equal(m[`event_going|${ev.id}`], 3);
      assert.equal(m[`event_attended|${ev.id}`], 3);
    }),
});
