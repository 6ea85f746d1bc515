/**
 * Job handlers (DESIGN section 5), one per file in workers/, each idempotent with a zod-validated
 * payload, run by the embedded runner or called by QStash at `POST /workers/<name>`. `schedules`
 * are declared at start.
 */
import type { JobHandler } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";
import { chatNotify } from "./chat_notify.ts";
import { eventOutbox } from "./event_outbox.ts";
import { eventReminder } from "./event_reminder.ts";
import { jobsPurge } from "./jobs_purge.ts";
import { mediaProcess } from "./media_process.ts";
import { mediaSweep } from "./media_sweep.ts";
import { notificationsPurge } from "./notifications_purge.ts";
import { notifyDeliver } from "./notify_deliver.ts";
import { realtimePurge } from "./realtime_purge.ts";
import { locationPurge } from "./location_purge.ts";
import { orderOutbox } from "./order_outbox.ts";
import { analyticsRollup } from "./analytics_rollup.ts";
import { reportSchedules } from "./report_schedules.ts";
import { reportEmail } from "./report_email.ts";

/** Cron schedules (UTC unless a time zone is given). */
export const schedules: { name: string; cron: string; timezone?: string }[] = [
  { name: "realtime-purge", cron: "17 * * * *" },
  { name: "jobs-purge", cron: "41 3 * * *" },
  { name: "notifications-purge", cron: "53 4 * * *" },
  { name: "event-outbox", cron: "* * * * *" },
  { name: "media-sweep", cron: "*/10 * * * *" },
  { name: "order-outbox", cron: "* * * * *" },
  { name: "location-purge", cron: "30 3 * * *" },
  { name: "analytics-rollup", cron: "*/10 * * * *" },
  { name: "report-schedules", cron: "* * * * *" },
];

/** The handlers, bound to a platform. */
export function workerHandlers(platform: Platform): JobHandler[] {
  return [
    notifyDeliver(platform),
    chatNotify(platform),
    eventReminder(platform),
    eventOutbox(platform),
    mediaProcess(platform),
    mediaSweep(platform),
    orderOutbox(platform),
    locationPurge(platform),
    analyticsRollup(platform),
    reportSchedules(platform),
    reportEmail(platform),
    realtimePurge(platform),
    jobsPurge(platform),
    notificationsPurge(platform),
  ];
}
