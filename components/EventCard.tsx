/** An event as a card in lists (the event list, "my events"): title, time, place, category, seats. */
import type { ComponentChildren } from "preact";
import { countsLabel, isFull } from "@/lib/client/event_counts.ts";
import type { EventView } from "@/lib/events/views.ts";
import { formatWhen } from "@/lib/events/zones.ts";

/** Category names as pages show them. */
export const CATEGORY_LABELS: Record<string, string> = {
  social: "Social",
  music: "Music",
  sports: "Sports",
  outdoors: "Outdoors",
  food: "Food",
  learning: "Learning",
  tech: "Tech",
  arts: "Arts",
  family: "Family",
  volunteering: "Volunteering",
  other: "Other",
};

/** "Sat 7 Mar 2026, 10:00–12:00 (Europe/Berlin)" for an event, in its own zone. */
export const eventWhen = (e: EventView) => formatWhen(new Date(e.starts_at), new Date(e.ends_at), e.timezone);

/** Where an event happens, in a few words. */
export function eventWhere(e: EventView): string {
  if (e.venue && e.online_url) return `${e.venue.name} and online`;
  return e.venue?.name ?? "Online";
}

/** One event card; `children` adds lines (the caller's state, organizer links). */
export function EventCard({ event: e, children }: { event: EventView; children?: ComponentChildren }) {
  return (
    <li class={e.cover ? "event-card has-cover" : "event-card"} data-testid="event-card">
      {e.cover && (
        <a href={`/events/${e.id}`} class="event-card-cover cover-ph" tabIndex={-1} aria-hidden="true">
          <img
            src={e.cover.thumb_url}
            alt=""
            width={e.cover.width ?? undefined}
            height={e.cover.height ?? undefined}
            loading="lazy"
            decoding="async"
            data-testid="event-card-cover"
          />
        </a>
      )}
      <h2>
        <a href={`/events/${e.id}`}>{e.title}</a>
      </h2>
      <p class="event-when">
        <time dateTime={e.starts_at}>{eventWhen(e)}</time>
      </p>
      <p class="event-where">
        {eventWhere(e)}
        {e.distance_km !== undefined && <span class="muted">· {e.distance_km} km away</span>}
      </p>
      <p class="event-meta">
        <span class="chip">{CATEGORY_LABELS[e.category] ?? e.category}</span>
        {e.status === "draft" && <span class="chip warn">Draft</span>}
        {e.status === "cancelled" && <span class="chip danger">Cancelled</span>}
        {e.status === "published" && isFull(e.counts) && <span class="chip warn">Full — waitlist</span>}
        {countsLabel(e.counts) !== "Full" && <span class="muted">{countsLabel(e.counts)}</span>}
      </p>
      {children}
    </li>
  );
}
