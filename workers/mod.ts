/**
 * Job handlers (DESIGN section 5), each idempotent with a zod-validated payload, run by the
 * embedded runner or called by QStash at `POST /workers/<name>`. `schedules` are declared at start.
 */
import { z } from "zod";
import { defineJob, type JobHandler } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";
import { notifyDeliver } from "./notify_deliver.ts";

/** Cron schedules (UTC unless a time zone is given). */
export const schedules: { name: string; cron: string; timezone?: string }[] = [
  { name: "realtime-purge", cron: "17 * * * *" },
  { name: "jobs-purge", cron: "41 3 * * *" },
  { name: "notifications-purge", cron: "53 4 * * *" },
];

/** The handlers, bound to a platform. */
export function workerHandlers(platform: Platform): JobHandler[] {
  return [
    notifyDeliver(platform),
    defineJob({
      name: "notifications-purge",
      payload: z.object({ slot: z.string().optional() }),
      // Read notifications older than 90 days, the outbox and delivery log after 90 days.
      run: async () => {
        const { db } = platform;
        await db.query(
          "delete from public.notifications where read_at is not null and created_at < now() - interval '90 days'",
        );
        await db.query("delete from plaza.outbox where created_at < now() - interval '90 days'");
        await db.query("delete from plaza.deliveries where created_at < now() - interval '90 days'");
        await db.query("delete from plaza.webhook_receipts where received_at < now() - interval '30 days'");
      },
    }),
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
