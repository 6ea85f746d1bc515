/** Cron expressions (5 fields) with IANA time zones: the next slot after a moment. */
import { CronExpressionParser } from "cron-parser";

/** Thrown for an expression or time zone that cannot be used. */
export class CronError extends Error {
  override name = "CronError";
}

/** Checks a time zone name. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first slot of `cron` in `timezone` strictly after `after`. */
export function nextSlot(cron: string, timezone: string, after: Date): Date {
  if (!isTimeZone(timezone)) throw new CronError(`unknown time zone ${timezone}`);
  if (cron.trim().split(/\s+/).length !== 5) {
    throw new CronError("use five fields: minute hour day month weekday");
  }
  try {
    return CronExpressionParser.parse(cron, { tz: timezone, currentDate: after }).next().toDate();
  } catch (err) {
    throw new CronError(`invalid cron expression "${cron}": ${(err as Error).message}`);
  }
}
