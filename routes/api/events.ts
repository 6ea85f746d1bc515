/**
 * Events API (docs/events.md): events, RSVPs, attendees, approvals, check-in, stats, organizers,
 * invitations, "my events" and calendar feeds. Thin: validate -> lib/events -> flush the outbox ->
 * respond.
 */
import { Hono } from "hono";
import { z } from "zod";
import { feedUrl, rotateFeed } from "@/lib/events/calendar.ts";
import { type EventPatch, updateEvent } from "@/lib/events/edit.ts";
import {
  acceptInvite,
  cancelEvent,
  createEvent,
  type EventInput,
  getEvent,
  LIST_LIMIT,
  listEvents,
  myEvents,
} from "@/lib/events/events.ts";
import {
  addOrganizer,
  checkIn,
  decide,
  eventStats,
  listAttendees,
  removeOrganizer,
  rsvp,
} from "@/lib/events/rsvps.ts";
import { CATEGORIES } from "@/lib/events/views.ts";
import { isTimeZone } from "@/lib/events/zones.ts";
import { notFound } from "@/lib/errors.ts";
import type { AppEnv } from "../env.ts";
import { baseUrl, eventParam, eventRules, flushEvents, userParam } from "../events_shared.ts";
import { rateLimit } from "../rate_limit.ts";
import { requireUser } from "../session.ts";
import { check, readJson, readQuery, text } from "../validate.ts";

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);
const venue = z.strictObject({
  name: text(1, 120).transform((s) => s.trim()),
  address: text(0, 300).default(""),
  lat: z.number().min(-90).max(90).nullable().default(null),
  lng: z.number().min(-180).max(180).nullable().default(null),
}).refine((v) => (v.lat === null) === (v.lng === null), "Give both lat and lng, or neither.");

const fields = {
  title: text(1, 120).transform((s) => s.trim()),
  description: text(0, 10000).default(""),
  category: z.enum(CATEGORIES),
  starts_at: instant,
  ends_at: instant,
  timezone: z.string().max(64).refine(isTimeZone, "Unknown time zone."),
  venue: venue.nullable().default(null),
  online_url: httpUrl.nullable().default(null),
  capacity: z.number().int().min(1).max(100000).nullable().default(null),
  visibility: z.enum(["public", "members", "invite"]),
  requires_approval: z.boolean().default(false),
  status: z.enum(["draft", "published"]),
  recurrence: z.string().max(500).nullable().default(null),
  cover_media_id: z.uuid().transform((s) => s.toLowerCase()).nullable().default(null),
};

const clientIdSchema = z.string().regex(
  /^[A-Za-z0-9_.:-]{1,100}$/,
  "Use 1-100 letters, digits, '_', '-', '.' or ':'.",
);

const createSchema = z.strictObject({
  ...fields,
  client_id: clientIdSchema.optional(),
}).refine((b) => b.venue !== null || b.online_url !== null, {
  message: "Give a venue or an online_url.",
  path: ["venue"],
});

const patchSchema = z.strictObject({
  title: fields.title.optional(),
  description: text(0, 10000).optional(),
  category: fields.category.optional(),
  starts_at: instant.optional(),
  ends_at: instant.optional(),
  timezone: fields.timezone.optional(),
  venue: venue.nullable().optional(),
  online_url: httpUrl.nullable().optional(),
  capacity: z.number().int().min(1).max(100000).nullable().optional(),
  visibility: fields.visibility.optional(),
  requires_approval: z.boolean().optional(),
  status: fields.status.optional(),
  recurrence: z.string().max(500).nullable().optional(),
  cover_media_id: z.uuid().transform((s) => s.toLowerCase()).nullable().optional(),
  scope: z.enum(["this", "following"]).default("this"),
}).refine((b) => Object.keys(b).some((k) => k !== "scope"), "Give at least one field to change.");

const listQuery = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  category: z.enum(CATEGORIES).optional(),
  q: text(1, 200).optional(),
  near: z.string().regex(/^-?\d{1,3}(\.\d+)?,-?\d{1,3}(\.\d+)?$/, "Use near=lat,lng.")
    .transform((s) => s.split(",").map(Number) as [number, number])
    .refine(([lat, lng]) => Math.abs(lat) <= 90 && Math.abs(lng) <= 180, "Coordinates out of range.")
    .optional(),
  radius_km: z.coerce.number().positive().max(20000).default(25),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default),
}).refine((q) => !q.from || !q.to || q.from < q.to, { message: "from must be before to.", path: ["to"] });

const rsvpSchema = z.strictObject({
  status: z.enum(["going", "maybe", "not_going"]),
  guests: z.number().int().min(0).max(10).optional(),
});
const cancelSchema = z.strictObject({ scope: z.enum(["this", "following"]).default("this") });
const attendeesQuery = z.strictObject({
  state: z.enum(["going", "waitlisted", "pending", "maybe", "not_going", "declined"]).optional(),
});
const checkInSchema = z.strictObject({ code: text(4, 40) });
const organizerSchema = z.strictObject({ user_id: z.uuid() });
const inviteSchema = z.strictObject({ token: z.string().min(8).max(100) });

