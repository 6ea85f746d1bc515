/** `realtime-purge` (hourly): deletes realtime.messages older than three days (DB broadcasts, replay). */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const realtimePurge = (platform: Platform) =>
  defineJob({
    name: "realtime-purge",
    payload: z.object({ slot: z.string().optional() }),
    run: async () => {
      await platform.realtime.purge();
    },
  });
