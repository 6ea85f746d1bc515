/**
 * `/api/v1/notifications`: the caller's inbox (keyset pages, unread count, mark read, click from a
 * push), their channel preferences and quiet hours, and a rate-limited test notification.
 */
import { Hono } from "hono";
import { z } from "zod";
import { asUser } from "@/lib/db/as_user.ts";
import { enforce } from "@/lib/kv/rate_limit.ts";
import { listNotifications, markRead } from "@/lib/notify/inbox.ts";
import { notify, publishUnread } from "@/lib/notify/notify.ts";
import { CHANNELS, loadPreferences, savePreferences } from "@/lib/notify/preferences.ts";
import { CATEGORIES } from "@/lib/notify/templates.ts";
import { isTimeZone } from "@/lib/jobs/cron.ts";
import type { AppEnv } from "../env.ts";
import { requireUser } from "../session.ts";
import { check, readJson, readQuery } from "../validate.ts";

const listQuery = z.strictObject({
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  unread: z.enum(["1", "true", "0", "false"]).optional(),
});

const readBodySchema = z.union([
  z.strictObject({ ids: z.array(z.number().int().positive()).min(1).max(500) }),
  z.strictObject({ all: z.literal(true) }),
]);

const switches = z.strictObject(Object.fromEntries(CHANNELS.map((ch) => [ch, z.boolean()])) as {
  push: z.ZodBoolean;
  sms: z.ZodBoolean;
  email: z.ZodBoolean;
});
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM, 24-hour.");

/** The preferences body: any categories, and the settings. */
export const preferencesSchema = z.strictObject({
  categories: z.strictObject(
    Object.fromEntries(CATEGORIES.map((c) => [c, switches.optional()])) as Record<
      typeof CATEGORIES[number],
      z.ZodOptional<typeof switches>
    >,
  ).optional(),
  settings: z.strictObject({
    timezone: z.string().max(64).refine(isTimeZone, "Use an IANA time zone, like Europe/Paris."),
    quiet_start: clock.nullable(),
    quiet_end: clock.nullable(),
  }).refine((s) => (s.quiet_start === null) === (s.quiet_end === null), {
    message: "Give both ends of the quiet hours, or neither.",
    path: ["quiet_end"],
  }).optional(),
});

const testRule = { name: "notify-test", limit: 5, windowSeconds: 3600 };

const view = (p: Awaited<ReturnType<typeof loadPreferences>>) => ({
  categories: p.categories,
  settings: {
    timezone: p.settings.timezone,
    quiet_start: p.settings.quietStart,
    quiet_end: p.settings.quietEnd,
  },
});

/** Notification API routes. */
export const notificationsApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = requireUser(c);
    const q = readQuery(c, listQuery);
    const unreadOnly = q.unread === "1" || q.unread === "true";
    return c.json(await listNotifications(c.var.platform.db, claims, { ...q, unreadOnly }));
  })
  .get("/unread", async (c) => {
    const claims = requireUser(c);
    const page = await listNotifications(c.var.platform.db, claims, { limit: 1, unreadOnly: true });
    return c.json({ unread: page.unread });
  })
  .post("/read", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, readBodySchema);
    const result = await markRead(
      c.var.platform.db,
      claims,
      "all" in body ? { all: true } : { ids: body.ids },
    );
    if (result.marked.length) {
      await publishUnread(c.var.platform, claims.sub, "notifications_read", { ids: result.marked });
    }
    return c.json(result);
  })
  // The service worker reports a click on a push (and "Mark as read" from its action button).
  .post("/:id/click", async (c) => {
    const claims = requireUser(c);
    const id = check(z.coerce.number().int().positive(), c.req.param("id"), "notification id");
    const { platform } = c.var;
    const result = await markRead(platform.db, claims, { ids: [id] });
    const mine = await asUser(
      platform.db,
      claims,
      (tx) => tx.query("select 1 from public.notifications where id = $1", [id]),
    );
    if (!mine.length) return c.json({ error: { code: "not_found", message: "No such notification." } }, 404);
    await platform.db.query(
      `update plaza.deliveries set status = 'clicked', updated_at = now()
       where notification_id = $1 and channel = 'push' and status = 'sent'`,
      [id],
    );
    if (result.marked.length) {
      await publishUnread(platform, claims.sub, "notifications_read", { ids: result.marked });
    }
    return c.json({ ok: true, unread: result.unread });
  })
  .get("/preferences", async (c) => {
    const claims = requireUser(c);
    const prefs = await asUser(c.var.platform.db, claims, (tx) => loadPreferences(tx, claims.sub));
    return c.json(view(prefs));
  })
  .put("/preferences", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, preferencesSchema);
    const prefs = await savePreferences(c.var.platform.db, claims, {
      categories: body.categories,
      settings: body.settings && {
        timezone: body.settings.timezone,
        quietStart: body.settings.quiet_start,
        quietEnd: body.settings.quiet_end,
      },
    });
    return c.json(view(prefs));
  })
  .post("/test", async (c) => {
    const claims = requireUser(c);
    const { platform } = c.var;
    enforce(testRule, await platform.limiter.hit(testRule, claims.sub));
    const { id } = await notify(platform, claims.sub, {
      category: "system",
      template: "system.test",
      dedupKey: `test:${crypto.randomUUID()}`,
    });
    return c.json({ id }, 201);
  });