/** `/api/v1/events`. */
export const eventsApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const q = readQuery(c, listQuery);
    return c.json(
      await listEvents(c.var.platform.db, c.var.claims, {
        from: q.from ?? new Date(),
        to: q.to ?? null,
        category: q.category ?? null,
        q: q.q?.trim() ?? null,
        near: q.near ? { lat: q.near[0], lng: q.near[1], radiusKm: q.radius_km } : null,
        cursor: q.cursor ?? null,
        limit: q.limit,
      }),
    );
  })
  .post("/", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, createSchema);
    const header = c.req.header("idempotency-key")?.trim() || undefined;
    const clientId = body.client_id ??
      (header === undefined ? undefined : check(clientIdSchema, header, "Idempotency-Key"));
    await rateLimit(c, eventRules.create, claims.sub);
    const input: EventInput = { ...body, client_id: clientId };
    const result = await createEvent(c.var.platform.db, claims, input);
    return c.json({ event: result.event, occurrences: result.occurrences }, result.replayed ? 200 : 201);
  })
  .get("/:id", async (c) => {
    return c.json({ event: await getEvent(c.var.platform.db, c.var.claims, eventParam(c)) });
  })
  .patch("/:id", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const { scope, ...patch } = await readJson(c, patchSchema);
    await rateLimit(c, eventRules.write, claims.sub);
    const result = await updateEvent(c.var.platform.db, claims, id, patch as EventPatch, scope);
    await flushEvents(c);
    return c.json(result);
  })
  .post("/:id/cancel", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = c.req.header("content-length") === "0" || !c.req.header("content-type")
      ? { scope: "this" as const }
      : await readJson(c, cancelSchema);
    await rateLimit(c, eventRules.write, claims.sub);
    const result = await cancelEvent(c.var.platform.db, claims, id, body.scope);
    await flushEvents(c);
    return c.json(result);
  })
  .post("/:id/rsvp", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = await readJson(c, rsvpSchema);
    await rateLimit(c, eventRules.rsvp, claims.sub);
    const result = await rsvp(c.var.platform.db, claims, id, body.status, body.guests);
    await flushEvents(c);
    return c.json(result);
  })
  .get("/:id/attendees", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const q = readQuery(c, attendeesQuery);
    return c.json({ attendees: await listAttendees(c.var.platform.db, claims, id, q.state ?? null) });
  })
  .post("/:id/attendees/:userId/:decision{approve|decline}", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const userId = userParam(c);
    await rateLimit(c, eventRules.write, claims.sub);
    const result = await decide(c.var.platform.db, claims, id, userId, c.req.param("decision") === "approve");
    await flushEvents(c);
    return c.json(result);
  })
  .post("/:id/checkin", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = await readJson(c, checkInSchema);
    await rateLimit(c, eventRules.checkIn, claims.sub);
    return c.json(await checkIn(c.var.platform.db, claims, id, body.code));
  })
  .get("/:id/stats", async (c) => {
    const claims = requireUser(c);
    return c.json(await eventStats(c.var.platform.db, claims, eventParam(c)));
  })
  .post("/:id/organizers", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = await readJson(c, organizerSchema);
    await rateLimit(c, eventRules.write, claims.sub);
    return c.json({ organizers: await addOrganizer(c.var.platform.db, claims, id, body.user_id) });
  })
  .delete("/:id/organizers/:userId", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const userId = userParam(c);
    await rateLimit(c, eventRules.write, claims.sub);
    return c.json({ organizers: await removeOrganizer(c.var.platform.db, claims, id, userId) });
  })
  .post("/:id/invite", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = await readJson(c, inviteSchema);
    await rateLimit(c, eventRules.write, claims.sub);
    if (!await acceptInvite(c.var.platform.db, claims, id, body.token)) {
      throw notFound("This invitation link is not valid (any more).");
    }
    return c.json({ event: await getEvent(c.var.platform.db, claims, id) });
  });

/** `/api/v1/me/events` and `/api/v1/me/calendar`. */
export const myEventsApi = new Hono<AppEnv>()
  .get("/events", async (c) => {
    const claims = requireUser(c);
    return c.json(await myEvents(c.var.platform.db, claims));
  })
  .get("/calendar", async (c) => {
    const claims = requireUser(c);
    return c.json({ url: await feedUrl(c.var.platform.db, claims, baseUrl(c)) });
  })
  .post("/calendar/rotate", async (c) => {
    const claims = requireUser(c);
    await rateLimit(c, eventRules.write, claims.sub);
    return c.json({ url: await rotateFeed(c.var.platform.db, claims, baseUrl(c)) });
  });
