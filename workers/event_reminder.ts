/** `event-reminder`: one reminder 24 h or 1 h before an occurrence, if it is still true (lib/events/outbox.ts). */
import { z } from "zod";
import { REMINDER_JOB, sendReminder } from "@/lib/events/outbox.ts";
import { defineJob } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const eventReminder = (platform: Platform) =>
  defineJob({
    name: REMINDER_JOB,
    payload: z.strictObject({
      event_id: z.uuid(),
      user_id: z.uuid(),
      kind: z.enum(["24h", "1h"]),
      starts_at: z.iso.datetime(),
    }),
    run: async (p) => {
      await sendReminder(platform, p);
    },
  });
