/** `notify-deliver`: one rung of a notification's delivery ladder (lib/notify/deliver.ts). */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { deliverNotification } from "@/lib/notify/deliver.ts";
import { DELIVER_JOB } from "@/lib/notify/notify.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const notifyDeliver = (platform: Platform) =>
  defineJob({
    name: DELIVER_JOB,
    payload: z.strictObject({
      notification_id: z.number().int().positive(),
      from: z.number().int().min(0).max(2),
      after_quiet: z.boolean().optional(),
      slot: z.string().optional(),
    }),
    run: (p, ctx) => deliverNotification(platform, p.notification_id, p.from, p.after_quiet, ctx.final),
  });
