/**
 * Member-facing event pages (docs/events.md, Pages): `/events` (the list with filters as a plain GET
 * form), `/events/:id` (the event with the RSVP panel island, calendar links, organizer links and
 * invitations), and the no-JavaScript form handlers `POST /events/:id/rsvp` and
 * `POST /events/:id/invite`. GET never changes state: an invitation link only offers a button.
 */
import { Hono } from "hono";
import { z } from "zod";
import { CATEGORY_LABELS, EventCard, eventWhen } from "@/components/EventCard.tsx";
import { RsvpPanel } from "@/components/islands.ts";
import { googleLink } from "@/lib/events/calendar.ts";
import { acceptInvite, getEvent, listEvents } from "@/lib/events/events.ts";
import { describeRule } from "@/lib/events/recurrence.ts";
import { rsvp } from "@/lib/events/rsvps.ts";
import { CATEGORIES, type EventView } from "@/lib/events/views.ts";
import { AppError, notFound } from "@/lib/errors.ts";
import { renderMarkdown } from "@/lib/markdown.ts";
import { baseUrl, eventParam, eventRules, flushEvents } from "../events_shared.ts";
import { rateLimit } from "../rate_limit.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { clientConfig } from "../realtime.ts";
import { renderPage } from "../render.tsx";
import { requireUser } from "../session.ts";
import { readForm, readQuery } from "../validate.ts";

/** Empty form fields count as not given. */
const blank = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blank, schema.optional());
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-03-07.")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), "Not a date.");

const listQuery = z.object({
  q: optional(z.string().trim().max(200)),
  category: optional(z.enum(CATEGORIES)),
  from: optional(day),
  to: optional(day),
  lat: optional(z.coerce.number().min(-90).max(90)),
  lng: optional(z.coerce.number().min(-180).max(180)),
  radius: optional(z.coerce.number().positive().max(20000)),
  cursor: optional(z.string().max(200)),
});
type ListQuery = z.output<typeof listQuery>;

const rsvpForm = z.object({
  status: z.enum(["going", "maybe", "not_going"]),
  guests: optional(z.coerce.number().int().min(0).max(10)),
});
const inviteForm = z.object({ token: z.string().min(8).max(100) });

const nextDay = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000);

/** The list URL with the same filters and another cursor. */
function listUrl(q: ListQuery, cursor: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== "cursor") params.set(k, String(v));
  params.set("cursor", cursor);
  return `/events?${params}`;
}

function Filters({ q }: { q: ListQuery }) {
  return (
    <form method="get" action="/events" class="event-filters" role="search" data-testid="event-filters">
      <label class="field grow">
        Search
        <input type="search" name="q" value={q.q ?? ""} placeholder="Board games, concert, run…" />
      </label>
      <label class="field">
        Category
        <select name="category">
          <option value="">All</option>
          {CATEGORIES.map((cat) => (
            <option key={cat} value={cat} selected={cat === q.category}>{CATEGORY_LABELS[cat]}</option>
          ))}
        </select>
      </label>
      <label class="field">
        From
        <input type="date" name="from" value={q.from ?? ""} />
      </label>
      <label class="field">
        To
        <input type="date" name="to" value={q.to ?? ""} />
      </label>
      <fieldset class="near">
        <legend>Near</legend>
        <label class="field">
          Latitude
          <input type="number" name="lat" step="any" min={-90} max={90} value={q.lat ?? ""} />
        </label>
        <label class="field">
          Longitude
          <input type="number" name="lng" step="any" min={-180} max={180} value={q.lng ?? ""} />
        </label>
        <label class="field">
          Within km
          <input type="number" name="radius" step="any" min={1} max={20000} value={q.radius ?? 25} />
        </label>
      </fieldset>
      <div class="row">
        <button type="submit">Find events</button>
        <a href="/events">Clear</a>
      </div>
    </form>
  );
}

function StatusBanner({ event }: { event: EventView }) {
  if (event.status === "draft") {
    return (
      <p class="event-banner draft" role="status">
        Draft: only the organizers can see this event until it is published.
      </p>
    );
  }
  if (event.status === "cancelled") {
    return <p class="event-banner cancelled" role="status">This event was cancelled.</p>;
  }
  return null;
}

