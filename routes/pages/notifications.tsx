/**
 * `/notifications` (the inbox, server-rendered with keyset paging and "mark all read") and
 * `/settings/notifications` (channels per category and quiet hours as a plain form that works
 * without JavaScript, plus the DeviceChannels island for push on this device and the phone).
 */
import { Hono } from "hono";
import { z } from "zod";
import { DeviceChannels } from "@/components/islands.ts";
import { FormAlert } from "@/components/forms.tsx";
import { asUser } from "@/lib/db/as_user.ts";
import { AppError } from "@/lib/errors.ts";
import { listNotifications, markRead } from "@/lib/notify/inbox.ts";
import { publishUnread } from "@/lib/notify/notify.ts";
import { phoneStatus } from "@/lib/notify/phone.ts";
import { CHANNELS, loadPreferences, type Preferences, savePreferences } from "@/lib/notify/preferences.ts";
import { CATEGORIES } from "@/lib/notify/templates.ts";
import { preferencesSchema } from "../api/notifications.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireUser } from "../session.ts";
import { check, readForm, readQuery } from "../validate.ts";

const signIn = (c: Ctx) => c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);

const CATEGORY_LABELS: Record<string, string> = {
  chat: "Chat",
  events: "Events",
  orders: "Orders",
  system: "Account",
};
const CATEGORY_HINTS: Record<string, string> = {
  chat: "Messages and mentions",
  events: "RSVPs, waitlist, reminders",
  orders: "Deliveries and couriers",
  system: "Security and announcements",
};
const CHANNEL_LABELS: Record<string, string> = { push: "Push", sms: "Text", email: "Email" };

const ZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

/** The zone list, with UTC and the saved zone in it even where Intl's list has other names for them. */
const zonesWith = (saved: string) =>
  [...new Set(["UTC", saved, ...ZONES])].sort((a, b) => a.localeCompare(b));

