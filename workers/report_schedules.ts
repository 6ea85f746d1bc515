/** `report-schedules` (every minute): queues the emails of scheduled SQL reports whose slot has come. */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { queueDueReports } from "@/lib/analytics/reports/schedule.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const reportSchedules = (platform: Platform) =>
  defineJob({
    name: "report-schedules",
    payload: z.unknown(),
    run: async () => {
      await queueDueReports(platform);
    },
  });
