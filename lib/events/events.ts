/**
 * Events as the caller (RLS decides what they see and change): create a series with its
 * occurrences, read one, list and search, cancel. Edits live in ./edit.ts.
 */
import { b64url } from "../auth/jwt.ts";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { AppError, forbidden, notFound, unprocessable } from "../errors.ts";
import { expandRule, normalizeRule, RecurrenceError } from "./recurrence.ts";
import { isTimeZone } from "./zones.ts";
import {
  EVENT_COLUMNS,
  type EventCategory,
  type EventView,
  type MyRsvp,
  type Organizer,
  toEventView,
  toMyRsvp,
  type Visibility,
} from "./views.ts";

/** How long one occurrence may last. */
export const MAX_DURATION_MS = 14 * 24 * 3600_000;
/** How far ahead an event may start. */
export const MAX_AHEAD_MS = 5 * 366 * 24 * 3600_000;
/** Events per page of the list. */
export const LIST_LIMIT = { default: 50, max: 100 };

/** A place with coordinates (both or neither). */
export interface VenueInput {
  name: string;
  address: string;
  lat: number | null;
  lng: number | null;
}

/** What creating an event takes (validated by the API's schema). */
export interface EventInput {
  title: string;
  description: string;
  category: EventCategory;
  starts_at: Date;
  ends_at: Date;
  timezone: string;
  venue: VenueInput | null;
  online_url: string | null;
  capacity: number | null;
  visibility: Visibility;
  requires_approval: boolean;
  status: "draft" | "published";
  recurrence: string | null;
  /** An image the organizer uploaded (docs/media.md), or null. */
  cover_media_id?: string | null;
  client_id?: string;
}

