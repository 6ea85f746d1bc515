/**
 * Ticket and organizer pages: `/events/:id/ticket` (the caller's code as text and QR code),
 * `/events/:id/checkin` (typed check-in that works without JavaScript, plus the camera scanner
 * island) and `/events/:id/dashboard` (figures, the RSVP chart, attendees with approve / decline).
 */
import { Hono } from "hono";
import QRCode from "qrcode";
import { z } from "zod";
import { CheckinScanner, RsvpChart } from "@/components/islands.ts";
import { getEvent } from "@/lib/events/events.ts";
import {
  type Attendee,
  checkIn,
  decide,
  type EventStats,
  eventStats,
  formatTicketCode,
  listAttendees,
  normalizeTicketCode,
} from "@/lib/events/rsvps.ts";
import type { EventView, RsvpState } from "@/lib/events/views.ts";
import { formatInZone, formatWhen } from "@/lib/events/zones.ts";
import { AppError } from "@/lib/errors.ts";
import {
  eventParam,
  eventRules,
  flushEvents,
  organizerEvent,
  signInRedirect,
  userParam,
} from "../events_shared.ts";
import { rateLimit } from "../rate_limit.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireUser } from "../session.ts";
import { readForm, readQuery } from "../validate.ts";

const STATES = ["going", "waitlisted", "pending", "maybe", "not_going", "declined"] as const;
const STATE_LABELS: Record<RsvpState, string> = {
  going: "Going",
  waitlisted: "Waitlisted",
  pending: "Pending approval",
  maybe: "Maybe",
  not_going: "Not going",
  declined: "Declined",
};

const when = (e: EventView) => formatWhen(new Date(e.starts_at), new Date(e.ends_at), e.timezone);
const at = (iso: string, tz: string) => formatInZone(new Date(iso), tz);
const percent = (r: number | null) => (r === null ? "–" : `${Math.round(r * 100)} %`);

function Crumbs({ event }: { event: EventView }) {
  return (
    <p class="org-crumbs">
      <a href={`/events/${event.id}`}>← {event.title}</a>
    </p>
  );
}

/** The organizer pages' tabs. */
function OrganizerNav({ event, current }: { event: EventView; current: "checkin" | "dashboard" }) {
  const link = (path: string, label: string, key: string) => (
    <a href={`/events/${event.id}${path}`} aria-current={key === current ? "page" : undefined}>{label}</a>
  );
  return (
    <nav class="org-nav" aria-label="Organizer">
      {link("/dashboard", "Dashboard", "dashboard")}
      {link("/checkin", "Check-in", "checkin")}
      {link("/edit", "Edit", "edit")}
    </nav>
  );
}

function Place({ event }: { event: EventView }) {
  return (
    <>
      {event.venue && (
        <p>
          {event.venue.name}
          {event.venue.address && <span class="muted">, {event.venue.address}</span>}
        </p>
      )}
      {event.online_url && (
        <p>
          Online: <a href={event.online_url} rel="noopener noreferrer">{event.online_url}</a>
        </p>
      )}
    </>
  );
}

// ---------------------------------------------------------------- ticket

/** The QR code of a ticket code, as an SVG element (qrcode's own output: paths only). */
async function qrSvg(code: string): Promise<string> {
  return await QRCode.toString(code, { type: "svg", margin: 1, errorCorrectionLevel: "M" });
}

// ---------------------------------------------------------------- check-in

interface CheckinOutcome {
  kind: "ok" | "warn" | "error";
  title: string;
  detail?: string;
}

