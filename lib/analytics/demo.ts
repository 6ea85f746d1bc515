/**
 * Demo analytics: plausible synthetic activity for the demo users, rooms, events and orders over the
 * past days (a weekly rhythm, gentle growth, some noise), then a backfill of the rollups, so a demo
 * server shows a full dashboard. Written with set-based SQL (generate_series), not row by row.
 *
 * Synthetic rows are marked `data.demo = true`. Their `recorded_at` is their `occurred_at`, and the
 * rollup watermark is set (when there is none) after the backfill, so the scheduled rollup does not
 * rebuild every day again. Deliveries are not attributed to the demo orders (the rollup measures a
 * delivery from the order's `created_at`, which is today for the demo orders), so they count in the
 * order status table but not in the delivery figures.
 */
import type { Db } from "../db/port.ts";
import { backfill } from "./rollup.ts";

const DAY_MS = 86_400_000;

/**
 * The shared day frame: `i` days ago (0 = today), `start` of that UTC day, `span` seconds of it that
 * have passed (all of it before today), and `f`, the day's activity factor.
 */
const FRAME = `
  days as (
    select g as i, (($1::timestamptz at time zone 'UTC')::date - g) as day from generate_series(0, $2::int - 1) g
  ),
  frame as materialized (
    select i, day, (day::timestamp at time zone 'UTC') as start,
      least(86400, extract(epoch from $1::timestamptz - (day::timestamp at time zone 'UTC')))::float8 as span,
      (case extract(isodow from day) when 6 then 1.3 when 7 then 1.15 when 1 then 0.85 when 5 then 1.1 else 1 end)
        * (1.0 - 0.45 * g_ratio) * (0.85 + random() * 0.3) as f
    from (select *, i::float8 / $2::int as g_ratio from days) d
  )`;

/** Runs one `insert ... select` built on the frame and returns how many rows it wrote. */
async function insertRows(
  db: Db,
  now: Date,
  days: number,
  body: string,
  params: unknown[] = [],
): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `with ${FRAME}, ins as (
       insert into analytics.activity (kind, occurred_at, recorded_at, user_id, subject_id, path, visitor, data)
       select kind, at, at, user_id, subject_id, path, visitor, data from (${body}) x
       where at <= $1::timestamptz
       returning 1
     ) select count(*)::int as n from ins`,
    [now.toISOString(), days, ...params],
  );
  return row.n;
}