function repeats(rule: string | null): string | null {
  if (!rule) return null;
  try {
    return describeRule(rule);
  } catch {
    return null;
  }
}

function EventPage({ c, event: e }: { c: Ctx; event: EventView }) {
  const base = baseUrl(c);
  const signedIn = !!c.var.claims;
  const rule = repeats(e.recurrence);
  const osm = e.venue?.lat != null && e.venue.lng != null
    ? `https://www.openstreetmap.org/?mlat=${e.venue.lat}&mlon=${e.venue.lng}#map=17/${e.venue.lat}/${e.venue.lng}`
    : null;
  return (
    <article class="event-page" data-testid="event-page">
      {e.cover && (
        <figure class="event-cover cover-ph">
          <img
            src={e.cover.url}
            alt=""
            width={e.cover.width ?? undefined}
            height={e.cover.height ?? undefined}
            decoding="async"
            fetchpriority="high"
            data-testid="event-cover"
          />
        </figure>
      )}
      <div class="card event-main">
        <StatusBanner event={e} />
        <p class="event-meta">
          <span class="chip">{CATEGORY_LABELS[e.category] ?? e.category}</span>
          {e.visibility === "members" && <span class="chip">Members only</span>}
          {e.visibility === "invite" && <span class="chip">Invite only</span>}
          {e.requires_approval && <span class="chip">Needs approval</span>}
        </p>
        <h1>{e.title}</h1>
        <dl class="event-facts">
          <dt>When</dt>
          <dd>
            <time dateTime={e.starts_at}>{eventWhen(e)}</time>
            {rule && <span class="hint">Repeats {rule}</span>}
          </dd>
          {e.venue && (
            <>
              <dt>Where</dt>
              <dd>
                <strong>{e.venue.name}</strong>
                {e.venue.address && <span>{e.venue.address}</span>}
                {osm && <a href={osm} rel="noopener noreferrer" target="_blank">Show on OpenStreetMap</a>}
              </dd>
            </>
          )}
          {e.online_url && (
            <>
              <dt>Online</dt>
              <dd>
                <a href={e.online_url} rel="nofollow noopener noreferrer" target="_blank">{e.online_url}</a>
              </dd>
            </>
          )}
          <dt>Organizers</dt>
          <dd>{e.organizers.map((o) => o.name).join(", ") || "—"}</dd>
        </dl>
        {e.description && (
          <div
            class="event-description"
            data-testid="event-description"
            // renderMarkdown escapes all text and only emits its own tags and safe links.
            dangerouslySetInnerHTML={{ __html: renderMarkdown(e.description) }}
          />
        )}
      </div>
      <aside class="event-side">
        <section class="card">
          <RsvpPanel
            {...clientConfig(c, c.var.platform)}
            eventId={e.id}
            status={e.status}
            capacity={e.capacity}
            counts={e.counts}
            myRsvp={e.my_rsvp}
            signedIn={signedIn}
            public={e.visibility === "public"}
            ended={Date.parse(e.ends_at) <= Date.now()}
          />
          {e.counts.maybe > 0 && <p class="hint">{e.counts.maybe} maybe</p>}
        </section>
        <section class="card event-links">
          <h2>Calendar</h2>
          <ul>
            <li>
              <a href={`/events/${e.id}.ics`} download>Download .ics</a>
            </li>
            <li>
              <a href={googleLink(e, base)} rel="noopener noreferrer" target="_blank">
                Add to Google Calendar
              </a>
            </li>
            {e.my_rsvp?.state === "going" && (
              <li>
                <a href={`/events/${e.id}/ticket`}>Your ticket</a>
              </li>
            )}
          </ul>
        </section>
        {e.can_edit && (
          <section class="card event-links" data-testid="organizer-tools">
            <h2>Organizer</h2>
            <ul>
              <li>
                <a href={`/events/${e.id}/edit`}>Edit</a>
              </li>
              <li>
                <a href={`/events/${e.id}/dashboard`}>Dashboard</a>
              </li>
              <li>
                <a href={`/events/${e.id}/checkin`}>Check-in</a>
              </li>
            </ul>
            {e.invite_token && (
              <label class="field">
                Invitation link
                <input
                  type="text"
                  readOnly
                  value={`${base}/events/${e.id}?invite=${e.invite_token}`}
                  data-testid="invite-link"
                />
                <span class="hint">Anyone signed in who opens this link can see the event and RSVP.</span>
              </label>
            )}
          </section>
        )}
      </aside>
    </article>
  );
}

