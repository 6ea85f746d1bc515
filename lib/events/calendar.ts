/**
 * Calendar export: one event as .ics, a person's subscribable feed of everything they are going to
 * (by a secret token they can rotate), and the "Add to Google Calendar" link.
 */
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import { getEvent, randomToken } from "./events.ts";
import { buildCalendar, googleCalendarUrl, type IcsEvent } from "./ics.ts";
import { EVENT_COLUMNS, type EventView, toEventView } from "./views.ts";

/** How far back the feed reaches. */
export const FEED_PAST_DAYS = 30;

/** The plain-text location of an event. */
function locationOf(e: EventView): string | undefined {
  const parts = e.venue ? [e.venue.name, e.venue.address].filter(Boolean) : [];
  if (e.online_url) parts.push(e.online_url);
  return parts.length ? parts.join(", ") : undefined;
}

/** An event as a VEVENT. */
export function toIcsEvent(e: EventView, baseUrl: string, dtstamp = new Date()): IcsEvent {
  const url = `${baseUrl}/events/${e.id}`;
  return {
    uid: `${e.id}@plaza`,
    sequence: e.sequence,
    dtstamp,
    start: new Date(e.starts_at),
    end: new Date(e.ends_at),
    timezone: e.timezone,
    summary: e.title,
    description: [e.description, url].filter(Boolean).join("\n\n"),
    location: locationOf(e),
    geo: e.venue?.lat != null && e.venue.lng != null ? { lat: e.venue.lat, lng: e.venue.lng } : undefined,
    url,
    status: e.status === "cancelled" ? "CANCELLED" : "CONFIRMED",
    organizer: e.organizers[0]?.name,
    lastModified: new Date(e.updated_at),
  };
}

/** The .ics of one event the caller may see. */
export async function eventIcs(db: Db, claims: Claims | null, id: string, baseUrl: string): Promise<string> {
  const event = await getEvent(db, claims, id);
  return buildCalendar([toIcsEvent(event, baseUrl)], { method: "PUBLISH" });
}

/** "Add to Google Calendar" for an event. */
export function googleLink(e: EventView, baseUrl: string): string {
  return googleCalendarUrl({
    summary: e.title,
    start: new Date(e.starts_at),
    end: new Date(e.ends_at),
    timezone: e.timezone,
    description: `${baseUrl}/events/${e.id}`,
    location: locationOf(e),
  });
}

const feedUrlOf = (baseUrl: string, token: string) => `${baseUrl}/calendar/${token}.ics`;

/** The caller's feed URL, or null before they made one. */
export async function feedUrl(db: Db, claims: Claims, baseUrl: string): Promise<string | null> {
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ token: string }>(
      "select token from public.calendar_feeds where user_id = (select auth.uid())",
    );
    return row ? feedUrlOf(baseUrl, row.token) : null;
  });
}

/** Makes the caller's feed URL, or a new one (the old one stops working). */
export async function rotateFeed(db: Db, claims: Claims, baseUrl: string): Promise<string> {
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ token: string }>(
      `insert into public.calendar_feeds (user_id, token) values ((select auth.uid()), $1)
       on conflict (user_id) do update set token = excluded.token, created_at = now()
       returning token`,
      [randomToken(32)],
    );
    return feedUrlOf(baseUrl, row.token);
  });
}

/** The feed of a token, or null for an unknown token. Read as the service (the token is the key). */
export async function feedIcs(db: Db, token: string, baseUrl: string): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{32,64}$/.test(token)) return null;
  const [owner] = await db.query<{ user_id: string; name: string }>(
    `select f.user_id, p.name from public.calendar_feeds f join public.profiles p on p.id = f.user_id
     where f.token = $1`,
    [token],
  );
  if (!owner) return null;
  const rows = await db.query<Record<string, unknown>>(
    `select ${EVENT_COLUMNS}, public.event_organizers_json(e.id) as organizers
     from public.event_rsvps r join public.events e on e.id = r.event_id
     where r.user_id = $1 and r.state = 'going' and e.status <> 'draft'
       and e.ends_at > now() - make_interval(days => $2)
     order by e.starts_at limit 2000`,
    [owner.user_id, FEED_PAST_DAYS],
  );
  const now = new Date();
  const events = rows.map((r) => {
    const view = toEventView(r);
    view.organizers = (r.organizers as EventView["organizers"]) ?? [];
    return toIcsEvent(view, baseUrl, now);
  });
  return buildCalendar(events, { name: `Plaza: ${owner.name}`, method: "PUBLISH" });
}
