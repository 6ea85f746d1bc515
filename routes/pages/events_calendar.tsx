/**
 * `/events/calendar?view=month|week|day&date=YYYY-MM-DD&tz=<IANA>`: published events on a month grid
 * (weeks start on Monday), in week columns or as a day list, in the chosen time zone (UTC by
 * default). Plain links for previous / today / next and the views; no JavaScript.
 */
import { Hono } from "hono";
import { z } from "zod";
import { listEvents } from "@/lib/events/events.ts";
import type { EventView } from "@/lib/events/views.ts";
import { formatInZone, isTimeZone, TIME_ZONES, wallClock, zonedToInstant } from "@/lib/events/zones.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { readQuery } from "../validate.ts";

type View = "month" | "week" | "day";

/** A calendar date; month is 1-12. */
interface Day {
  year: number;
  month: number;
  day: number;
}

const MAX_EVENTS = 500;
const PAGE = 100;
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const query = z.object({
  view: z.enum(["month", "week", "day"]).default("month"),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-03-07.")
    .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), "Not a date.").optional(),
  tz: z.string().max(64).refine(isTimeZone, "Unknown time zone.").default("UTC"),
});

// Calendar arithmetic on dates alone, through UTC midnights (no zone involved).
const toUtc = (d: Day) => Date.UTC(d.year, d.month - 1, d.day);
const fromUtc = (ms: number): Day => {
  const t = new Date(ms);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
};
const addDays = (d: Day, n: number) => fromUtc(toUtc(d) + n * 86_400_000);
const addMonths = (d: Day, n: number): Day => {
  const t = new Date(Date.UTC(d.year, d.month - 1 + n, 1));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: 1 };
};
/** 0 = Monday … 6 = Sunday. */
const weekday = (d: Day) => (new Date(toUtc(d)).getUTCDay() + 6) % 7;
const iso = (d: Day) =>
  `${String(d.year).padStart(4, "0")}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
const parseDay = (s: string): Day => fromUtc(Date.parse(`${s}T00:00:00Z`));
const sameDay = (a: Day, b: Day) => a.year === b.year && a.month === b.month && a.day === b.day;
/** The instant the day starts in `tz`. */
const dayStart = (d: Day, tz: string) => zonedToInstant({ ...d, hour: 0, minute: 0 }, tz);

/** The days a view shows (whole weeks for a month). */
function visibleDays(view: View, date: Day): Day[] {
  let first: Day, count: number;
  if (view === "day") {
    first = date;
    count = 1;
  } else if (view === "week") {
    first = addDays(date, -weekday(date));
    count = 7;
  } else {
    const start = { ...date, day: 1 };
    first = addDays(start, -weekday(start));
    const last = addDays(addMonths(start, 1), -1);
    const end = addDays(last, 6 - weekday(last));
    count = Math.round((toUtc(end) - toUtc(first)) / 86_400_000) + 1;
  }
  return Array.from({ length: count }, (_, i) => addDays(first, i));
}

function shift(view: View, date: Day, direction: 1 | -1): Day {
  if (view === "month") return addMonths(date, direction);
  return addDays(date, direction * (view === "week" ? 7 : 1));
}

function title(view: View, date: Day, days: Day[]): string {
  if (view === "month") return `${MONTHS[date.month - 1]} ${date.year}`;
  if (view === "day") return formatInZone(new Date(toUtc(date) + 12 * 3600_000), "UTC", "date");
  const a = days[0], b = days[days.length - 1];
  const left = a.year === b.year ? `${a.day} ${MONTHS[a.month - 1].slice(0, 3)}` : iso(a);
  return `${left} – ${b.day} ${MONTHS[b.month - 1].slice(0, 3)} ${b.year}`;
}

/** Published events overlapping [from, to), following cursors up to {@link MAX_EVENTS}. */
async function eventsBetween(
  db: Parameters<typeof listEvents>[0],
  claims: Parameters<typeof listEvents>[1],
  from: Date,
  to: Date,
): Promise<EventView[]> {
  const out: EventView[] = [];
  let cursor: string | null = null;
  do {
    const page = await listEvents(db, claims, {
      from,
      to,
      category: null,
      q: null,
      near: null,
      cursor,
      limit: PAGE,
    });
    out.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor && out.length < MAX_EVENTS);
  return out.slice(0, MAX_EVENTS);
}

interface Placed {
  event: EventView;
  /** Local start time, or "…" when it started on an earlier day. */
  time: string;
}

function CalEvent({ p }: { p: Placed }) {
  return (
    <li>
      <a class="cal-event" href={`/events/${p.event.id}`} data-testid="cal-event">
        <time dateTime={p.event.starts_at}>{p.time}</time> <span>{p.event.title}</span>
      </a>
    </li>
  );
}

function DayCell(
  { d, placed, today, outside, tz }: {
    d: Day;
    placed: Placed[];
    today: boolean;
    outside: boolean;
    tz: string;
  },
) {
  const cls = ["cal-day", outside && "outside", today && "today", placed.length === 0 && "empty"]
    .filter(Boolean).join(" ");
  return (
    <li class={cls} data-date={iso(d)}>
      <a
        class="cal-date"
        href={`/events/calendar?view=day&date=${iso(d)}&tz=${encodeURIComponent(tz)}`}
        aria-current={today ? "date" : undefined}
      >
        <span class="cal-wd mobile-only">{WEEKDAYS[weekday(d)]}</span> {d.day}
        <span class="sr-only">{MONTHS[d.month - 1]}</span>
      </a>
      {placed.length > 0 && (
        <ul class="cal-events">{placed.map((p) => <CalEvent key={p.event.id} p={p} />)}</ul>
      )}
    </li>
  );
}

/** The calendar page route. */
export const eventCalendarPages = new Hono<AppEnv>()
  .get("/events/calendar", async (c) => {
    const q = readQuery(c, query);
    const tz = q.tz;
    const now = wallClock(new Date(), tz);
    const today: Day = { year: now.year, month: now.month, day: now.day };
    const date = q.date ? parseDay(q.date) : today;
    const days = visibleDays(q.view, date);
    const starts = days.map((d) => dayStart(d, tz));
    const rangeEnd = dayStart(addDays(days[days.length - 1], 1), tz);
    const events = await eventsBetween(c.var.platform.db, c.var.claims, starts[0], rangeEnd);

    const placed = days.map((_d, i): Placed[] => {
      const from = starts[i].getTime(), to = (starts[i + 1] ?? rangeEnd).getTime();
      return events
        .filter((e) => Date.parse(e.starts_at) < to && Date.parse(e.ends_at) > from)
        .map((e) => ({
          event: e,
          time: Date.parse(e.starts_at) >= from ? formatInZone(new Date(e.starts_at), tz, "time") : "…",
        }));
    });

    const link = (view: View, d: Day) =>
      `/events/calendar?view=${view}&date=${iso(d)}&tz=${encodeURIComponent(tz)}`;
    const views: [View, string][] = [["month", "Month"], ["week", "Week"], ["day", "Day"]];
    const heading = title(q.view, date, days);

    return renderPage(
      c,
      <section class="card calendar" data-testid="calendar" data-view={q.view}>
        <div class="row spread">
          <h1>{heading}</h1>
          <a href="/events">List</a>
        </div>
        <nav class="cal-nav" aria-label="Calendar">
          <div class="row tight">
            <a class="button secondary small" href={link(q.view, shift(q.view, date, -1))} rel="prev">
              ‹ Previous
            </a>
            <a class="button secondary small" href={link(q.view, today)}>Today</a>
            <a class="button secondary small" href={link(q.view, shift(q.view, date, 1))} rel="next">
              Next ›
            </a>
          </div>
          <div class="tabs">
            {views.map(([v, label]) => (
              <a key={v} href={link(v, date)} aria-current={v === q.view ? "page" : undefined}>{label}</a>
            ))}
          </div>
        </nav>
        <form method="get" action="/events/calendar" class="row cal-tz">
          <input type="hidden" name="view" value={q.view} />
          <input type="hidden" name="date" value={iso(date)} />
          <label class="row tight">
            Time zone
            <select name="tz">
              {TIME_ZONES.map((z) => <option key={z} value={z} selected={z === tz}>{z}</option>)}
            </select>
          </label>
          <button type="submit" class="small secondary">Show</button>
        </form>
        {q.view === "day"
          ? (
            <div class="cal-daylist">
              {placed[0].length === 0
                ? <p class="muted">No events on this day.</p>
                : <ul class="cal-events">{placed[0].map((p) => <CalEvent key={p.event.id} p={p} />)}</ul>}
            </div>
          )
          : (
            <>
              <ol class={`cal-grid cal-${q.view}`} aria-label={heading}>
                {WEEKDAYS.map((w) => <li key={w} class="cal-head" aria-hidden="true">{w}</li>)}
                {days.map((d, i) => (
                  <DayCell
                    key={iso(d)}
                    d={d}
                    placed={placed[i]}
                    today={sameDay(d, today)}
                    outside={q.view === "month" && d.month !== date.month}
                    tz={tz}
                  />
                ))}
              </ol>
              {placed.every((p) => p.length === 0) && <p class="muted cal-none">No events in this period.</p>}
            </>
          )}
        <p class="hint">Times in {tz}.</p>
      </section>,
      { title: `Calendar: ${heading}` },
    );
  });