function InvitationPage({ id, token }: { id: string; token: string }) {
  return (
    <section class="card narrow" data-testid="invitation">
      <h1>You're invited</h1>
      <p>Someone shared an invitation to an invite-only event with you.</p>
      <form method="post" action={`/events/${id}/invite`}>
        <input type="hidden" name="token" value={token} />
        <button type="submit">Accept invitation</button>
      </form>
    </section>
  );
}

/** Event list and event page routes, with their form handlers. */
export const eventPages = new Hono<AppEnv>()
  .get("/events", async (c) => {
    const q = readQuery(c, listQuery);
    const from = q.from ? new Date(Math.max(Date.parse(`${q.from}T00:00:00Z`), Date.now())) : new Date();
    const near = q.lat !== undefined && q.lng !== undefined
      ? { lat: q.lat, lng: q.lng, radiusKm: q.radius ?? 25 }
      : null;
    const page = await listEvents(c.var.platform.db, c.var.claims, {
      from,
      to: q.to ? nextDay(q.to) : null,
      category: q.category ?? null,
      q: q.q || null,
      near,
      cursor: q.cursor ?? null,
      limit: 20,
    });
    const signedIn = !!c.var.claims;
    return renderPage(
      c,
      <>
        <section class="card">
          <div class="row spread">
            <h1>Events</h1>
            <div class="row">
              <a href="/events/calendar">Calendar</a>
              {signedIn && <a href="/me/events">My events</a>}
              {signedIn && <a class="button" href="/events/new">New event</a>}
            </div>
          </div>
          <Filters q={q} />
        </section>
        <section aria-label="Results">
          {page.events.length === 0
            ? <p class="card muted">No events match. Try other filters or dates.</p>
            : (
              <ul class="event-list" data-testid="event-list">
                {page.events.map((e) => <EventCard key={e.id} event={e} />)}
              </ul>
            )}
          {page.next_cursor && (
            <p class="pager">
              <a class="button" href={listUrl(q, page.next_cursor)} rel="next">Next page</a>
            </p>
          )}
        </section>
      </>,
      { title: "Events" },
    );
  })
  .get("/events/:id", async (c) => {
    const id = eventParam(c);
    const invite = c.req.query("invite");
    let event: EventView;
    try {
      event = await getEvent(c.var.platform.db, c.var.claims, id);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 404 || !invite) throw err;
      if (!c.var.claims) {
        const next = `/events/${id}?invite=${encodeURIComponent(invite)}`;
        return c.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
      }
      return renderPage(c, <InvitationPage id={id} token={invite} />, { title: "Invitation" });
    }
    return renderPage(c, <EventPage c={c} event={event} />, { title: event.title });
  })
  .post("/events/:id/rsvp", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = await readForm(c, rsvpForm);
    const { platform } = c.var;
    await rateLimit(c, eventRules.rsvp, claims.sub);
    await rsvp(platform.db, claims, id, body.status, body.guests);
    await flushEvents(c);
    return c.redirect(`/events/${id}`, 303);
  })
  .post("/events/:id/invite", async (c) => {
    const claims = requireUser(c);
    const id = eventParam(c);
    const body = await readForm(c, inviteForm);
    await rateLimit(c, eventRules.write, claims.sub);
    if (!await acceptInvite(c.var.platform.db, claims, id, body.token)) {
      throw notFound("This invitation link is not valid (any more).");
    }
    return c.redirect(`/events/${id}`, 303);
  });
