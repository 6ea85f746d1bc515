/**
 * Job handlers (DESIGN section 5), each idempotent with a zod-validated payload, run by the
 * embedded runner or called by QStash at `POST /workers/<name>`. `schedules` are declared at start.
 */
import { z } from "zod";
import { defineJob, type JobHandler } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** Cron schedules (UTC unless a time zone is given). */
export const schedules: { name: string; cron: string; timezone?: string }[] = [
  { name: "realtime-purge", cron: "17 * * * *" },
  { name: "jobs-purge", cron: "41 3 * * *" },
];

/** The handlers, bound to a platform. */
export function workerHandlers(platform: Platform): JobHandler[] {
  return [
    defineJob({
      name: "realtime-purge",
      payload: z.object({ slot: z.string().optional() }),
      // Deletes realtime.messages older than three days (broadcast from the database, replay).
      run: async () => {
        await platform.realtime.purge();
      },
    }),
    defineJob({
      name: "jobs-purge",
      payload: z.object({ slot: z.string().optional() }),
      // Forgets finished jobs after seven days, which frees their dedup ids.
      run: async () => {
        await platform.db.query(
          "delete from plaza.jobs where status = 'done' and finished_at < now() - interval '7 days'",
        );
      },
    }),
  ];
}
