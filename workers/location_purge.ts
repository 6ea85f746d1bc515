/** `location-purge` (daily): deletes partners' location fixes older than 30 days. */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { purgeTrails } from "@/lib/location/purge.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const locationPurge = (platform: Platform) =>
  defineJob({
    name: "location-purge",
    payload: z.object({ slot: z.string().optional() }),
    run: async () => {
      const deleted = await purgeTrails(platform.db);
      if (deleted) platform.log.info("old location fixes deleted", { deleted });
    },
  });