function SettingsForm({ prefs, error }: { prefs: Preferences; error?: string }) {
  const s = prefs.settings;
  return (
    <form method="post" action="/settings/notifications" class="stack" data-testid="preferences-form">
      <FormAlert message={error} />
      <div class="table-wrap">
        <table class="prefs">
          <caption class="sr-only">Channels per kind of notification</caption>
          <thead>
            <tr>
              <th scope="col">About</th>
              {CHANNELS.map((ch) => <th scope="col" key={ch}>{CHANNEL_LABELS[ch]}</th>)}
            </tr>
          </thead>
          <tbody>
            {CATEGORIES.map((cat) => (
              <tr key={cat}>
                <th scope="row">
                  {CATEGORY_LABELS[cat]}
                  <span class="hint">{CATEGORY_HINTS[cat]}</span>
                </th>
                {CHANNELS.map((ch) => (
                  <td key={ch}>
                    <input
                      type="checkbox"
                      name={`${cat}.${ch}`}
                      value="on"
                      checked={prefs.categories[cat][ch]}
                      aria-label={`${CATEGORY_LABELS[cat]} by ${CHANNEL_LABELS[ch].toLowerCase()}`}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="hint">
        Everything always appears under the bell in Plaza. Push goes out at once. If you have not read a
        notification after a while, it follows up by text (when you allowed texts), then by email.
      </p>
      <fieldset>
        <legend>Quiet hours</legend>
        <p class="hint">Nothing but critical notifications reaches your devices between these times.</p>
        <div class="row">
          <label class="field">
            From
            <input type="time" name="quiet_start" value={s.quietStart ?? ""} />
          </label>
          <label class="field">
            To
            <input type="time" name="quiet_end" value={s.quietEnd ?? ""} />
          </label>
          <label class="field">
            Time zone
            <select name="timezone">
              {zonesWith(s.timezone).map((z) => (
                <option key={z} value={z} selected={z === s.timezone}>{z}</option>
              ))}
            </select>
          </label>
        </div>
      </fieldset>
      <p>
        <button type="submit">Save preferences</button>
      </p>
    </form>
  );
}

const formValues = z.record(z.string(), z.string());

/** Notification pages. */
export const notificationPages = new Hono<AppEnv>()
  .get("/notifications", async (c) => {
    if (!c.var.claims) return signIn(c);
    const claims = requireUser(c);
    const { before } = readQuery(c, z.object({ before: z.coerce.number().int().positive().optional() }));
    const page = await listNotifications(c.var.platform.db, claims, { before, limit: 30 });
    return renderPage(
      c,
      <section class="card">
        <div class="row spread">
          <h1>Notifications</h1>
          {page.unread > 0 && (
            <form method="post" action="/notifications/read-all">
              <button type="submit" class="secondary small">Mark all read ({page.unread})</button>
            </form>
          )}
        </div>
        {page.notifications.length === 0 && <p class="muted">Nothing here yet.</p>}
        <ul class="notification-list">
          {page.notifications.map((n) => (
            <li key={n.id} class={n.read_at ? "read" : "unread"}>
              <a href={n.url ?? "/notifications"}>
                <strong>{n.title}</strong>
                {n.body && <span>{n.body}</span>}
              </a>
              <time dateTime={n.created_at}>{n.created_at.slice(0, 16).replace("T", " ")} UTC</time>
            </li>
          ))}
        </ul>
        {page.next_before && <a href={`/notifications?before=${page.next_before}`}>Older</a>}
        <p>
          <a href="/settings/notifications">Notification settings</a>
        </p>
      </section>,
      { title: "Notifications" },
    );
  })
  .post("/notifications/read-all", async (c) => {
    if (!c.var.claims) return signIn(c);
    const claims = requireUser(c);
    const result = await markRead(c.var.platform.db, claims, { all: true });
    if (result.marked.length) {
      await publishUnread(c.var.platform, claims.sub, "notifications_read", { ids: result.marked });
    }
    return c.redirect("/notifications", 303);
  })
  .get("/settings/notifications", async (c) => {
    if (!c.var.claims) return signIn(c);
    const claims = requireUser(c);
    const { platform } = c.var;
    const prefs = await asUser(platform.db, claims, (tx) => loadPreferences(tx, claims.sub));
    const phone = await phoneStatus(platform.db, claims.sub);
    return renderPage(
      c,
      <section class="card narrow">
        <h1>Notification settings</h1>
        {c.req.query("saved") && <p class="notice" role="status">Preferences saved.</p>}
        <SettingsForm prefs={prefs} />
        <DeviceChannels phone={phone} smsProvider={!!platform.config.twilio} />
      </section>,
      { title: "Notification settings" },
    );
  })
  .post("/settings/notifications", async (c) => {
    if (!c.var.claims) return signIn(c);
    const claims = requireUser(c);
    const { platform } = c.var;
    const v = await readForm(c, formValues);
    const body = {
      categories: Object.fromEntries(
        CATEGORIES.map((
          cat,
        ) => [cat, Object.fromEntries(CHANNELS.map((ch) => [ch, v[`${cat}.${ch}`] === "on"]))]),
      ),
      settings: {
        timezone: v.timezone ?? "UTC",
        quiet_start: v.quiet_start || null,
        quiet_end: v.quiet_end || null,
      },
    };
    try {
      const parsed = check(preferencesSchema, body, "form");
      await savePreferences(platform.db, claims, {
        categories: parsed.categories,
        settings: parsed.settings && {
          timezone: parsed.settings.timezone,
          quietStart: parsed.settings.quiet_start,
          quietEnd: parsed.settings.quiet_end,
        },
      });
      return c.redirect("/settings/notifications?saved=1", 303);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 422) throw err;
      const prefs = await asUser(platform.db, claims, (tx) => loadPreferences(tx, claims.sub));
      const details = err.details as { message: string }[] | undefined;
      return renderPage(
        c,
        <section class="card narrow">
          <h1>Notification settings</h1>
          <SettingsForm prefs={prefs} error={details?.[0]?.message ?? err.message} />
        </section>,
        { title: "Notification settings", status: 422 },
      );
    }
  });
