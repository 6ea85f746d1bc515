/**
 * Concurrent RSVPs against an exact capacity: 50 people at once for 10 seats, then 10 leave at once.
 * Runs on PGlite and on Postgres (where the requests really overlap on a connection pool).
 */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { api, createEvent, expectOk, rsvp } from "../support/events.ts";
import { randomUser, type TestUser } from "../support/factories.ts";

/** The stored counters next to a recount from event_rsvps. */
async function counters(t: TestContext, eventId: string) {
  const [row] = await t.platform.db.query<Record<string, number>>(
    `select e.going_seats, e.going_count, e.waitlist_count,
       (select coalesce(sum(1 + guests), 0)::int from public.event_rsvps r
        where r.event_id = e.id and r.state = 'going') as seats_recount,
       (select count(*)::int from public.event_rsvps r where r.event_id = e.id and r.state = 'going')
         as going_recount,
       (select count(*)::int from public.event_rsvps r where r.event_id = e.id and r.state = 'waitlisted')
         as waitlist_recount
     from public.events e where e.id = $1`,
    [eventId],
  );
  const n = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
  assert.equal(n.going_seats, n.seats_recount, "going_seats matches a recount");
  assert.equal(n.going_count, n.going_recount, "going_count matches a recount");
  assert.equal(n.waitlist_count, n.waitlist_recount, "waitlist_count matches a recount");
  return n;
}

/** Waitlisted people as the organizer sees them, in order. */
async function waitlist(t: TestContext, org: TestUser, eventId: string) {
  const list = expectOk(await api(t, org, "GET", `/events/${eventId}/attendees?state=waitlisted`)).attendees;
  return list as { user_id: string; position: number }[];
}

appTest(
  "[events race] 50 concurrent RSVPs for 10 seats; 10 leave at once and the next 10 move up",
  async (t) => {
    const org = await randomUser(t, "org");
    const people: TestUser[] = [];
    // Signing up hashes a password; batches keep the test's memory and CPU use reasonable.
    for (let i = 0; i < 50; i += 10) {
      people.push(...await Promise.all(Array.from({ length: 10 }, () => randomUser(t, "racer"))));
    }
    assert.equal(new Set(people.map((p) => p.id)).size, 50);
    const ev = await createEvent(t, org, { capacity: 10 });

    const answers = await Promise.all(people.map((p) => rsvp(t, p, ev.id, "going")));
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    const going = answers.filter((a) => a.body.state === "going");
    const waiting = answers.filter((a) => a.body.state === "waitlisted");
    assert.equal(going.length, 10);
    assert.equal(waiting.length, 40);
    assert.equal(new Set(going.map((a) => a.body.ticket_code)).size, 10, "distinct ticket codes");
    // Positions given at answer time are the arrival order: 1..40, no duplicates.
    assert.deepEqual(
      waiting.map((a) => a.body.position).sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );

    const c1 = await counters(t, ev.id);
    assert.equal(c1.going_seats, 10);
    assert.equal(c1.going_count, 10);
    assert.equal(c1.waitlist_count, 40);
    const event = expectOk(await api(t, org, "GET", `/events/${ev.id}`)).event;
    assert.deepEqual(event.counts, {
      going: 10,
      going_seats: 10,
      waitlisted: 40,
      pending: 0,
      maybe: 0,
      capacity_left: 0,
    });
    const before = await waitlist(t, org, ev.id);
    assert.deepEqual(before.map((w) => w.position), Array.from({ length: 40 }, (_, i) => i + 1));
    // Each person's own position agrees with the organizer's list.
    const byId = new Map(people.map((p, i) => [p.id, answers[i].body]));
    for (const w of before) assert.equal(byId.get(w.user_id).position, w.position);

    // The ten going people leave at once: exactly the first ten on the waitlist get their seats.
    const leavers = people.filter((_, i) => answers[i].body.state === "going");
    const left = await Promise.all(leavers.map((p) => rsvp(t, p, ev.id, "not_going")));
    for (const l of left) assert.equal(l.status, 200, JSON.stringify(l.body));
    const rows = await t.platform.db.query<{ user_id: string; state: string }>(
      "select user_id, state from public.event_rsvps where event_id = $1 and state = 'going'",
      [ev.id],
    );
    assert.deepEqual(
      rows.map((r) => r.user_id).sort(),
      before.slice(0, 10).map((w) => w.user_id).sort(),
      "the first ten by position were promoted",
    );
    const after = await waitlist(t, org, ev.id);
    assert.deepEqual(after.map((w) => w.user_id), before.slice(10).map((w) => w.user_id), "order kept");
    assert.deepEqual(after.map((w) => w.position), Array.from({ length: 30 }, (_, i) => i + 1));
    const c2 = await counters(t, ev.id);
    assert.equal(c2.going_seats, 10);
    assert.equal(c2.waitlist_count, 30);
    const [log] = await t.platform.db.query<{ n: number }>(
      `select count(*)::int as n from public.event_rsvp_log
     where event_id = $1 and from_state = 'waitlisted' and to_state = 'going'`,
      [ev.id],
    );
    assert.equal(Number(log.n), 10, "ten promotions logged");
  },
);
