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
