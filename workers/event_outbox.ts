/** `event-outbox` (every minute): sends the event notices and reminders a crashed request left behind. */
import { z } from "zod";
import { flushOutbox, OUTBOX_JOB } from "@/lib/events/outbox.ts";
import { defineJob } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const eventOutbox = (platform: Platform) =>
  defineJob({
    name: OUTBOX_JOB,
    payload: z.unknown(),
    run: async () => {
      await flushOutbox(platform, 500);
    },
  });
