/**
 * Events benchmark, part 2 (bench/events.ts): `GET /api/v1/events` over 10,000 bulk-loaded events,
 * filtered by a 7-day window and by distance (near + radius_km=10), signed out and signed in.
 */
import type { Db } from "@/lib/db/port.ts";
import { asUser } from "@/lib/db/as_user.ts";
import { EVENT_COLUMNS } from "@/lib/events/views.ts";
import { prng } from "./chat_data.ts";
import { type Stats, stats } from "./chat_stats.ts";

/** The city the events are around. */
export const CENTER = { lat: 52.52, lng: 13.405 };
const DAY = 86_400_000;

/**
 * Inserts `count` published public one-off events as the database owner: starts at random minutes
 * over the next 180 days, 1-4 hours long, venues within ±0.5° of {@link CENTER}, random categories.
 */
export async function seedEvents(db: Db, organizer: string, count: number): Promise<number> {
  const began = performance.now();
  await db.query(
    `with s as (
       insert into public.event_series (created_by) select $1::uuid from generate_series(1, $2::int) returning id
     ), o as (
       insert into public.event_organizers (series_id, user_id) select id, $1::uuid from s returning series_id
     ), n as (
       select series_id, row_number() over () as i,
         date_trunc('minute', now() + random() * interval '180 days') as starts,
         random() as r1, random() as r2, random() as r3, random() as r4
       from o
     )
     insert into public.events (series_id, title, description, category, starts_at, ends_at, timezone,
       venue_name, venue_address, lat, lng, capacity, visibility, status, invite_token)
     select series_id, 'Bench event ' || i, 'Generated for the events benchmark.',
       (array['social','music','sports','outdoors','food','learning','tech','arts','family','volunteering','other'])
         [1 + floor(r1 * 11)::int],
       starts, starts + (1 + floor(r2 * 4)::int) * interval '1 hour', 'Europe/Berlin',
       'Venue ' || i, 'Street ' || i, $3::float8 + (r3 - 0.5), $4::float8 + (r4 - 0.5),
       case when i % 3 = 0 then null else 20 + (i % 200)::int end, 'public', 'published', md5(random()::text)
     from n`,
    [organizer, count, CENTER.lat, CENTER.lng],
  );
  await db.exec("analyze public.events; analyze public.event_series; analyze public.event_organizers");
  return (performance.now() - began) / 1000;
}

/** One kind of list request. */
export interface ListMeasured extends Stats {
  label: string;
  errors: number;
  firstError?: string;
  /** Events per response on average. */
  rows: number;
}

/** The query string of request `i`: a 7-day window somewhere in the next 173 days, near the center. */
export function listQuery(i: number, rand: () => number): { from: Date; to: Date; qs: string } {
  const from = new Date(Math.floor((Date.now() + rand() * 173 * DAY) / 60_000) * 60_000);
  const to = new Date(from.getTime() + 7 * DAY);
  const lat = (CENTER.lat + (rand() - 0.5) * 0.2).toFixed(4);
  const lng = (CENTER.lng + (rand() - 0.5) * 0.2).toFixed(4);
  void i;
  return {
    from,
    to,
    qs: `from=${from.toISOString()}&to=${to.toISOString()}&near=${lat},${lng}&radius_km=10`,
  };
}

/** `count` list requests one at a time (after `warmup`), with or without a bearer token. */
export async function listScenario(
  base: string,
  label: string,
  token: string | null,
  count: number,
  warmup: number,
  seed: number,
): Promise<ListMeasured> {
  const rand = prng(seed);
  const samples: number[] = [];
  let errors = 0, rows = 0;
  let firstError: string | undefined;
  for (let i = 0; i < warmup + count; i++) {
    const { qs } = listQuery(i, rand);
    const t = performance.now();
    const res = await fetch(`${base}/api/v1/events?${qs}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const text = await res.text();
    const elapsed = performance.now() - t;
    if (i < warmup) continue;
    samples.push(elapsed);
    if (res.status !== 200) {
      errors++;
      firstError ??= `${res.status} ${text.slice(0, 200)}`;
    } else rows += JSON.parse(text).events.length;
  }
  return { label, ...stats(samples), errors, firstError, rows: rows / Math.max(1, count - errors) };
}

/**
 * EXPLAIN ANALYZE of the list query as lib/events/events.ts builds it (the same WHERE clauses, the
 * default limit of 20 + 1), as `anon` and as a signed-in member.
 */
export async function explainList(db: Db, memberId: string): Promise<{ who: string; plan: string }[]> {
  const { from, to } = listQuery(0, prng(7));
  const lat = CENTER.lat, lng = CENTER.lng, r = 10;
  const dLat = r / 111.2;
  const dLng = r / (111.32 * Math.cos((lat * Math.PI) / 180));
  const distance = `6371.0088 * 2 * asin(least(1, sqrt(power(sin(radians(e.lat - $4::float8) / 2), 2)
    + cos(radians($4::float8)) * cos(radians(e.lat)) * power(sin(radians(e.lng - $5::float8) / 2), 2))))`;
  const sql = `explain (analyze, buffers, costs off) select ${EVENT_COLUMNS}, ${distance} as distance_km
    from public.events e where e.status = 'published' and e.ends_at > $1 and e.starts_at < $2
      and e.lat between $6 and $7 and e.lng between $8 and $9 and ${distance} <= $3
    order by e.starts_at, e.id limit 21`;
  const params = [
    from.toISOString(),
    to.toISOString(),
    r,
    lat,
    lng,
    lat - dLat,
    lat + dLat,
    lng - dLng,
    lng + dLng,
  ];
  const out: { who: string; plan: string }[] = [];
  for (
    const [who, claims] of [
      ["anon", null],
      ["member", { sub: memberId, role: "authenticated" as const, app_metadata: { role: "member" } }],
    ] as const
  ) {
    const rows = await asUser(db, claims, (tx) => tx.query<Record<string, string>>(sql, params));
    out.push({ who, plan: rows.map((x) => Object.values(x)[0]).join("\n") });
  }
  return out;
}
