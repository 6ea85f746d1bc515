/** POST /events/:id/rsvp, approvals and capacity changes: states, the FIFO waitlist, guests, errors. */
import assert from "node:assert/strict";
import { flushOutbox } from "@/lib/events/outbox.ts";
import { appTest, type TestContext } from "../support/app.ts";
import {
  api,
  createEvent,
  expectError,
  expectOk,
  moveToPast,
  notificationsOf,
  rsvp,
} from "../support/events.ts";
import { randomUser, type TestUser } from "../support/factories.ts";

/** `user`'s RSVP as GET /events/:id shows it. */
async function mine(t: TestContext, user: TestUser, eventId: string) {
  return expectOk(await api(t, user, "GET", `/events/${eventId}`)).event.my_rsvp;
}

/** The event's counts as its organizer sees them. */
async function counts(t: TestContext, org: TestUser, eventId: string) {
  return expectOk(await api(t, org, "GET", `/events/${eventId}`)).event.counts;
}

const users = (t: TestContext, n: number, prefix = "user") =>
  Promise.all(Array.from({ length: n }, () => randomUser(t, prefix)));

appTest("[events rsvp] going, maybe and not_going", async (t) => {
  const [org, a] = await users(t, 2);
  const ev = await createEvent(t, org, { capacity: 5 });
  const going = expectOk(await rsvp(t, a, ev.id, "going"));
  assert.equal(going.state, "going");
  assert.equal(going.guests, 0);
  assert.equal(going.position, null);
  assert.match(going.ticket_code, /^[A-Z2-9]{12}$/);
  assert.equal(going.checked_in_at, null);
  assert.deepEqual(await counts(t, org, ev.id), {
    going: 1,
    going_seats: 1,
    waitlisted: 0,
    pending: 0,
    maybe: 0,
    capacity_left: 4,
  });
  const maybe = expectOk(await rsvp(t, a, ev.id, "maybe"));
  assert.deepEqual(maybe, {
    state: "maybe",
    guests: 0,
    position: null,
    ticket_code: null,
    checked_in_at: null,
  });
  assert.deepEqual(await counts(t, org, ev.id), {
    going: 0,
    going_seats: 0,
    waitlisted: 0,
    pending: 0,
    maybe: 1,
    capacity_left: 5,
  });
  const no = expectOk(await rsvp(t, a, ev.id, "not_going"));
  assert.equal(no.state, "not_going");
  assert.equal((await counts(t, org, ev.id)).maybe, 0);
  // Coming back keeps the ticket code.
  const back = expectOk(await rsvp(t, a, ev.id, "going", 2));
  assert.equal(back.ticket_code, going.ticket_code);
  assert.equal(back.guests, 2);
  assert.equal((await counts(t, org, ev.id)).going_seats, 3);
  // Invalid answers.
  expectError(await rsvp(t, a, ev.id, "yes"), 422, "validation_failed");
  expectError(await rsvp(t, a, ev.id, "going", 11), 422, "validation_failed");
  expectError(await rsvp(t, a, ev.id, "going", -1), 422, "validation_failed");
  const out = await t.request(`/api/v1/events/${ev.id}/rsvp`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ status: "going" }),
  });
  assert.equal(out.status, 401);
  expectError(await rsvp(t, a, crypto.randomUUID(), "going"), 404);
});

appTest("[events rsvp] the waitlist keeps arrival order; answering again keeps the position", async (t) => {
  const [org, a, b, c, d] = await users(t, 5);
  const ev = await createEvent(t, org, { capacity: 1 });
  assert.equal(expectOk(await rsvp(t, a, ev.id, "going")).state, "going");
  const positions = [];
  for (const u of [b, c, d]) {
    const r = expectOk(await rsvp(t, u, ev.id, "going"));
    assert.equal(r.state, "waitlisted");
    assert.equal(r.ticket_code, null);
    positions.push(r.position);
  }
  assert.deepEqual(positions, [1, 2, 3]);
  // Answering "going" again: same state and position (guests may change).
  const again = expectOk(await rsvp(t, c, ev.id, "going"));
  assert.deepEqual([again.state, again.position], ["waitlisted", 2]);
  const withGuest = expectOk(await rsvp(t, c, ev.id, "going", 1));
  assert.deepEqual([withGuest.state, withGuest.position, withGuest.guests], ["waitlisted", 2, 1]);
  assert.equal((await mine(t, d, ev.id)).position, 3);
  // b leaves the waitlist: everyone behind moves up.
  assert.equal(expectOk(await rsvp(t, b, ev.id, "not_going")).state, "not_going");
  assert.equal((await mine(t, c, ev.id)).position, 1);
  assert.equal((await mine(t, d, ev.id)).position, 2);
  // b comes back: to the end of the line.
  assert.equal(expectOk(await rsvp(t, b, ev.id, "going")).position, 3);
  const list = expectOk(await api(t, org, "GET", `/events/${ev.id}/attendees?state=waitlisted`)).attendees;
  assert.deepEqual(list.map((x: { user_id: string }) => x.user_id), [c.id, d.id, b.id]);
  assert.deepEqual(list.map((x: { position: number }) => x.position), [1, 2, 3]);
});

