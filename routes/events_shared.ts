/**
 * What the events API and the event pages share: the write limits, the event id parameter, the
 * organizer check, the outbox flush after a write, and the origin calendar links point at.
 */
import { asUser } from "@/lib/db/as_user.ts";
import { requireOrganizer } from "@/lib/events/events.ts";
import { flushOutbox } from "@/lib/events/outbox.ts";
import type { EventView } from "@/lib/events/views.ts";
import type { RateLimitRule } from "@/lib/kv/rate_limit.ts";
import type { Ctx } from "./env.ts";
import { requireUser } from "./session.ts";
import { uuidParam } from "./validate.ts";

/** Per-person limits on event writes. */
export const eventRules = {
  create: { name: "events-create", limit: 20, windowSeconds: 3600 },
  rsvp: { name: "events-rsvp", limit: 60, windowSeconds: 60 },
  write: { name: "events-write", limit: 120, windowSeconds: 60 },
  checkIn: { name: "events-checkin", limit: 600, windowSeconds: 60 },
} satisfies Record<string, RateLimitRule>;

/** The event id from the path (`:id`), or 404. */
export const eventParam = (c: Ctx): string => uuidParam(c, "id", "No such event.");

/** A person's id from the path (`:userId`), or 404. */
export const userParam = (c: Ctx): string => uuidParam(c, "userId", "No such person.");

/** The event for its organizers: 401 signed out, 404 invisible, 403 not an organizer. */
export async function organizerEvent(c: Ctx, id: string): Promise<EventView> {
  const claims = requireUser(c);
  return await asUser(c.var.platform.db, claims, (tx) => requireOrganizer(tx, id, claims));
}

/** Sends the notices and reminders the last write left in the outbox (failures wait for the job). */
export async function flushEvents(c: Ctx): Promise<void> {
  const { platform } = c.var;
  await flushOutbox(platform).catch((err) => platform.log.warn("event outbox flush failed", { err }));
}

/** The origin links in calendars and feeds point at. */
export function baseUrl(c: Ctx): string {
  return c.var.platform.config.publicUrl ?? new URL(c.req.url).origin;
}

/** Pages that need a session send signed-out visitors to sign in and come back. */
export const signInRedirect = (c: Ctx) => c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
