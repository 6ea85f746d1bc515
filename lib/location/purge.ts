/** Trail retention: fixes older than 30 days are deleted, in slices so no statement runs long. */
import type { Db } from "../db/port.ts";

/** How long fixes are kept. */
export const RETENTION_DAYS = 30;

/** Deletes fixes recorded before `now - days`; returns how many. */
export async function purgeTrails(
  db: Db,
  now = new Date(),
  days = RETENTION_DAYS,
  slice = 10_000,
): Promise<number> {
  const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
  let total = 0;
  while (true) {
    const rows = await db.query<{ n: number }>(
      `with gone as (
         delete from public.order_locations where ctid in (
           select ctid from public.order_locations where recorded_at < $1 limit $2)
         returning 1)
       select count(*)::int as n from gone`,
      [cutoff, slice],
    );
    const n = Number(rows[0]?.n ?? 0);
    total += n;
    if (n < slice) return total;
  }
}
