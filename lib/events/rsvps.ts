/**
 * RSVPs, approvals, attendees, check-in and organizer figures. Seat-changing work happens in the
 * database functions of 0012_events.sql (they lock the event row first); errors they report come
 * back here as codes and leave as typed HTTP errors.
 */
import { isoOrNull } from "../dates.ts";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import { AppError } from "../errors.ts";
import { requireOrganizer } from "./events.ts";
import { type MyRsvp, type RsvpState, toMyRsvp } from "./views.ts";

const ERRORS: Record<string, [number, string, string]> = {
  unauthorized: [401, "unauthorized", "Sign in to RSVP."],
  invalid: [422, "validation_failed", "The RSVP is invalid."],
  not_found: [404, "not_found", "No such event."],
  forbidden: [403, "not_an_organizer", "Only the event's organizers can do that."],
  not_published: [409, "event_not_published", "The event is not published yet."],
  cancelled: [409, "event_cancelled", "The event was cancelled."],
  past: [409, "event_past", "The event is over."],
  declined: [403, "rsvp_declined", "The organizers declined your request for this event."],
  no_seats_for_guests: [409, "no_seats_for_guests", "Not enough seats left for more guests."],
  no_rsvp: [404, "not_found", "That person has not answered."],
  not_pending: [409, "not_pending", "That request was already decided."],
  unknown_code: [404, "unknown_code", "No ticket with that code for this event."],
  not_going: [409, "not_going", "That ticket's holder is not going."],
  already_checked_in: [409, "already_checked_in", "Already checked in."],
};

/** Throws the HTTP error for a `{error: code}` answer from the database; returns other answers. */
function unwrap(j: Record<string, unknown>): Record<string, unknown> {
  const code = j.error as string | undefined;
  if (!code) return j;
  const [status, apiCode, message] = ERRORS[code] ?? [500, "internal", "Something went wrong."];
  const { error: _e, ...details } = j;
  const extra = code === "already_checked_in" && details.checked_in_at
    ? ` (at ${details.checked_in_at})`
    : "";
  throw new AppError(status, apiCode, message + extra, Object.keys(details).length ? details : undefined);
}

/** Answers for the caller; `guests` undefined keeps their party size. */
export async function rsvp(
  db: Db,
  claims: Claims,
  eventId: string,
  status: "going" | "maybe" | "not_going",
  guests?: number,
): Promise<MyRsvp> {
  const [row] = await asUser(
    db,
    claims,
    (tx) =>
      tx.query<{ r: Record<string, unknown> }>("select public.event_rsvp($1, $2, $3) as r", [
        eventId,
        status,
        guests ?? null,
      ]),
  );
  return toMyRsvp(unwrap(row.r));
}

/** An organizer approves or declines a pending request. */
export async function decide(
  db: Db,
  claims: Claims,
  eventId: string,
  userId: string,
  approve: boolean,
): Promise<MyRsvp> {
  const [row] = await asUser(
    db,
    claims,
    (tx) =>
      tx.query<{ r: Record<string, unknown> }>("select public.event_decide($1, $2, $3) as r", [
        eventId,
        userId,
        approve,
      ]),
  );
  return toMyRsvp(unwrap(row.r));
}

/** A ticket code as people type it: case, spaces and dashes do not matter. */
export function normalizeTicketCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]+/g, "");
}

/** A ticket code for people: `ABCD-EFGH-JKLM`. */
export function formatTicketCode(code: string): string {
  return code.match(/.{1,4}/g)?.join("-") ?? code;
}

/** Checks a ticket in, once. */
export async function checkIn(
  db: Db,
  claims: Claims,
  eventId: string,
  code: string,
): Promise<{ user_id: string; name: string; guests: number; checked_in_at: string }> {
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ r: Record<string, unknown> }>(
      "select public.event_check_in($1, $2) as r",
      [eventId, normalizeTicketCode(code)],
    );
    const r = unwrap(row.r);
    const [person] = await tx.query<{ name: string }>("select name from public.profiles where id = $1", [
      r.user_id,
    ]);
    return {
      user_id: r.user_id as string,
      name: person?.name ?? "",
      guests: Number(r.guests),
      checked_in_at: r.checked_in_at as string,
    };
  });
}

/** One person's answer, as organizers see it. */
export interface Attendee {
  user_id: string;
  name: string;
  state: RsvpState;
  guests: number;
  position: number | null;
  ticket_code: string | null;
  checked_in_at: string | null;
  responded_at: string;
}

/** Everyone who answered (organizers only), going first, then the waitlist in order. */
export async function listAttendees(
  db: Db,
  claims: Claims,
  eventId: string,
  state: RsvpState | null,
): Promise<Attendee[]> {
  return await asUser(db, claims, async (tx) => {
    await requireOrganizer(tx, eventId, claims);
    const rows = await tx.query<Record<string, unknown>>(
      `select r.user_id, p.name, r.state, r.guests, r.ticket_code, r.checked_in_at, r.responded_at,
         case when r.state = 'waitlisted'
           then row_number() over (partition by r.state = 'waitlisted' order by r.queue_seq) end as position
       from public.event_rsvps r join public.profiles p on p.id = r.user_id
       where r.event_id = $1 and ($2::text is null or r.state = $2)
       order by array_position(array['going', 'waitlisted', 'pending', 'maybe', 'not_going', 'declined'], r.state),
         r.queue_seq nulls last, r.responded_at, r.user_id
       limit 10000`,
      [eventId, state],
    );
    return rows.map((r) => ({
      user_id: r.user_id as string,
      name: r.name as string,
      state: r.state as RsvpState,
      guests: Number(r.guests),
      position: r.position === null ? null : Number(r.position),
      ticket_code: r.state === "going" ? (r.ticket_code as string) : null,
      checked_in_at: isoOrNull(r.checked_in_at),
      responded_at: isoOrNull(r.responded_at)!,
    }));
  });
}