/** A random URL-safe secret of `bytes` bytes. */
export function randomToken(bytes = 24): string {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Checks the rules that span fields; throws 422 naming the field. */
export function checkTimes(starts: Date, ends: Date, timezone: string, now = new Date()): void {
  const problems: { path: string; message: string }[] = [];
  if (!isTimeZone(timezone)) problems.push({ path: "timezone", message: "Unknown time zone." });
  if (ends.getTime() <= starts.getTime()) {
    problems.push({ path: "ends_at", message: "Must be after starts_at." });
  } else if (ends.getTime() - starts.getTime() > MAX_DURATION_MS) {
    problems.push({ path: "ends_at", message: "An event lasts at most 14 days." });
  }
  if (ends.getTime() <= now.getTime()) problems.push({ path: "ends_at", message: "Must be in the future." });
  if (starts.getTime() - now.getTime() > MAX_AHEAD_MS) {
    problems.push({ path: "starts_at", message: "At most 5 years ahead." });
  }
  if (problems.length) {
    throw unprocessable(problems.map((p) => `${p.path}: ${p.message}`).join("; "), problems);
  }
}

/** The start instants of a series: the rule expanded from `starts`, or just `starts`. */
export function occurrenceStarts(rule: string | null, starts: Date, timezone: string): Date[] {
  if (!rule) return [starts];
  try {
    const dates = expandRule(rule, starts, timezone);
    if (!dates.length) throw new RecurrenceError("The rule makes no occurrences.");
    return dates;
  } catch (err) {
    if (err instanceof RecurrenceError) {
      throw unprocessable(`recurrence: ${err.message}`, [{ path: "recurrence", message: err.message }]);
    }
    throw err;
  }
}

/** The rule in canonical form, or 422. */
export function checkedRule(rule: string | null): string | null {
  if (rule === null) return null;
  try {
    return normalizeRule(rule);
  } catch (err) {
    if (err instanceof RecurrenceError) {
      throw unprocessable(`recurrence: ${err.message}`, [{ path: "recurrence", message: err.message }]);
    }
    throw err;
  }
}

/** The cover trigger's refusal as a 422 on `cover_media_id`. */
export function coverError(err: unknown): never {
  const e = err as { code?: string; constraint?: string; constraint_name?: string };
  if (e?.code === "23514" && (e.constraint ?? e.constraint_name) === "events_cover_media") {
    throw unprocessable("The cover must be an image you uploaded.", [
      { path: "cover_media_id", message: "Choose one of your own images (not a PDF or video)." },
    ]);
  }
  throw err;
}

/** Inserts occurrences of a series (one statement for all of them). */
export async function insertOccurrences(
  tx: Queryable,
  seriesId: string,
  base: Omit<EventInput, "starts_at" | "ends_at" | "recurrence" | "client_id">,
  starts: Date[],
  durationMs: number,
  inviteToken: string,
  firstOccurrence = 0,
): Promise<string[]> {
  const rows = await tx.query<{ id: string }>(
    `insert into public.events (series_id, occurrence, title, description, category, starts_at, ends_at, timezone,
       venue_name, venue_address, lat, lng, online_url, capacity, visibility, requires_approval, status,
       invite_token, cover_media_id)
     select $1, $2 + o.n - 1, $3, $4, $5, o.s, o.s + ($6 || ' milliseconds')::interval, $7, $8, $9, $10, $11,
       $12, $13, $14, $15, $16, $17, $19
     from unnest($18::timestamptz[]) with ordinality as o(s, n)
     order by o.n
     returning id`,
    [
      seriesId,
      firstOccurrence,
      base.title,
      base.description,
      base.category,
      String(durationMs),
      base.timezone,
      base.venue?.name ?? null,
      base.venue ? base.venue.address : null,
      base.venue?.lat ?? null,
      base.venue?.lng ?? null,
      base.online_url,
      base.capacity,
      base.visibility,
      base.requires_approval,
      base.status,
      inviteToken,
      starts.map((d) => d.toISOString()),
      base.cover_media_id ?? null,
    ],
  ).catch(coverError);
  return rows.map((r) => r.id);
}

/** Creates a series and its occurrences; a repeated client_id returns the first result. */
export async function createEvent(
  db: Db,
  claims: Claims,
  input: EventInput,
): Promise<{ event: EventView; occurrences: number; replayed: boolean }> {
  checkTimes(input.starts_at, input.ends_at, input.timezone);
  const rule = checkedRule(input.recurrence);
  const starts = occurrenceStarts(rule, input.starts_at, input.timezone);
  const duration = input.ends_at.getTime() - input.starts_at.getTime();
  return await asUser(db, claims, async (tx) => {
    if (input.client_id) {
      const [prior] = await tx.query<{ id: string; n: number }>(
        `select (select id from public.events where series_id = s.id order by starts_at limit 1) as id,
           (select count(*)::int from public.events where series_id = s.id) as n
         from public.event_series s where s.created_by = $1 and s.client_id = $2`,
        [claims.sub, input.client_id],
      );
      if (prior?.id) {
        return {
          event: await requireEvent(tx, prior.id, claims),
          occurrences: Number(prior.n),
          replayed: true,
        };
      }
    }
    const seriesId = crypto.randomUUID();
    await tx.query(
      "insert into public.event_series (id, created_by, rrule, client_id) values ($1, $2, $3, $4)",
      [seriesId, claims.sub, rule, input.client_id ?? null],
    );
    await tx.query("insert into public.event_organizers (series_id, user_id) values ($1, $2)", [
      seriesId,
      claims.sub,
    ]);
    const ids = await insertOccurrences(tx, seriesId, input, starts, duration, randomToken());
    return { event: await requireEvent(tx, ids[0], claims), occurrences: ids.length, replayed: false };
  });
}

/** The caller's view of an event (with organizers, their RSVP and edit rights), or null. */
export async function eventFor(tx: Queryable, id: string, claims: Claims | null): Promise<EventView | null> {
  const signedIn = claims?.role === "authenticated";
  const [row] = await tx.query<Record<string, unknown>>(
    `select ${EVENT_COLUMNS}, public.event_organizers_json(e.id) as organizers
       ${
      signedIn
        ? `, public.event_is_organizer(e.id) as can_edit,
         (select public.event_rsvp_json(r) from public.event_rsvps r
          where r.event_id = e.id and r.user_id = (select auth.uid())) as my_rsvp,
         case when e.visibility = 'invite' then public.event_invite_token(e.id) end as invite_token`
        : ""
    }
     from public.events e where e.id = $1`,
    [id],
  );
  if (!row) return null;
  const view = toEventView(row);
  view.organizers = row.organizers as Organizer[];
  view.can_edit = row.can_edit === true;
  view.my_rsvp = row.my_rsvp ? toMyRsvp(row.my_rsvp as Record<string, unknown>) : null;
  if (view.can_edit && row.invite_token) view.invite_token = row.invite_token as string;
  return view;
}

/** The event, or 404. */
export async function requireEvent(tx: Queryable, id: string, claims: Claims | null): Promise<EventView> {
  const view = await eventFor(tx, id, claims);
  if (!view) throw notFound("No such event.");
  return view;
}

/** The event for an organizer, or 404 (invisible) / 403 (visible, not theirs). */
export async function requireOrganizer(tx: Queryable, id: string, claims: Claims): Promise<EventView> {
  const view = await requireEvent(tx, id, claims);
  if (!view.can_edit) throw forbidden("Only the event's organizers can do that.", "not_an_organizer");
  return view;
}

/** One event as the caller sees it. */
export async function getEvent(db: Db, claims: Claims | null, id: string): Promise<EventView> {
  return await asUser(db, claims, (tx) => requireEvent(tx, id, claims));
}

/** Filters of the event list. */
export interface EventFilter {
  from: Date;
  to: Date | null;
  category: EventCategory | null;
  q: string | null;
  near: { lat: number; lng: number; radiusKm: number } | null;
  cursor: string | null;
  limit: number;
}

/** Great-circle distance in km between (`lat`, `lng`) columns and parameters $lat/$lng, in SQL. */
const distanceSql = (lat: string, lng: string) =>
  `6371.0088 * 2 * asin(least(1, sqrt(power(sin(radians(e.lat - ${lat}) / 2), 2)
    + cos(radians(${lat})) * cos(radians(e.lat)) * power(sin(radians(e.lng - ${lng}) / 2), 2))))`;

/** An opaque keyset cursor: the last row's start and id. */
export function encodeCursor(startsAt: string, id: string): string {
  return b64url(new TextEncoder().encode(`${startsAt}|${id}`));
}

function decodeCursor(cursor: string): { startsAt: string; id: string } {
  try {
    const [startsAt, id] = atob(cursor.replaceAll("-", "+").replaceAll("_", "/")).split("|");
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(startsAt) || Number.isNaN(Date.parse(startsAt))) {
      throw new Error("bad time");
    }
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new Error("bad id");
    return { startsAt: new Date(startsAt).toISOString(), id };
  } catch {
    throw new AppError(422, "validation_failed", "The cursor is invalid.", [
      { path: "cursor", message: "Use next_cursor from the previous page." },
    ]);
  }
}

