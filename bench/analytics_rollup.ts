/**
 * Analytics benchmark, part 1 (bench/analytics.ts): `--rows` (1,000,000) `analytics.activity` rows
 * for one UTC day, inserted with one set-based statement on a scratch database migrated by Plaza's
 * migrations; then `plaza.analytics_rollup_day` and the 24 `plaza.analytics_rollup_hour` calls of
 * that day, timed separately; then the day again, to show a re-run takes about as long and leaves
 * the rollup tables identical (it deletes and rewrites its slot).
 *
 * The mix (per 100 rows): 60 page_viewed (50 paths, `--visitors` 50,000 visitor hashes), 25
 * message_sent (200 rooms, 10,000 users), 5 rsvp_changed ({from, to}), 3 media_uploaded
 * ({kind, bytes}), 4 order_status_changed ({to}), 3 signed_in. Deterministic: the same rows each run.
 */
import type { Db } from "@/lib/db/port.ts";

/** What part 1 measured on one database. */
export interface RollupResult {
  rows: number;
  day: string;
  insertSeconds: number;
  analyzeSeconds: number;
  /** Rows per kind, as inserted. */
  kinds: Record<string, number>;
  daySeconds: number;
  hoursSeconds: number;
  /** The slowest of the 24 hour calls. */
  hourMaxSeconds: number;
  dayAgainSeconds: number;
  hoursAgainSeconds: number;
  /** Rows the rollups wrote for the day: daily_metrics, daily_users, hourly_metrics. */
  written: { daily: number; users: number; hourly: number };
  /** The rollup tables of the day were identical after the second run. */
  identical: boolean;
  /** A few of the figures, for a sanity check against the mix. */
  check: { pageViews: number; visitors: number; messages: number; activeUsers: number };
}

const seconds = (t: number) => (performance.now() - t) / 1000;

/** Inserts `rows` activity rows spread evenly over `day` (UTC). */
export async function insertActivity(db: Db, day: string, rows: number, visitors: number): Promise<void> {
  await db.query(
    `insert into analytics.activity (kind, occurred_at, recorded_at, user_id, subject_id, path, visitor, data)
     select k.kind, t.at, t.at,
       case when k.kind <> 'page_viewed' then md5('user-' || ((g::bigint * 104729) % 10000))::uuid end,
       case k.kind
         when 'message_sent' then md5('room-' || (g % 200))::uuid
         when 'rsvp_changed' then md5('event-' || (g % 100))::uuid
         when 'media_uploaded' then md5('media-' || g)::uuid
         when 'order_status_changed' then md5('order-' || (g / 7))::uuid
       end,
       case when k.kind = 'page_viewed' then '/p/' || ((g::bigint * 31) % 50) end,
       case when k.kind = 'page_viewed'
         then substr(md5('visitor-' || ((g::bigint * 7919) % $3::int)), 1, 22) end,
       case k.kind
         when 'rsvp_changed' then jsonb_build_object(
           'from', (array['none', 'maybe', 'going', 'not_going'])[1 + g % 4],
           'to', (array['going', 'maybe', 'not_going', 'going', 'waitlisted'])[1 + g % 5])
         when 'media_uploaded' then jsonb_build_object(
           'kind', (array['image', 'image', 'image', 'pdf', 'video'])[1 + g % 5], 'bytes', 10000 + (g % 5000) * 997)
         when 'order_status_changed' then jsonb_build_object(
           'to', (array['requested', 'assigned', 'en_route_pickup', 'picked_up', 'en_route_dropoff',
             'delivered', 'cancelled'])[1 + g % 7])
         when 'page_viewed' then case when g % 3 = 0 then '{"referrer": "example.org"}'::jsonb else '{}'::jsonb end
         else '{}'::jsonb
       end
     from generate_series(1, $2::int) g
     cross join lateral (select $1::date::timestamp at time zone 'UTC'
       + (g - 1) * (interval '86399 seconds' / $2::int) as at) t
     cross join lateral (select case
         when g % 100 < 60 then 'page_viewed'
         when g % 100 < 85 then 'message_sent'
         when g % 100 < 90 then 'rsvp_changed'
         when g % 100 < 93 then 'media_uploaded'
         when g % 100 < 97 then 'order_status_changed'
         else 'signed_in' end as kind) k`,
    [day, rows, visitors],
  );
}

