/**
 * The embedded jobs adapter: rows in plaza.jobs and plaza.schedules, run by the in-process runner
 * (lib/jobs/runner.ts) of every Plaza process that shares the database.
 */
import type { Db } from "../db/port.ts";
import { CronError, isTimeZone, nextSlot } from "./cron.ts";
import type { Jobs } from "./port.ts";
import { createQueue } from "./queue.ts";

/** The jobs port over the Postgres queue. */
export function embeddedJobs(db: Db): Jobs {
  const queue = createQueue(db);
  return {
    kind: "embedded",
    async enqueue(name, payload, options) {
      const id = await queue.enqueue(name, payload, options);
      return id === null ? null : String(id);
    },
    cancel: (dedupId) => queue.cancel(dedupId),
    async schedule(name, cron, options = {}) {
      const timezone = options.timezone ?? "UTC";
      if (!isTimeZone(timezone)) throw new CronError(`unknown time zone ${timezone}`);
      const next = nextSlot(cron, timezone, new Date());
      // Re-declaring the same schedule at every start keeps its next slot (no double fire).
      await db.query(
        `insert into plaza.schedules (name, cron, timezone, next_run_at) values ($1, $2, $3, $4)
         on conflict (name) do update set cron = excluded.cron, timezone = excluded.timezone,
           next_run_at = case when plaza.schedules.cron = excluded.cron and plaza.schedules.timezone = excluded.timezone
                              then plaza.schedules.next_run_at else excluded.next_run_at end,
           updated_at = now()`,
        [name, cron, timezone, next.toISOString()],
      );
    },
  };
}
