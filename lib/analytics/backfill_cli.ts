/**
 * `deno task analytics:backfill <from> <to>`: rebuilds the analytics rollups of a date range (UTC
 * days, inclusive) from the activity rows, on the configured database.
 */
import { loadConfig } from "../config.ts";
import { migrate } from "../db/migrate.ts";
import { openDb } from "../db/mod.ts";
import { backfill } from "./rollup.ts";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A real calendar day (Date.parse would roll 2026-02-30 over into March). */
const isDay = (s: string) =>
  DATE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) &&
  new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
const [from, to = from] = Deno.args;
if (!from || !isDay(from) || !isDay(to)) {
  console.error("usage: deno task analytics:backfill <from YYYY-MM-DD> [to YYYY-MM-DD]");
  Deno.exit(64);
}
if (from > to) {
  console.error(`from (${from}) is after to (${to})`);
  Deno.exit(64);
}
const db = await openDb(loadConfig());
try {
  await migrate(db);
  const started = performance.now();
  const { days } = await backfill(db, from, to, (day) => console.log(`rolled up ${day}`));
  console.log(`${days} day(s) rebuilt in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await db.close();
}
