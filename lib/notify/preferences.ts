/**
 * Notification preferences: which channels each category may use (defaults when a person has not
 * chosen), quiet hours in their own time zone, and the escalation order push -> SMS -> email.
 */
import type { Claims } from "../db/as_user.ts";
import { asUser } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { CATEGORIES, type Category } from "./templates.ts";

/** Channels besides in-app, in the order an unread notification escalates through them. */
export const CHANNELS = ["push", "sms", "email"] as const;
/** An outside channel. */
export type Channel = typeof CHANNELS[number];

/** Channel switches for one category. */
export type ChannelSwitches = Record<Channel, boolean>;

/** What a person gets when they have chosen nothing: push everywhere, texts only for orders. */
export const DEFAULT_PREFERENCES: Record<Category, ChannelSwitches> = {
  chat: { push: true, sms: false, email: true },
  events: { push: true, sms: false, email: true },
  orders: { push: true, sms: true, email: true },
  system: { push: true, sms: false, email: true },
};

/** Quiet hours and time zone. */
export interface NotificationSettings {
  timezone: string;
  quietStart: string | null;
  quietEnd: string | null;
}

/** Everything the settings page and the delivery job read. */
export interface Preferences {
  categories: Record<Category, ChannelSwitches>;
  settings: NotificationSettings;
}

/** Reads preferences with `q` (as the user or as the service). */
export async function loadPreferences(q: Queryable, userId: string): Promise<Preferences> {
  const rows = await q.query<{ category: Category; push: boolean; email: boolean; sms: boolean }>(
    "select category, push, email, sms from public.notification_preferences where user_id = $1",
    [userId],
  );
  const categories = structuredClone(DEFAULT_PREFERENCES);
  for (const r of rows) categories[r.category] = { push: r.push, sms: r.sms, email: r.email };
  const [s] = await q.query<{ timezone: string; quiet_start: string | null; quiet_end: string | null }>(
    "select timezone, quiet_start::text, quiet_end::text from public.notification_settings where user_id = $1",
    [userId],
  );
  return {
    categories,
    settings: {
      timezone: s?.timezone ?? "UTC",
      quietStart: s?.quiet_start?.slice(0, 5) ?? null,
      quietEnd: s?.quiet_end?.slice(0, 5) ?? null,
    },
  };
}

/** Saves the caller's preferences, as the caller. */
export async function savePreferences(
  db: Db,
  claims: Claims,
  prefs: { categories?: Partial<Record<Category, ChannelSwitches>>; settings?: NotificationSettings },
): Promise<Preferences> {
  return await asUser(db, claims, async (tx) => {
    for (const category of CATEGORIES) {
      const c = prefs.categories?.[category];
      if (!c) continue;
      await tx.query(
        `insert into public.notification_preferences (user_id, category, push, email, sms)
         values (auth.uid(), $1, $2, $3, $4)
         on conflict (user_id, category) do update
           set push = excluded.push, email = excluded.email, sms = excluded.sms, updated_at = now()`,
        [category, c.push, c.email, c.sms],
      );
    }
    if (prefs.settings) {
      const s = prefs.settings;
      await tx.query(
        `insert into public.notification_settings (user_id, timezone, quiet_start, quiet_end)
         values (auth.uid(), $1, $2, $3)
         on conflict (user_id) do update set timezone = excluded.timezone, quiet_start = excluded.quiet_start,
           quiet_end = excluded.quiet_end, updated_at = now()`,
        [s.timezone, s.quietStart, s.quietEnd],
      );
    }
    return await loadPreferences(tx, claims.sub);
  });
}

/** Minutes since local midnight of `at` in `timeZone` (UTC when the zone is unknown). */
function localMinutes(at: Date, timeZone: string): number {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" } as const;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone });
  } catch {
    format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" });
  }
  const parts = format.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get("hour") * 60 + get("minute");
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * When quiet hours hold at `now`, the moment they end (to the minute); otherwise null. A window
 * whose start is after its end spans midnight (22:00-07:00).
 */
export function quietUntil(settings: NotificationSettings, now = new Date()): Date | null {
  if (!settings.quietStart || !settings.quietEnd) return null;
  const start = toMinutes(settings.quietStart);
  const end = toMinutes(settings.quietEnd);
  if (start === end) return null;
  const local = localMinutes(now, settings.timezone);
  const inside = start < end ? local >= start && local < end : local >= start || local < end;
  if (!inside) return null;
  const wait = (end - local + 1440) % 1440;
  let until = new Date(now.getTime() + wait * 60_000);
  until.setUTCSeconds(0, 0);
  // A daylight-saving change inside the window shifts the local clock: correct the instant until
  // its local time is the end of the window (at most two steps).
  for (let i = 0; i < 2; i++) {
    const off = (end - localMinutes(until, settings.timezone) + 1440) % 1440;
    if (off === 0) break;
    until = new Date(until.getTime() + (off > 720 ? off - 1440 : off) * 60_000);
  }
  return until;
}
