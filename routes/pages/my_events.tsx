/**
 * `/me/events`: the signed-in person's upcoming events by state (going, waitlisted with position,
 * pending approval) and the ones they organize (drafts too), plus their calendar feed link with a
 * form to create or replace it (`POST /me/calendar/rotate`).
 */
import { Hono } from "hono";
import { EventCard } from "@/components/EventCard.tsx";
import { feedUrl, rotateFeed } from "@/lib/events/calendar.ts";
import { myEvents } from "@/lib/events/events.ts";
import type { EventView } from "@/lib/events/views.ts";
import { baseUrl, eventRules, signInRedirect } from "../events_shared.ts";
import { rateLimit } from "../rate_limit.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireUser } from "../session.ts";

function Section(
  { title, id, events, empty, line }: {
    title: string;
    id: string;
    events: EventView[];
    empty: string;
    line?: (e: EventView) => string | null;
  },
) {
  return (
    <section class="card" aria-labelledby={id} data-testid={id}>
      <h2 id={id}>
        {title} <span class="badge">{events.length}</span>
      </h2>
      {events.length === 0 ? <p class="muted">{empty}</p> : (
        <ul class="event-list">
          {events.map((e) => {
            const text = line?.(e);
            return (
              <EventCard key={e.id} event={e}>
                {text && <p class="rsvp-state">{text}</p>}
              </EventCard>
            );
          })}
        </ul>
      )}
    </section>
  );
}

function Feed({ url }: { url: string | null }) {
  return (
    <section class="card" aria-labelledby="feed" data-testid="calendar-feed">
      <h2 id="feed">Calendar feed</h2>
      <p class="hint">
        Subscribe to this address in your calendar app to see everything you are going to. Keep it private:
        anyone with the link can read it.
      </p>
      {url && (
        <label class="field">
          Your feed address
          <input type="text" readOnly value={url} data-testid="feed-url" />
        </label>
      )}
      <form method="post" action="/me/calendar/rotate">
        <button type="submit" class={url ? "small secondary" : "small"}>
          {url ? "Make a new link (the old one stops working)" : "Create feed link"}
        </button>
      </form>
    </section>
  );
}

/** "My events" routes. */
export const myEventsPages = new Hono<AppEnv>()
  .get("/me/events", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const db = c.var.platform.db;
    const [mine, url] = await Promise.all([myEvents(db, claims), feedUrl(db, claims, baseUrl(c))]);
    return renderPage(
      c,
      <div class="stack my-events">
        <section class="card">
          <div class="row spread">
            <h1>My events</h1>
            <div class="row">
              <a href="/events">All events</a>
              <a href="/events/calendar">Calendar</a>
              <a class="button" href="/events/new">New event</a>
            </div>
          </div>
        </section>
        <Section
          title="Going"
          id="going"
          events={mine.going}
          empty="Nothing yet. Find something on the events page."
          line={(e) => {
            const g = e.my_rsvp?.guests ?? 0;
            return g ? `You're going with ${g} guest${g === 1 ? "" : "s"}` : "You're going";
          }}
        />
        <Section
          title="Waitlisted"
          id="waitlisted"
          events={mine.waitlisted}
          empty="You are on no waitlist."
          line={(e) => `You're #${e.my_rsvp?.position ?? "?"} on the waitlist`}
        />
        <Section
          title="Pending approval"
          id="pending"
          events={mine.pending}
          empty="No requests waiting for an organizer."
          line={() => "Waiting for approval"}
        />
        <Section
          title="Organizing"
          id="organizing"
          events={mine.organizing}
          empty="You organize no upcoming events."
        />
        <Feed url={url} />
      </div>,
      { title: "My events" },
    );
  })
  .post("/me/calendar/rotate", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const { platform } = c.var;
    await rateLimit(c, eventRules.write, claims.sub);
    await rotateFeed(platform.db, claims, baseUrl(c));
    return c.redirect("/me/events", 303);
  });