async function CheckinPage(
  { c, event, outcome, code }: { c: Ctx; event: EventView; outcome?: CheckinOutcome; code?: string },
) {
  const claims = requireUser(c);
  const db = c.var.platform.db;
  const stats = await eventStats(db, claims, event.id);
  const going = await listAttendees(db, claims, event.id, "going");
  const recent = going.filter((a) => a.checked_in_at)
    .sort((a, b) => b.checked_in_at!.localeCompare(a.checked_in_at!)).slice(0, 5);
  return (
    <section class="card org-page">
      <Crumbs event={event} />
      <h1>Check-in</h1>
      <p class="muted">{when(event)}</p>
      <OrganizerNav event={event} current="checkin" />
      <p class="checkin-count" data-testid="checkin-count">
        Checked in <strong>{stats.checked_in}</strong> of <strong>{stats.going}</strong> going
        {stats.going_seats > stats.going && <span class="muted">({stats.going_seats} seats with guests)
        </span>}
      </p>
      {outcome && (
        <div class={`checkin-result scan-${outcome.kind}`} role={outcome.kind === "ok" ? "status" : "alert"}>
          <strong>{outcome.title}</strong>
          {outcome.detail && <span>{outcome.detail}</span>}
        </div>
      )}
      <form method="post" action={`/events/${event.id}/checkin`} class="checkin-form">
        <label class="field" for="checkin-code">
          Ticket code
          <input
            id="checkin-code"
            name="code"
            value={outcome?.kind === "ok" ? "" : code ?? ""}
            autocomplete="off"
            autocapitalize="characters"
            spellcheck={false}
            required
            maxLength={40}
            placeholder="ABCD-EFGH-JKLM"
            autofocus
          />
          <span class="hint">Case, spaces and dashes do not matter.</span>
        </label>
        <button type="submit">Check in</button>
      </form>
      <CheckinScanner eventId={event.id} />
      {recent.length > 0 && (
        <>
          <h2>Recently checked in</h2>
          <ul class="org-list">
            {recent.map((a) => (
              <li key={a.user_id}>
                <strong>{a.name}</strong>
                {a.guests > 0 && ` +${a.guests}`}{" "}
                <span class="muted">{formatInZone(new Date(a.checked_in_at!), event.timezone, "time")}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function outcomeOf(err: AppError, tz: string): CheckinOutcome {
  const details = err.details as { checked_in_at?: string } | undefined;
  if (err.code === "already_checked_in") {
    return {
      kind: "warn",
      title: "Already checked in",
      detail: details?.checked_in_at ? `at ${at(details.checked_in_at, tz)}` : undefined,
    };
  }
  if (err.code === "unknown_code") return { kind: "error", title: "Unknown code", detail: err.message };
  return { kind: err.status === 409 ? "warn" : "error", title: err.message };
}

// ---------------------------------------------------------------- dashboard

function Figures({ stats }: { stats: EventStats }) {
  const figure = (label: string, value: string | number, sub?: string) => (
    <div>
      <dt>{label}</dt>
      <dd>
        {value}
        {sub && <span class="figure-sub">{sub}</span>}
      </dd>
    </div>
  );
  return (
    <dl class="stats org-figures" data-testid="figures">
      {figure(
        "Going",
        stats.going,
        stats.capacity === null
          ? `${stats.going_seats} seats, no limit`
          : `${stats.going_seats} of ${stats.capacity} seats`,
      )}
      {figure("Checked in", stats.checked_in, `show-up rate ${percent(stats.show_up_rate)}`)}
      {figure("RSVP rate", percent(stats.rsvp_rate), "said yes of everyone who answered")}
      {figure("Waitlisted", stats.waitlisted)}
      {figure(
        "Promoted from waitlist",
        stats.waitlist_promotions,
        `conversion ${percent(stats.waitlist_conversion)}`,
      )}
      {figure("Pending approval", stats.pending)}
      {figure("Maybe", stats.maybe)}
      {figure("Not going", stats.not_going)}
    </dl>
  );
}

function AttendeeTable(
  { event, attendees, state }: { event: EventView; attendees: Attendee[]; state?: RsvpState },
) {
  const back = state ? `?state=${state}` : "";
  return (
    <div class="table-wrap org-table">
      <table class="attendees" data-testid="attendees">
        <caption class="sr-only">People who answered</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">Guests</th>
            <th scope="col">Waitlist</th>
            <th scope="col">Checked in</th>
            <th scope="col" aria-label="Actions"></th>
          </tr>
        </thead>
        <tbody>
          {attendees.map((a) => (
            <tr key={a.user_id}>
              <th scope="row">{a.name}</th>
              <td>
                <span class={`rsvp-state rsvp-state-${a.state}`}>{STATE_LABELS[a.state]}</span>
              </td>
              <td>{a.guests || ""}</td>
              <td>{a.position ?? ""}</td>
              <td>
                {a.checked_in_at && (
                  <time
                    dateTime={a.checked_in_at}
                    title={formatInZone(new Date(a.checked_in_at), event.timezone)}
                  >
                    {formatInZone(new Date(a.checked_in_at), event.timezone, "time")}
                  </time>
                )}
              </td>
              <td class="actions">
                {a.state === "pending" && (
                  <>
                    <form method="post" action={`/events/${event.id}/attendees/${a.user_id}/approve${back}`}>
                      <button type="submit" class="small" aria-label={`Approve ${a.name}`}>Approve</button>
                    </form>
                    <form method="post" action={`/events/${event.id}/attendees/${a.user_id}/decline${back}`}>
                      <button type="submit" class="small danger" aria-label={`Decline ${a.name}`}>
                        Decline
                      </button>
                    </form>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const stateQuery = z.object({ state: z.enum(STATES).optional().catch(undefined) });

/** `/events/:id/ticket`, `/events/:id/checkin`, `/events/:id/dashboard` and the approval forms. */
export const eventOrganizerPages = new Hono<AppEnv>()
  .get("/events/:id/ticket", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const event = await getEvent(c.var.platform.db, requireUser(c), eventParam(c));
    const rsvp = event.my_rsvp;
    if (rsvp?.state !== "going" || !rsvp.ticket_code) {
      return renderPage(
        c,
        <section class="card narrow">
          <Crumbs event={event} />
          <h1>No ticket</h1>
          <p>
            You have no ticket for <strong>{event.title}</strong>: tickets are for people who are going.
          </p>
          <a class="button" href={`/events/${event.id}`}>See the event</a>
        </section>,
        { title: "No ticket" },
      );
    }
    const code = normalizeTicketCode(rsvp.ticket_code);
    const svg = await qrSvg(code);
    return renderPage(
      c,
      <section class="card narrow ticket" data-testid="ticket">
        <Crumbs event={event} />
        <h1>{event.title}</h1>
        <p>{when(event)}</p>
        <Place event={event} />
        {event.status === "cancelled" && <p class="alert" role="alert">This event was cancelled.</p>}
        <div
          class="ticket-qr"
          role="img"
          aria-label="QR code of your ticket"
          dangerouslySetInnerHTML={{ __html: svg }}
        />
        <p class="ticket-code" data-testid="ticket-code">{formatTicketCode(code)}</p>
        <p class="ticket-who">
          {rsvp.guests > 0 ? `You and ${rsvp.guests} guest${rsvp.guests > 1 ? "s" : ""}` : "One person"}
        </p>
        {rsvp.checked_in_at
          ? (
            <p class="notice" role="status">
              Checked in at {at(rsvp.checked_in_at, event.timezone)}.
            </p>
          )
          : <p class="hint">Show this code or the QR code at the entrance.</p>}
      </section>,
      { title: `Ticket: ${event.title}` },
    );
  })
  .get("/events/:id/checkin", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const event = await organizerEvent(c, eventParam(c));
    return renderPage(c, await CheckinPage({ c, event }), { title: `Check-in: ${event.title}` });
  })
  .post("/events/:id/checkin", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const event = await organizerEvent(c, eventParam(c));
    const { code } = await readForm(c, z.object({ code: z.string().default("") }));
    let outcome: CheckinOutcome;
    let status = 200;
    if (normalizeTicketCode(code).length < 4) {
      outcome = { kind: "error", title: "Type the ticket code", detail: "At least 4 characters." };
      status = 422;
    } else {
      try {
        await rateLimit(c, eventRules.checkIn, claims.sub);
        const r = await checkIn(c.var.platform.db, claims, event.id, code);
        outcome = {
          kind: "ok",
          title: `Checked in: ${r.name}`,
          detail: r.guests > 0 ? `with ${r.guests} guest${r.guests > 1 ? "s" : ""}` : undefined,
        };
      } catch (err) {
        if (!(err instanceof AppError) || (err.status !== 404 && err.status !== 409)) throw err;
        outcome = outcomeOf(err, event.timezone);
        status = err.status;
      }
    }
    const page = await CheckinPage({ c, event, outcome, code });
    return renderPage(c, page, { title: `Check-in: ${event.title}`, status });
  })
  .get("/events/:id/dashboard", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const event = await organizerEvent(c, eventParam(c));
    const { state } = readQuery(c, stateQuery);
    const db = c.var.platform.db;
    const [stats, attendees] = [
      await eventStats(db, claims, event.id),
      await listAttendees(db, claims, event.id, state ?? null),
    ];
    return renderPage(
      c,
      <section class="card org-page">
        <Crumbs event={event} />
        <h1>{event.title}</h1>
        <p class="muted">{when(event)}</p>
        <OrganizerNav event={event} current="dashboard" />
        {event.status !== "published" && (
          <p class="notice" role="status">
            {event.status === "draft"
              ? "This event is a draft: only organizers see it."
              : "This event was cancelled."}
          </p>
        )}
        <Figures stats={stats} />
        <RsvpChart timeline={stats.timeline} timezone={event.timezone} />
        <div class="row spread">
          <h2>People</h2>
          <form method="get" action={`/events/${event.id}/dashboard`} class="row tight">
            <label class="sr-only" for="state-filter">Show</label>
            <select id="state-filter" name="state">
              <option value="">Everyone</option>
              {STATES.map((s) => <option key={s} value={s} selected={s === state}>{STATE_LABELS[s]}</option>)}
            </select>
            <button type="submit" class="small">Filter</button>
          </form>
        </div>
        {attendees.length === 0
          ? <p class="muted">{state ? `Nobody is “${STATE_LABELS[state]}”.` : "Nobody has answered yet."}</p>
          : <AttendeeTable event={event} attendees={attendees} state={state} />}
      </section>,
      { title: `Dashboard: ${event.title}` },
    );
  })
  .post("/events/:id/attendees/:userId/:decision{approve|decline}", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const id = eventParam(c);
    const userId = userParam(c);
    const { state } = readQuery(c, stateQuery);
    await rateLimit(c, eventRules.write, claims.sub);
    await decide(c.var.platform.db, claims, id, userId, c.req.param("decision") === "approve");
    await flushEvents(c);
    return c.redirect(`/events/${id}/dashboard${state ? `?state=${state}` : ""}`, 303);
  });
