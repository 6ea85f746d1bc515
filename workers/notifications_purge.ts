/**
 * `notifications-purge` (daily): read notifications, outbox rows and delivery log entries older
 * than 90 days, and Twilio webhook receipts older than 30 days.
 */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const notificationsPurge = (platform: Platform) =>
  defineJob({
    name: "notifications-purge",
    payload: z.object({ slot: z.string().optional() }),
    run: async () => {
      const { db } = platform;
      await db.query(
        "delete from public.notifications where read_at is not null and created_at < now() - interval '90 days'",
      );
      await db.query("delete from plaza.outbox where created_at < now() - interval '90 days'");
      await db.query("delete from plaza.deliveries where created_at < now() - interval '90 days'");
      await db.query("delete from plaza.webhook_receipts where received_at < now() - interval '30 days'");
    },
  });