/** Inserts synthetic activity for the past `days` (default 120) and rebuilds the rollups. */
export async function seedAnalyticsDemo(
  db: Db,
  options: { days?: number; now?: Date } = {},
): Promise<{ rows: number }> {
  const days = Math.max(1, Math.min(400, Math.round(options.days ?? 120)));
  const now = options.now ?? new Date();
  const ids = async (sql: string) => (await db.query<{ id: string }>(sql)).map((r) => r.id);
  const users = await ids(
    "select id::text as id from auth.users where deleted_at is null order by created_at",
  );
  const rooms = await ids("select id::text as id from public.rooms order by created_at");
  const events = await ids("select id::text as id from public.events order by starts_at");
  const orders = await ids("select id::text as id from public.orders order by created_at");
  // A random element of a uuid[] parameter (null when it is empty).
  const pick = (p: string) =>
    `(${p}::uuid[])[1 + floor(random() * greatest(cardinality(${p}::uuid[]), 1))::int]`;
  // Who is around on a day: about 70 % of the users, the same ones in every statement (a hash, not
  // random()), so that daily active users vary; their activity is spread among them.
  const ON_DAY = (user: string, day: string) => `abs(hashtext(${user}::text || ${day}::text)) % 100 < 70`;
  const ACTIVE = `cross join lateral (select coalesce(array_agg(u), '{}') as active from unnest($3::uuid[]) u
    where ${ON_DAY("u", "f.day")}) a`;
  const WHO = "a.active[1 + floor(random() * greatest(cardinality(a.active), 1))::int]";
  let rows = 0;

  // Page views: ~260 a day at the end, from a daily pool of visitors (a third of the views).
  rows += await insertRows(
    db,
    now,
    days,
    `select 'page_viewed' as kind, f.start + random() * f.span * interval '1 second' as at,
       null::uuid as user_id, null::uuid as subject_id,
       (array['/', '/', '/', '/events', '/events', '/events/:id', '/events/:id', '/events/:id', '/chat', '/chat',
         '/chat/:id', '/login', '/signup', '/orders', '/orders/new', '/profile'])[1 + floor(random() * 16)::int] as path,
       substr(md5(f.day::text || ':' || floor(random() * greatest(3, round(260 * f.f / 3)))::text), 1, 22) as visitor,
       case when random() < 0.25
         then jsonb_build_object('demo', true, 'referrer',
           (array['www.google.com', 'duckduckgo.com', 'news.ycombinator.com', 't.co'])[1 + floor(random() * 4)::int])
         else '{"demo": true}'::jsonb end as data
     from frame f cross join lateral generate_series(1, greatest(1, round(260 * f.f))::int) n`,
  );

  if (users.length) {
    // Sign-ins: each demo user on most days.
    rows += await insertRows(
      db,
      now,
      days,
      `select 'signed_in' as kind, f.start + random() * f.span * interval '1 second' as at, u.id as user_id,
         null::uuid as subject_id, null as path, null as visitor, '{"demo": true}'::jsonb as data
       from frame f cross join unnest($3::uuid[]) as u(id)
       where ${ON_DAY("u.id", "f.day")} and random() < 0.8`,
      [users],
    );
    // Messages: ~45 a day in the rooms.
    if (rooms.length) {
      rows += await insertRows(
        db,
        now,
        days,
        `select 'message_sent' as kind, f.start + random() * f.span * interval '1 second' as at,
           ${WHO} as user_id, ${pick("$4")} as subject_id, null as path, null as visitor,
           '{"demo": true}'::jsonb as data
         from frame f ${ACTIVE} cross join lateral generate_series(1, round(45 * f.f * (0.6 + random() * 0.8))::int) n`,
        [users, rooms],
      );
    }
    // RSVP changes: ~7 a day on the events.
    if (events.length) {
      rows += await insertRows(
        db,
        now,
        days,
        `select 'rsvp_changed' as kind, at, user_id, subject_id, null as path, null as visitor,
           jsonb_build_object('demo', true,
             'from', (array[null, null, null, 'maybe', 'going', null])[r + 1],
             'to', (array['going', 'going', 'maybe', 'going', 'not_going', 'waitlisted'])[r + 1]) as data
         from (
           select f.start + random() * f.span * interval '1 second' as at, ${WHO} as user_id,
             ${pick("$4")} as subject_id, floor(random() * 6)::int as r
           from frame f ${ACTIVE} cross join lateral generate_series(1, round(7 * f.f * (0.5 + random()))::int) n
         ) x`,
        [users, events],
      );
    }
    // Uploads: ~4 a day; mostly images.
    rows += await insertRows(
      db,
      now,
      days,
      `select 'media_uploaded' as kind, at, user_id, gen_random_uuid() as subject_id, null as path, null as visitor,
         jsonb_build_object('demo', true, 'kind', k, 'bytes',
           case k when 'image' then 150000 + floor(random() * 2850000)::bigint
             when 'pdf' then 40000 + floor(random() * 1960000)::bigint
             else 4000000 + floor(random() * 76000000)::bigint end) as data
       from (
         select f.start + random() * f.span * interval '1 second' as at, ${WHO} as user_id,
           case when random() < 0.72 then 'image' when random() < 0.7 then 'pdf' else 'video' end as k
         from frame f ${ACTIVE} cross join lateral generate_series(1, round(4 * f.f * (0.4 + random() * 1.2))::int) n
       ) x`,
      [users],
    );
    // Orders: ~5 a day, each through its statuses (a few cancelled), on the demo orders.
    if (orders.length) {
      rows += await insertRows(
        db,
        now,
        days,
        `select 'order_status_changed' as kind, o.at + st.ord * (6 + random() * 10) * interval '1 minute' as at,
           o.user_id, case when st.status = 'delivered' then null else o.subject_id end as subject_id,
           null as path, null as visitor, jsonb_build_object('demo', true, 'to', st.status) as data
         from (
           select f.start + random() * greatest(f.span - 3600, 0) * interval '1 second' as at, ${WHO} as user_id,
             ${pick("$4")} as subject_id, random() < 0.08 as cancelled
           from frame f ${ACTIVE} cross join lateral generate_series(1, round(5 * f.f * (0.5 + random()))::int) n
         ) o
         cross join lateral unnest(
           case when o.cancelled then array['requested', 'cancelled']
             else array['requested', 'assigned', 'en_route_pickup', 'picked_up', 'en_route_dropoff', 'delivered'] end
         ) with ordinality as st(status, ord)`,
        [users, orders],
      );
    }
  }

  const to = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - (days - 1) * DAY_MS).toISOString().slice(0, 10);
  await backfill(db, from, to);
  await db.query(
    `insert into plaza.analytics_state (name, watermark) values ('rollup', $1::timestamptz)
     on conflict (name) do nothing`,
    [now.toISOString()],
  );
  return { rows };
}
