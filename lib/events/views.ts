/** What the events API returns (docs/events.md), and the SQL columns and row mapping behind it. */
import { isoOrNull } from "../dates.ts";

/** Event categories, in the order pages offer them. */
export const CATEGORIES = [
  "social",
  "music",
  "sports",
  "outdoors",
  "food",
  "learning",
  "tech",
  "arts",
  "family",
  "volunteering",
  "other",
] as const;
/** An event category. */
export type EventCategory = typeof CATEGORIES[number];
/** Who an event is for. */
export type Visibility = "public" | "members" | "invite";
/** An event's lifecycle. */
export type EventStatus = "draft" | "published" | "cancelled";
/** A person's RSVP state. */
export type RsvpState = "going" | "waitlisted" | "pending" | "maybe" | "not_going" | "declined";

/** A place. */
export interface Venue {
  name: string;
  address: string;
  lat: number | null;
  lng: number | null;
}

/** Live figures, as on the `event:<id>` topic. */
export interface EventCounts {
  going: number;
  going_seats: number;
  waitlisted: number;
  pending: number;
  maybe: number;
  capacity_left: number | null;
}

/** The caller's RSVP. */
export interface MyRsvp {
  state: RsvpState;
  guests: number;
  position: number | null;
  ticket_code: string | null;
  checked_in_at: string | null;
}

/** An organizer. */
export interface Organizer {
  user_id: string;
  name: string;
}

/** One event (occurrence) as the API shows it. */
export interface EventView {
  id: string;
  series_id: string;
  occurrence: number;
  title: string;
  description: string;
  category: EventCategory;
  starts_at: string;
  ends_at: string;
  timezone: string;
  venue: Venue | null;
  online_url: string | null;
  capacity: number | null;
  visibility: Visibility;
  requires_approval: boolean;
  status: EventStatus;
  recurrence: string | null;
  /** The cover image (docs/media.md), or null. */
  cover: EventCover | null;
  sequence: number;
  counts: EventCounts;
  organizers: Organizer[];
  my_rsvp: MyRsvp | null;
  can_edit: boolean;
  invite_token?: string;
  distance_km?: number;
  created_at: string;
  updated_at: string;
}

/** The columns {@link toEventView} reads, from `public.events e` (and `event_series s`). */
export const EVENT_COLUMNS =
  `e.id, e.series_id, e.occurrence, e.title, e.description, e.category, e.starts_at,
  e.ends_at, e.timezone, e.venue_name, e.venue_address, e.lat, e.lng, e.online_url, e.capacity, e.visibility,
  e.requires_approval, e.status, e.going_seats, e.going_count, e.waitlist_count, e.pending_count,
  e.maybe_count, e.sequence, e.created_at, e.updated_at,
  (select rrule from public.event_series s where s.id = e.series_id) as rrule,
  public.event_cover_json(e.id, e.cover_media_id) as cover`;

/** An event's cover image, served through the event: whoever may see the event may see it. */
export interface EventCover {
  id: string;
  color: string | null;
  width: number | null;
  height: number | null;
  /** The 1280 px variant. */
  url: string;
  thumb_url: string;
}

function toCover(eventId: string, c: Omit<EventCover, "url" | "thumb_url"> | null): EventCover | null {
  if (!c) return null;
  return {
    ...c,
    url: `/media/${c.id}/medium?event=${eventId}`,
    thumb_url: `/media/${c.id}/thumb?event=${eventId}`,
  };
}

/** Row -> view; organizers, the caller's RSVP and edit rights are filled in by the caller. */
export function toEventView(r: Record<string, unknown>): EventView {
  const capacity = r.capacity === null || r.capacity === undefined ? null : Number(r.capacity);
  const goingSeats = Number(r.going_seats);
  return {
    id: r.id as string,
    series_id: r.series_id as string,
    occurrence: Number(r.occurrence),
    title: r.title as string,
    description: r.description as string,
    category: r.category as EventCategory,
    starts_at: isoOrNull(r.starts_at)!,
    ends_at: isoOrNull(r.ends_at)!,
    timezone: r.timezone as string,
    venue: r.venue_name
      ? {
        name: r.venue_name as string,
        address: (r.venue_address as string | null) ?? "",
        lat: r.lat === null ? null : Number(r.lat),
        lng: r.lng === null ? null : Number(r.lng),
      }
      : null,
    online_url: (r.online_url as string | null) ?? null,
    capacity,
    visibility: r.visibility as Visibility,
    requires_approval: r.requires_approval as boolean,
    status: r.status as EventStatus,
    recurrence: (r.rrule as string | null) ?? null,
    cover: toCover(r.id as string, r.cover as Omit<EventCover, "url" | "thumb_url"> | null),
    sequence: Number(r.sequence),
    counts: {
      going: Number(r.going_count),
      going_seats: goingSeats,
      waitlisted: Number(r.waitlist_count),
      pending: Number(r.pending_count),
      maybe: Number(r.maybe_count),
      capacity_left: capacity === null ? null : Math.max(capacity - goingSeats, 0),
    },
    organizers: [],
    my_rsvp: null,
    can_edit: false,
    ...(r.distance_km !== undefined && r.distance_km !== null
      ? { distance_km: Math.round(Number(r.distance_km) * 100) / 100 }
      : {}),
    created_at: isoOrNull(r.created_at)!,
    updated_at: isoOrNull(r.updated_at)!,
  };
}

/** The caller's RSVP from `event_rsvp_json`. */
export function toMyRsvp(j: Record<string, unknown>): MyRsvp {
  return {
    state: j.state as RsvpState,
    guests: Number(j.guests ?? 0),
    position: j.position === null || j.position === undefined ? null : Number(j.position),
    ticket_code: (j.ticket_code as string | null) ?? null,
    checked_in_at: (j.checked_in_at as string | null) ?? null,
  };
}
