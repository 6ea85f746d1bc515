/** Event fixtures: events created through the API, RSVPs, and time helpers. */
import assert from "node:assert/strict";
import type { TestContext } from "./app.ts";
import { api } from "./chat.ts";
import type { TestUser } from "./factories.ts";

export { api };

/** An ISO instant `hours` from now (whole minutes). */
export function hoursFromNow(hours: number): string {
  const ms = Date.now() + hours * 3600_000;
  return new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
}

/** A valid creation body; `extra` overrides fields. */
export function eventBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: `Meetup ${crypto.randomUUID().slice(0, 6)}`,
    description: "Come **along**.",
    category: "social",
    starts_at: hoursFromNow(48),
    ends_at: hoursFromNow(50),
    timezone: "Europe/Berlin",
    venue: { name: "Community hall", address: "Main St 1", lat: 52.52, lng: 13.405 },
    capacity: null,
    visibility: "public",
    status: "published",
    ...extra,
  };
}

/** Creates an event as `organizer` and returns it (the first occurrence). */
export async function createEvent(
  t: TestContext,
  organizer: TestUser,
  extra: Record<string, unknown> = {},
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const res = await api(t, organizer, "POST", "/events", eventBody(extra));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.event;
}

/** RSVPs and returns the response. */
export function rsvp(t: TestContext, user: TestUser, eventId: string, status: string, guests?: number) {
  return api(
    t,
    user,
    "POST",
    `/events/${eventId}/rsvp`,
    guests === undefined ? { status } : { status, guests },
  );
}

// Helpers for the events API tests (tests/events/api_*_test.ts).

/** What {@link api} returns. */
// deno-lint-ignore no-explicit-any
export type ApiResult = { status: number; body: any };

/** Checks a success status and returns the body. */
export function expectOk(res: ApiResult, status = 200) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
}

/** Checks a refusal in the shape of DESIGN section 6 (and its code, when given); returns the error. */
export function expectError(res: ApiResult, status: number, code?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.code, "string", JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.message, "string", JSON.stringify(res.body));
  if (code) assert.equal(res.body.error.code, code, JSON.stringify(res.body));
  return res.body.error;
}

/** Rows in public.events and public.event_series (read past RLS). */
export async function countEventRows(t: TestContext): Promise<{ events: number; series: number }> {
  const [row] = await t.platform.db.query<{ events: number; series: number }>(
    `select (select count(*)::int from public.events) as events,
       (select count(*)::int from public.event_series) as series`,
  );
  return { events: Number(row.events), series: Number(row.series) };
}

/** Moves an event into the past (as the database owner: the API refuses such times). */
export async function moveToPast(t: TestContext, eventId: string): Promise<void> {
  await t.platform.db.query(
    `update public.events set starts_at = now() - interval '3 hours', ends_at = now() - interval '1 hour'
     where id = $1`,
    [eventId],
  );
}

/** Templates of `userId`'s notifications, oldest first (optionally only `template`). */
export async function notificationsOf(t: TestContext, userId: string, template?: string): Promise<string[]> {
  const rows = await t.platform.db.query<{ template: string }>(
    `select template from public.notifications where user_id = $1 and ($2::text is null or template = $2)
     order by id`,
    [userId, template ?? null],
  );
  return rows.map((r) => r.template);
}

/** The occurrences of a series as stored, by start (read past RLS). */
export function occurrencesOf(t: TestContext, seriesId: string) {
  return t.platform.db.query<{ id: string; occurrence: number; starts_at: Date | string; status: string }>(
    "select id, occurrence, starts_at, status from public.events where series_id = $1 order by starts_at",
    [seriesId],
  );
}

/** The JWT claims `asUser` takes for a plain member. */
export function memberClaims(user: TestUser) {
  return { sub: user.id, role: "authenticated" as const, app_metadata: { role: "member" } };
}