/** A fingerprint of the rollup tables' rows for `day`: counts and an md5 of the sorted rows. */
async function fingerprint(db: Db, day: string): Promise<string> {
  const [row] = await db.query<{ f: string }>(
    `select concat_ws(' ',
       (select count(*) || ':' || md5(coalesce(string_agg(metric || '|' || key || '|' || value, ',' order by metric, key), ''))
          from analytics.daily_metrics where day = $1::date),
       (select count(*) || ':' || md5(coalesce(string_agg(user_id::text, ',' order by user_id), ''))
          from analytics.daily_users where day = $1::date),
       (select count(*) || ':' || md5(coalesce(string_agg(hour || '|' || metric || '|' || key || '|' || value, ','
          order by hour, metric, key), ''))
          from analytics.hourly_metrics where hour >= $1::date::timestamp at time zone 'UTC'
            and hour < ($1::date + 1)::timestamp at time zone 'UTC')) as f`,
    [day],
  );
  return row.f;
}

/** Times the 24 hour rollups of `day`, one statement each; returns total and slowest, in seconds. */
async function rollupHours(db: Db, day: string): Promise<{ total: number; max: number }> {
  const start = Date.parse(`${day}T00:00:00Z`);
  let max = 0;
  const t = performance.now();
  for (let h = 0; h < 24; h++) {
    const t0 = performance.now();
    await db.query("select plaza.analytics_rollup_hour($1::timestamptz)", [
      new Date(start + h * 3_600_000).toISOString(),
    ]);
    max = Math.max(max, seconds(t0));
  }
  return { total: seconds(t), max };
}

/** Part 1 on `db` (a fresh migrated scratch database). */
export async function rollupScenario(
  db: Db,
  day: string,
  rows: number,
  visitors: number,
  progress: (m: string) => void,
): Promise<RollupResult> {
  progress(`  inserting ${rows.toLocaleString("en-US")} activity rows for ${day}...`);
  let t = performance.now();
  await insertActivity(db, day, rows, visitors);
  const insertSeconds = seconds(t);
  t = performance.now();
  await db.exec("analyze analytics.activity");
  const analyzeSeconds = seconds(t);
  const kindRows = await db.query<{ kind: string; n: number }>(
    "select kind, count(*)::int as n from analytics.activity group by kind order by kind",
  );
  const kinds = Object.fromEntries(kindRows.map((r) => [r.kind, r.n]));
  const inserted = kindRows.reduce((a, r) => a + r.n, 0);
  if (inserted !== rows) throw new Error(`inserted ${inserted} activity rows, expected ${rows}`);
  progress(
    `  inserted in ${insertSeconds.toFixed(1)} s (analyze ${analyzeSeconds.toFixed(1)} s); rollup_day...`,
  );

  t = performance.now();
  await db.query("select plaza.analytics_rollup_day($1::date)", [day]);
  const daySeconds = seconds(t);
  progress(`  rollup_day ${daySeconds.toFixed(2)} s; 24 × rollup_hour...`);
  const hours = await rollupHours(db, day);
  progress(`  24 hours ${hours.total.toFixed(2)} s (slowest ${hours.max.toFixed(2)} s); again...`);
  const before = await fingerprint(db, day);

  t = performance.now();
  await db.query("select plaza.analytics_rollup_day($1::date)", [day]);
  const dayAgainSeconds = seconds(t);
  const hoursAgain = await rollupHours(db, day);
  const after = await fingerprint(db, day);
  progress(`  again: day ${dayAgainSeconds.toFixed(2)} s, hours ${hoursAgain.total.toFixed(2)} s`);

  const [w] = await db.query<{ daily: number; users: number; hourly: number }>(
    `select (select count(*)::int from analytics.daily_metrics where day = $1::date) as daily,
       (select count(*)::int from analytics.daily_users where day = $1::date) as users,
       (select count(*)::int from analytics.hourly_metrics) as hourly`,
    [day],
  );
  const metric = async (m: string) =>
    (await db.query<{ v: number }>(
      "select coalesce(sum(value), 0)::float8 as v from analytics.daily_metrics where day = $1::date and metric = $2 and key = ''",
      [day, m],
    ))[0].v;
  return {
    rows,
    day,
    insertSeconds,
    analyzeSeconds,
    kinds,
    daySeconds,
    hoursSeconds: hours.total,
    hourMaxSeconds: hours.max,
    dayAgainSeconds,
    hoursAgainSeconds: hoursAgain.total,
    written: w,
    identical: before === after,
    check: {
      pageViews: await metric("page_views"),
      visitors: await metric("visitors"),
      messages: await metric("messages"),
      activeUsers: await metric("active_users"),
    },
  };
}
