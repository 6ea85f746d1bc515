/**
 * `analytics-rollup` (every 10 minutes): rebuilds the hourly and daily rollups touched since the last
 * run (late events included) and drops activity older than the retention (400 days) in slices.
 */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { purgeActivity, rollupPending } from "@/lib/analytics/rollup.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const analyticsRollup = (platform: Platform) =>
  defineJob({
    name: "analytics-rollup",
    payload: z.unknown(),
    run: async () => {
      const result = await rollupPending(platform.db);
      const purged = await purgeActivity(platform.db);
      platform.log.info("analytics rolled up", { ...result, purged });
    },
  });