/** Published events the caller may see, by start time: filtered by date, category, text and distance. */
export async function listEvents(
  db: Db,
  claims: Claims | null,
  f: EventFilter,
): Promise<{ events: EventView[]; next_cursor: string | null }> {
  const params: unknown[] = [f.from.toISOString()];
  const where = ["e.status = 'published'", "e.ends_at > $1"];
  const add = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (f.to) where.push(`e.starts_at < ${add(f.to.toISOString())}`);
  if (f.category) where.push(`e.category = ${add(f.category)}`);
  if (f.q) where.push(`e.search @@ websearch_to_tsquery('english', ${add(f.q)})`);
  let distance = "";
  if (f.near) {
    const lat = add(f.near.lat), lng = add(f.near.lng);
    // A bounding box first (index-friendly), then the exact distance.
    const dLat = f.near.radiusKm / 111.2;
    where.push(`e.lat between ${add(f.near.lat - dLat)} and ${add(f.near.lat + dLat)}`);
    const cos = Math.cos((f.near.lat * Math.PI) / 180);
    const dLng = cos > 0.01 ? f.near.radiusKm / (111.32 * cos) : 360;
    if (dLng < 180 && Math.abs(f.near.lng) + dLng <= 180) {
      where.push(`e.lng between ${add(f.near.lng - dLng)} and ${add(f.near.lng + dLng)}`);
    }
    distance = distanceSql(`${lat}::float8`, `${lng}::float8`);
    where.push(`${distance} <= ${add(f.near.radiusKm)}`);
  }
  if (f.cursor) {
    const c = decodeCursor(f.cursor);
    where.push(`(e.starts_at, e.id) > (${add(c.startsAt)}::timestamptz, ${add(c.id)}::uuid)`);
  }
  const rows = await asUser(db, claims, (tx) =>
    tx.query<Record<string, unknown>>(
      `select ${EVENT_COLUMNS}${distance ? `, ${distance} as distance_km` : ""}
       from public.events e where ${where.join(" and ")}
       order by e.starts_at, e.id limit ${f.limit + 1}`,
      params,
    ));
  const events = rows.slice(0, f.limit).map(toEventView);
  const last = events.at(-1);
  return {
    events,
    next_cursor: rows.length > f.limit && last ? encodeCursor(last.starts_at, last.id) : null,
  };
}

