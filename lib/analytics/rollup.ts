/**
 * Rollups (docs/analytics.md): the scheduled run rebuilds every hour and day with activity recorded
 * since the previous run; a backfill rebuilds a date range, one day per transaction. Both delete and
 * rewrite whole slots, so running them again never double counts.
 */
import type { Db } from "../db/port.ts";

/** What one scheduled run rebuilt. */
export interface RollupResult {
  hours: number;
  days: number;
  watermark: string;
}

/** Rebuilds the slots touched since the last run (and the current and previous hour). */
export async function rollupPending(db: Db): Promise<RollupResult> {
  const [row] = await db.query<{ hours: number; days: number; watermark: Date | string }>(
    "select hours, days, watermark from plaza.analytics_rollup_pending()",
  );
  return { hours: row.hours, days: row.days, watermark: new Date(row.watermark).toISOString() };
}

const DAY_MS = 86_400_000;

/** The UTC days from `from` to `to`, inclusive (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError("dates must be YYYY-MM-DD");
  const days: string[] = [];
  for (let t = start; t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/**
 * Rebuilds the daily and hourly rollups of `from`..`to` (inclusive), oldest first, then the WAU/MAU
 * of the 29 days after the range, whose windows reach back into it. Calls `onDay` after each day.
 */
export async function backfill(
  db: Db,
  from: string,
  to: string,
  onDay?: (day: string) => void,
): Promise<{ days: number }> {
  const days = daysBetween(from, to);
  if (!days.length) throw new RangeError("the range is empty: from is after to");
  for (const day of days) {
    await db.transaction(async (tx) => {
      await tx.query(
        `select plaza.analytics_rollup_hour(h)
         from generate_series($1::date::timestamp at time zone 'UTC',
           ($1::date + 1)::timestamp at time zone 'UTC' - interval '1 hour', interval '1 hour') h`,
        [day],
      );
      await tx.query("select plaza.analytics_rollup_day($1::date)", [day]);
    });
    onDay?.(day);
  }
  await db.query(
    `select plaza.analytics_rollup_actives(d::date)
     from generate_series($1::date + 1, least($1::date + 29, (now() at time zone 'UTC')::date), interval '1 day') d`,
    [to],
  );
  return { days: days.length };
}

/** Raw activity is kept this long; rollups stay. */
export const ACTIVITY_RETENTION_DAYS = 400;

/** Deletes activity older than the retention, 10,000 rows per statement; returns how many. */
export async function purgeActivity(db: Db, maxRows = 200_000): Promise<number> {
  let total = 0;
  while (total < maxRows) {
    const rows = await db.query<{ n: number }>(
      `with gone as (
         delete from analytics.activity where id in (
           select id from analytics.activity where occurred_at < now() - make_interval(days => $1) limit 10000)
         returning 1)
       select count(*)::int as n from gone`,
      [ACTIVITY_RETENTION_DAYS],
    );
    total += rows[0].n;
    if (rows[0].n < 10_000) break;
  }
  return total;
}
