/**
 * Events benchmark, part 1 (bench/events.ts): concurrent RSVPs over HTTP on one event with an exact
 * capacity, then a check that the seats, the waitlist and the counters are exactly right.
 */
import type { Db } from "@/lib/db/port.ts";
import type { BenchUser } from "./chat_data.ts";
import { type Stats, stats } from "./chat_stats.ts";

/** One wave of simultaneous requests. */
export interface Wave {
  label: string;
  requests: number;
  seconds: number;
  perSecond: number;
  latency: Stats;
  /** Statuses other than 200, with the first body. */
  failed: number;
  firstError?: string;
}

/** What the RSVP scenario measured and found. */
export interface RsvpResult {
  clients: number;
  capacity: number;
  waves: Wave[];
  all: Stats;
  going: number;
  goingSeats: number;
  waitlisted: number;
  problems: string[];
  correct: boolean;
}

/** POSTs `/events/:id/rsvp` for every (user, status) at once; returns the wave's figures. */
async function wave(
  base: string,
  eventId: string,
  label: string,
  calls: { user: BenchUser; status: string }[],
): Promise<Wave & { samples: number[] }> {
  let failed = 0;
  let firstError: string | undefined;
  const began = performance.now();
  const samples = await Promise.all(calls.map(async ({ user, status }) => {
    const t = performance.now();
    const res = await fetch(`${base}/api/v1/events/${eventId}/rsvp`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ status }),
    });
    const text = await res.text();
    const elapsed = performance.now() - t;
    if (res.status !== 200) {
      failed++;
      firstError ??= `${res.status} ${text.slice(0, 200)}`;
    }
    return elapsed;
  }));
  const seconds = (performance.now() - began) / 1000;
  return {
    label,
    requests: calls.length,
    seconds,
    perSecond: calls.length / seconds,
    latency: stats(samples),
    failed,
    firstError,
    samples,
  };
}

/** Checks seats, waitlist order and counters of the event against a recount; returns the problems. */
export async function verify(db: Db, eventId: string, capacity: number, wanting: number) {
  const problems: string[] = [];
  const [e] = await db.query<Record<string, number>>(
    `select going_seats, going_count, waitlist_count, pending_count, maybe_count from public.events where id = $1`,
    [eventId],
  );
  const [r] = await db.query<Record<string, number>>(
    `select coalesce(sum(1 + guests) filter (where state = 'going'), 0)::int as going_seats,
       count(*) filter (where state = 'going')::int as going_count,
       count(*) filter (where state = 'waitlisted')::int as waitlist_count,
       count(*) filter (where state = 'pending')::int as pending_count,
       count(*) filter (where state = 'maybe')::int as maybe_count,
       count(*) filter (where state = 'going' and ticket_code is null)::int as no_ticket,
       count(*) filter (where state = 'waitlisted' and queue_seq is null)::int as no_seq
     from public.event_rsvps where event_id = $1`,
    [eventId],
  );
  for (const k of ["going_seats", "going_count", "waitlist_count", "pending_count", "maybe_count"]) {
    if (Number(e[k]) !== Number(r[k])) problems.push(`${k}: counter ${e[k]}, recount ${r[k]}`);
  }
  const expectGoing = Math.min(capacity, wanting);
  if (Number(r.going_seats) !== expectGoing) {
    problems.push(`${r.going_seats} seats going, expected exactly ${expectGoing}`);
  }
  if (Number(r.waitlist_count) !== wanting - expectGoing) {
    problems.push(`${r.waitlist_count} waitlisted, expected ${wanting - expectGoing}`);
  }
  if (Number(r.no_ticket)) problems.push(`${r.no_ticket} going without a ticket code`);
  if (Number(r.no_seq)) problems.push(`${r.no_seq} waitlisted without a queue place`);
  const positions = await db.query<{ position: number }>(
    `select public.event_waitlist_position(event_id, queue_seq) as position from public.event_rsvps
     where event_id = $1 and state = 'waitlisted' order by queue_seq`,
    [eventId],
  );
  const bad = positions.findIndex((p, i) => Number(p.position) !== i + 1);
  if (bad >= 0) problems.push(`waitlist position ${positions[bad].position} at place ${bad + 1}`);
  const [{ n }] = await db.query<{ n: number }>(
    "select count(*)::int as n from public.event_outbox where event_id = $1 and done_at is null",
    [eventId],
  );
  if (Number(n)) problems.push(`${n} outbox rows left unflushed`);
  return {
    problems,
    going: Number(r.going_count),
    goingSeats: Number(r.going_seats),
    waitlisted: Number(r.waitlist_count),
  };
}

/**
 * 200 (`users.length`) people RSVP `going` at once to an event of `capacity` seats; then half of them
 * leave while the other half answer `going` again; then the ones who left come back.
 */
export async function rsvpScenario(
  base: string,
  db: Db,
  organizer: BenchUser,
  users: BenchUser[],
  capacity: number,
  progress: (m: string) => void,
): Promise<RsvpResult> {
  const starts = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 7 * 86_400_000);
  const created = await fetch(`${base}/api/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${organizer.token}` },
    body: JSON.stringify({
      title: "Bench concert",
      category: "music",
      starts_at: starts.toISOString(),
      ends_at: new Date(starts.getTime() + 3 * 3600_000).toISOString(),
      timezone: "Europe/Berlin",
      venue: { name: "Bench hall", address: "Main St 1", lat: 52.52, lng: 13.405 },
      capacity,
      visibility: "public",
      status: "published",
    }),
  });
  const body = await created.json();
  if (created.status !== 201) {
    throw new Error(`creating the event: ${created.status} ${JSON.stringify(body)}`);
  }
  const eventId = body.event.id as string;

  const waves: (Wave & { samples: number[] })[] = [];
  progress(`  wave 1: ${users.length} × going at once`);
  waves.push(
    await wave(
      base,
      eventId,
      "1: everyone `going` at once",
      users.map((user) => ({ user, status: "going" })),
    ),
  );
  progress(`  wave 2: half not_going, half going again`);
  waves.push(
    await wave(
      base,
      eventId,
      "2: even half `not_going`, odd half `going` again",
      users.map((user, i) => ({ user, status: i % 2 === 0 ? "not_going" : "going" })),
    ),
  );
  progress(`  wave 3: the half that left comes back`);
  waves.push(
    await wave(
      base,
      eventId,
      "3: the even half `going` again",
      users.filter((_, i) => i % 2 === 0).map((user) => ({ user, status: "going" })),
    ),
  );
  const checked = await verify(db, eventId, capacity, users.length);
  for (const w of waves) {
    if (w.failed) checked.problems.push(`wave ${w.label}: ${w.failed} failed (${w.firstError})`);
  }
  return {
    clients: users.length,
    capacity,
    waves: waves.map(({ samples: _, ...w }) => w),
    all: stats(waves.flatMap((w) => w.samples)),
    going: checked.going,
    goingSeats: checked.goingSeats,
    waitlisted: checked.waitlisted,
    problems: checked.problems,
    correct: checked.problems.length === 0,
  };
}