/** Organizer figures (docs/events.md, Stats). */
export interface EventStats {
  going: number;
  going_seats: number;
  capacity: number | null;
  waitlisted: number;
  pending: number;
  maybe: number;
  not_going: number;
  declined: number;
  checked_in: number;
  rsvp_rate: number | null;
  show_up_rate: number | null;
  waitlist_promotions: number;
  waitlist_conversion: number | null;
  timeline: { at: string; going: number; waitlisted: number }[];
}

/** At most this many timeline points. */
export const TIMELINE_POINTS = 1000;

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

/** The figures of one event for its organizers. */
export async function eventStats(db: Db, claims: Claims, eventId: string): Promise<EventStats> {
  return await asUser(db, claims, async (tx) => {
    const event = await requireOrganizer(tx, eventId, claims);
    const [c] = await tx.query<Record<string, number>>(
      `select count(*) filter (where state = 'not_going')::int as not_going,
         count(*) filter (where state = 'declined')::int as declined,
         count(*) filter (where state = 'going' and checked_in_at is not null)::int as checked_in,
         count(*)::int as answered
       from public.event_rsvps where event_id = $1`,
      [eventId],
    );
    const [w] = await tx.query<Record<string, number>>(
      `select count(*) filter (where from_state = 'waitlisted' and to_state = 'going')::int as promotions,
         count(distinct user_id) filter (where to_state = 'waitlisted')::int as ever_waitlisted
       from public.event_rsvp_log where event_id = $1`,
      [eventId],
    );
    // Going and waitlisted people after each change, thinned evenly to at most TIMELINE_POINTS.
    const timeline = await tx.query<{ at: unknown; going: number; waitlisted: number }>(
      `with steps as (
         select id, at,
           sum((to_state = 'going')::int - (from_state is not distinct from 'going')::int)
             over (order by id) as going,
           sum((to_state = 'waitlisted')::int - (from_state is not distinct from 'waitlisted')::int)
             over (order by id) as waitlisted,
           row_number() over (order by id) as n, count(*) over () as total
         from public.event_rsvp_log where event_id = $1 and from_state is distinct from to_state
       )
       select at, going::int, waitlisted::int from steps
       where n = total or (n - 1) % greatest(1, ceil(total::numeric / $2)::int) = 0
       order by id`,
      [eventId, TIMELINE_POINTS],
    );
    const { going, going_seats, waitlisted, pending, maybe } = event.counts;
    const yes = going + waitlisted + pending;
    return {
      going,
      going_seats,
      capacity: event.capacity,
      waitlisted,
      pending,
      maybe,
      not_going: Number(c.not_going),
      declined: Number(c.declined),
      checked_in: Number(c.checked_in),
      rsvp_rate: ratio(yes, Number(c.answered)),
      show_up_rate: ratio(Number(c.checked_in), going),
      waitlist_promotions: Number(w.promotions),
      waitlist_conversion: ratio(Number(w.promotions), Number(w.ever_waitlisted)),
      timeline: timeline.map((t) => ({
        at: isoOrNull(t.at)!,
        going: Number(t.going),
        waitlisted: Number(t.waitlisted),
      })),
    };
  });
}

/** Adds an organizer (organizers only); returns the organizers. */
export async function addOrganizer(db: Db, claims: Claims, eventId: string, userId: string) {
  return await asUser(db, claims, async (tx) => {
    const event = await requireOrganizer(tx, eventId, claims);
    const [exists] = await tx.query("select 1 from public.profiles where id = $1", [userId]);
    if (!exists) {
      throw new AppError(422, "validation_failed", "No such person.", [{
        path: "user_id",
        message: "Unknown.",
      }]);
    }
    await tx.query(
      "insert into public.event_organizers (series_id, user_id) values ($1, $2) on conflict do nothing",
      [event.series_id, userId],
    );
    const [row] = await tx.query<{ o: unknown }>("select public.event_organizers_json($1) as o", [eventId]);
    return row.o as { user_id: string; name: string }[];
  });
}

/** Removes an organizer; the last one cannot leave. */
export async function removeOrganizer(db: Db, claims: Claims, eventId: string, userId: string) {
  return await asUser(db, claims, async (tx) => {
    const event = await requireOrganizer(tx, eventId, claims);
    if (event.organizers.length <= 1 && event.organizers.some((o) => o.user_id === userId)) {
      throw new AppError(409, "last_organizer", "An event needs at least one organizer.");
    }
    await tx.query("delete from public.event_organizers where series_id = $1 and user_id = $2", [
      event.series_id,
      userId,
    ]);
    const [row] = await tx.query<{ o: unknown }>("select public.event_organizers_json($1) as o", [eventId]);
    return row.o as { user_id: string; name: string }[];
  });
}