appTest(
  "[events rsvp] strict FIFO: a party that does not fit is not overtaken; guests take seats",
  async (t) => {
    const [org, a, b, c, d] = await users(t, 5);
    const ev = await createEvent(t, org, { capacity: 3 });
    expectOk(await rsvp(t, a, ev.id, "going"));
    assert.equal(expectOk(await rsvp(t, b, ev.id, "going", 1)).state, "going");
    assert.deepEqual(await counts(t, org, ev.id), {
      going: 2,
      going_seats: 3,
      waitlisted: 0,
      pending: 0,
      maybe: 0,
      capacity_left: 0,
    });
    assert.deepEqual(
      [(await rsvp(t, c, ev.id, "going", 2)).body.state, (await mine(t, c, ev.id)).position],
      ["waitlisted", 1],
    );
    // d would fit after a leaves, but c waits first.
    assert.equal(expectOk(await rsvp(t, d, ev.id, "going")).position, 2);
    expectOk(await rsvp(t, a, ev.id, "not_going"));
    assert.deepEqual([(await mine(t, c, ev.id)).state, (await mine(t, c, ev.id)).position], [
      "waitlisted",
      1,
    ]);
    assert.deepEqual([(await mine(t, d, ev.id)).state, (await mine(t, d, ev.id)).position], [
      "waitlisted",
      2,
    ]);
    assert.equal((await counts(t, org, ev.id)).going_seats, 2);
    // b leaves: three seats, c's party of three gets them; d is next.
    expectOk(await rsvp(t, b, ev.id, "not_going"));
    assert.equal((await mine(t, c, ev.id)).state, "going");
    assert.deepEqual([(await mine(t, d, ev.id)).state, (await mine(t, d, ev.id)).position], [
      "waitlisted",
      1,
    ]);
    assert.deepEqual(await counts(t, org, ev.id), {
      going: 1,
      going_seats: 3,
      waitlisted: 1,
      pending: 0,
      maybe: 0,
      capacity_left: 0,
    });
  },
);

appTest("[events rsvp] a going party cannot grow past the capacity; shrinking promotes", async (t) => {
  const [org, a, b, c] = await users(t, 4);
  const ev = await createEvent(t, org, { capacity: 3 });
  expectOk(await rsvp(t, a, ev.id, "going"));
  expectOk(await rsvp(t, b, ev.id, "going", 1));
  const err = expectError(await rsvp(t, a, ev.id, "going", 2), 409, "no_seats_for_guests");
  assert.ok(err.details === undefined || err.details.seats_left === 0, JSON.stringify(err));
  const a1 = await mine(t, a, ev.id);
  assert.deepEqual([a1.state, a1.guests], ["going", 0], "unchanged");
  assert.equal((await counts(t, org, ev.id)).going_seats, 3);
  assert.equal(expectOk(await rsvp(t, c, ev.id, "going")).state, "waitlisted");
  // b comes alone after all: one seat frees up, c gets it.
  const b1 = expectOk(await rsvp(t, b, ev.id, "going", 0));
  assert.deepEqual([b1.state, b1.guests], ["going", 0]);
  assert.equal((await mine(t, c, ev.id)).state, "going");
  assert.deepEqual(await counts(t, org, ev.id), {
    going: 3,
    going_seats: 3,
    waitlisted: 0,
    pending: 0,
    maybe: 0,
    capacity_left: 0,
  });
});

appTest("[events rsvp] cancelled 409, ended 409, drafts 404 for others and 409 for organizers", async (t) => {
  const [org, a] = await users(t, 2);
  const cancelled = await createEvent(t, org);
  expectOk(await api(t, org, "POST", `/events/${cancelled.id}/cancel`, {}));
  expectError(await rsvp(t, a, cancelled.id, "going"), 409, "event_cancelled");
  expectError(await rsvp(t, a, cancelled.id, "maybe"), 409, "event_cancelled");

  const ended = await createEvent(t, org);
  expectOk(await rsvp(t, a, ended.id, "maybe"));
  await moveToPast(t, ended.id);
  expectError(await rsvp(t, a, ended.id, "going"), 409, "event_past");
  assert.equal((await mine(t, a, ended.id)).state, "maybe", "unchanged");

  const draft = await createEvent(t, org, { status: "draft" });
  expectError(await rsvp(t, a, draft.id, "going"), 404, "not_found");
  expectError(await rsvp(t, org, draft.id, "going"), 409, "event_not_published");
  const [row] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.event_rsvps where event_id = any($1::uuid[])",
    [[cancelled.id, draft.id]],
  );
  assert.equal(Number(row.n), 0, "nothing written");
});