/** What "my events" shows: upcoming events by the caller's state, and the ones they organize. */
export interface MyEvents {
  going: (EventView & { my_rsvp: MyRsvp })[];
  waitlisted: (EventView & { my_rsvp: MyRsvp })[];
  pending: (EventView & { my_rsvp: MyRsvp })[];
  organizing: EventView[];
}

/** The caller's upcoming events. */
export async function myEvents(db: Db, claims: Claims): Promise<MyEvents> {
  return await asUser(db, claims, async (tx) => {
    const answered = await tx.query<Record<string, unknown>>(
      `select ${EVENT_COLUMNS}, public.event_rsvp_json(r) as my_rsvp
       from public.event_rsvps r join public.events e on e.id = r.event_id
       where r.user_id = (select auth.uid()) and r.state in ('going', 'waitlisted', 'pending')
         and e.ends_at > now()
       order by e.starts_at, e.id limit 500`,
    );
    const organizing = await tx.query<Record<string, unknown>>(
      `select ${EVENT_COLUMNS} from public.events e
       where e.series_id in (select public.event_my_series()) and e.ends_at > now()
       order by e.starts_at, e.id limit 500`,
    );
    const out: MyEvents = { going: [], waitlisted: [], pending: [], organizing: [] };
    for (const row of answered) {
      const view = toEventView(row) as EventView & { my_rsvp: MyRsvp };
      view.my_rsvp = toMyRsvp(row.my_rsvp as Record<string, unknown>);
      const list = out[view.my_rsvp.state as "going" | "waitlisted" | "pending"];
      list.push(view);
    }
    out.organizing = organizing.map((r) => ({ ...toEventView(r), can_edit: true }));
    return out;
  });
}

/** Cancels the event (or it and every later occurrence); idempotent. */
export async function cancelEvent(
  db: Db,
  claims: Claims,
  id: string,
  scope: "this" | "following",
): Promise<{ event: EventView; cancelled: number }> {
  return await asUser(db, claims, async (tx) => {
    const event = await requireOrganizer(tx, id, claims);
    const rows = await tx.query(
      `update public.events set status = 'cancelled', cancelled_at = now()
       where status <> 'cancelled' and (id = $1 or ($2 and series_id = $3 and starts_at >= $4))
       returning id`,
      [id, scope === "following", event.series_id, event.starts_at],
    );
    return { event: await requireEvent(tx, id, claims), cancelled: rows.length };
  });
}

/** Accepts an invitation link for the caller; false when the token is wrong. */
export async function acceptInvite(db: Db, claims: Claims, id: string, token: string): Promise<boolean> {
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ ok: boolean }>("select public.event_accept_invite($1, $2) as ok", [
      id,
      token,
    ]);
    return row.ok === true;
  });
}
