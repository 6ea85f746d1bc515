/** `report-email`: runs one scheduled SQL report for its slot and emails the CSV (once per recipient). */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { REPORT_EMAIL_JOB, sendScheduledReport } from "@/lib/analytics/reports/schedule.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const reportEmail = (platform: Platform) =>
  defineJob({
    name: REPORT_EMAIL_JOB,
    payload: z.strictObject({ report_id: z.uuid(), slot: z.iso.datetime() }),
    run: async ({ report_id, slot }) => {
      const result = await sendScheduledReport(platform, report_id, slot);
      platform.log.info("scheduled report sent", { report_id, slot, ...result });
    },
  });