appTest("[events rsvp] approvals: pending, approve to going or waitlist, decline is final", async (t) => {
  const [org, a, b, c, outsider] = await users(t, 5);
  const ev = await createEvent(t, org, { capacity: 1, requires_approval: true });
  const pa = expectOk(await rsvp(t, a, ev.id, "going"));
  assert.deepEqual([pa.state, pa.ticket_code], ["pending", null]);
  expectOk(await rsvp(t, b, ev.id, "going"));
  expectOk(await rsvp(t, c, ev.id, "going"));
  assert.equal((await counts(t, org, ev.id)).pending, 3);
  // Only organizers decide.
  expectError(
    await api(t, outsider, "POST", `/events/${ev.id}/attendees/${a.id}/approve`),
    403,
    "not_an_organizer",
  );
  expectError(await api(t, a, "POST", `/events/${ev.id}/attendees/${b.id}/approve`), 403, "not_an_organizer");
  assert.equal((await mine(t, b, ev.id)).state, "pending");

  const approved = expectOk(await api(t, org, "POST", `/events/${ev.id}/attendees/${a.id}/approve`));
  assert.equal(approved.state, "going");
  assert.match(approved.ticket_code, /^[A-Z2-9]{12}$/);
  const full = expectOk(await api(t, org, "POST", `/events/${ev.id}/attendees/${b.id}/approve`));
  assert.deepEqual([full.state, full.position], ["waitlisted", 1]);
  expectError(await api(t, org, "POST", `/events/${ev.id}/attendees/${b.id}/approve`), 409, "not_pending");
  const declined = expectOk(await api(t, org, "POST", `/events/${ev.id}/attendees/${c.id}/decline`));
  assert.equal(declined.state, "declined");
  expectError(await rsvp(t, c, ev.id, "going"), 403, "rsvp_declined");
  expectError(await rsvp(t, c, ev.id, "maybe"), 403, "rsvp_declined");
  assert.equal((await mine(t, c, ev.id)).state, "declined");
  expectError(await api(t, org, "POST", `/events/${ev.id}/attendees/${outsider.id}/approve`), 404);
  // Organizers skip approval.
  const own = await createEvent(t, org, { requires_approval: true });
  assert.equal(expectOk(await rsvp(t, org, own.id, "going")).state, "going");
  assert.deepEqual(await notificationsOf(t, a.id), ["events.approved"]);
  assert.deepEqual(await notificationsOf(t, c.id), ["events.declined"]);
});

appTest("[events rsvp] a request approved onto the waitlist is told so (events.approved)", async (t) => {
  const [org, a, b] = await users(t, 3);
  const ev = await createEvent(t, org, { capacity: 1, requires_approval: true });
  expectOk(await rsvp(t, a, ev.id, "going"));
  expectOk(await rsvp(t, b, ev.id, "going"));
  expectOk(await api(t, org, "POST", `/events/${ev.id}/attendees/${a.id}/approve`));
  const full = expectOk(await api(t, org, "POST", `/events/${ev.id}/attendees/${b.id}/approve`));
  assert.equal(full.state, "waitlisted");
  // lib/events/outbox.ts sends events.approved with state "waitlisted", but only if the trigger wrote
  // an `approved` outbox row for pending -> waitlisted.
  assert.deepEqual(await notificationsOf(t, b.id), ["events.approved"]);
});

appTest("[events rsvp] raising the capacity promotes the waitlist head, notified exactly once", async (t) => {
  const [org, a, b, c] = await users(t, 4);
  const ev = await createEvent(t, org, { capacity: 1 });
  expectOk(await rsvp(t, a, ev.id, "going"));
  expectOk(await rsvp(t, b, ev.id, "going"));
  expectOk(await rsvp(t, c, ev.id, "going", 1));
  const patched = expectOk(await api(t, org, "PATCH", `/events/${ev.id}`, { capacity: 2 }));
  assert.equal(patched.event.capacity, 2);
  assert.equal((await mine(t, b, ev.id)).state, "going");
  assert.deepEqual([(await mine(t, c, ev.id)).state, (await mine(t, c, ev.id)).position], ["waitlisted", 1]);
  assert.deepEqual(await notificationsOf(t, b.id), ["events.promoted"]);
  assert.deepEqual(await notificationsOf(t, c.id), []);
  // A second send of the same outbox rows (a crashed flush) notifies nobody twice.
  await t.platform.db.query("update public.event_outbox set done_at = null where event_id = $1", [ev.id]);
  await flushOutbox(t.platform);
  assert.deepEqual(await notificationsOf(t, b.id), ["events.promoted"]);

  // Capacity below the taken seats: 409, unchanged.
  const err = expectError(
    await api(t, org, "PATCH", `/events/${ev.id}`, { capacity: 1 }),
    409,
    "capacity_below_going",
  );
  assert.equal(err.details?.going_seats, 2, JSON.stringify(err));
  const after = expectOk(await api(t, org, "GET", `/events/${ev.id}`)).event;
  assert.equal(after.capacity, 2);
  assert.equal(after.counts.going_seats, 2);
  // Unlimited capacity: everyone waiting gets in.
  expectOk(await api(t, org, "PATCH", `/events/${ev.id}`, { capacity: null }));
  const cNow = await mine(t, c, ev.id);
  assert.deepEqual([cNow.state, cNow.guests], ["going", 1]);
  assert.deepEqual(await notificationsOf(t, c.id), ["events.promoted"]);
});
