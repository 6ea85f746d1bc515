/** `order-outbox` (every minute): sends the order notifications a crashed request left behind. */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { flushOrderOutbox, ORDER_OUTBOX_JOB } from "@/lib/orders/outbox.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const orderOutbox = (platform: Platform) =>
  defineJob({
    name: ORDER_OUTBOX_JOB,
    payload: z.unknown(),
    run: async () => {
      await flushOrderOutbox(platform, 500);
    },
  });
