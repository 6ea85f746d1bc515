/** Check-in by ticket code, organizer stats, the .ics of an event and the personal calendar feed. */
import assert from "node:assert/strict";
import ICAL from "ical.js";
import { appTest, type TestContext } from "../support/app.ts";
import { api, createEvent, expectError, expectOk, rsvp } from "../support/events.ts";
import { browser, randomUser } from "../support/factories.ts";

/** Parses a calendar with ical.js, registering its VTIMEZONEs first; returns its VEVENTs. */
function parseCalendar(text: string) {
  const cal = new ICAL.Component(ICAL.parse(text));
  for (const tz of cal.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(tz));
  }
  return cal.getAllSubcomponents("vevent").map((v) => ({
    event: new ICAL.Event(v),
    status: v.getFirstPropertyValue("status"),
    sequence: Number(v.getFirstPropertyValue("sequence")),
  }));
}

async function ics(t: TestContext, path: string, headers: Record<string, string> = {}) {
  const res = await t.request(path, { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text };
}

appTest("[events checkin] by code, once; errors for unknown, not going, and non-organizers", async (t) => {
  const [org, a, b, other] = await Promise.all(
    [randomUser(t, "org"), randomUser(t), randomUser(t), randomUser(t, "other")],
  );
  const ev = await createEvent(t, org);
  const ticket = expectOk(await rsvp(t, a, ev.id, "going", 2)).ticket_code as string;
  // Lower case, with dashes and spaces: still the same code.
  const typed = ` ${ticket.slice(0, 4).toLowerCase()}-${ticket.slice(4, 8)} ${
    ticket.slice(8).toLowerCase()
  } `;
  expectError(
    await api(t, other, "POST", `/events/${ev.id}/checkin`, { code: ticket }),
    403,
    "not_an_organizer",
  );
  expectError(await api(t, a, "POST", `/events/${ev.id}/checkin`, { code: ticket }), 403, "not_an_organizer");
  const done = expectOk(await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: typed }));
  assert.equal(done.user_id, a.id);
  assert.equal(done.name, a.name);
  assert.equal(done.guests, 2);
  assert.match(done.checked_in_at, /^\d{4}-\d\d-\d\dT/);
  const twice = expectError(
    await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: ticket }),
    409,
    "already_checked_in",
  );
  assert.ok(twice.message.includes(done.checked_in_at), twice.message);
  assert.equal(twice.details.checked_in_at, done.checked_in_at);
  assert.equal(
    expectOk(await api(t, a, "GET", `/events/${ev.id}`)).event.my_rsvp.checked_in_at,
    done.checked_in_at,
  );

  expectError(
    await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: "ZZZZ-ZZZZ-ZZZZ" }),
    404,
    "unknown_code",
  );
  expectError(
    await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: "ab" }),
    422,
    "validation_failed",
  );
  // A code of another event is unknown here.
  const elsewhere = await createEvent(t, org);
  expectError(
    await api(t, org, "POST", `/events/${elsewhere.id}/checkin`, { code: ticket }),
    404,
    "unknown_code",
  );
  // Someone who left keeps their old code, which no longer lets them in.
  const old = expectOk(await rsvp(t, b, ev.id, "going")).ticket_code;
  expectOk(await rsvp(t, b, ev.id, "not_going"));
  expectError(await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: old }), 409, "not_going");
});

appTest("[events checkin] 10 concurrent check-ins of one code: exactly one succeeds", async (t) => {
  const [org, a] = await Promise.all([randomUser(t, "org"), randomUser(t)]);
  const ev = await createEvent(t, org);
  const ticket = expectOk(await rsvp(t, a, ev.id, "going")).ticket_code;
  const results = await Promise.all(
    Array.from({ length: 10 }, () => api(t, org, "POST", `/events/${ev.id}/checkin`, { code: ticket })),
  );
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409], JSON.stringify(statuses));
  const winner = results.find((r) => r.status === 200)!.body;
  for (const r of results.filter((r) => r.status === 409)) {
    assert.equal(r.body.error.code, "already_checked_in");
    assert.equal(r.body.error.details.checked_in_at, winner.checked_in_at);
  }
});

appTest(
  "[events stats] rates, promotions, conversion and the timeline after a scripted sequence",
  async (t) => {
    const [org, a, b, c, d, e, f, other] = await Promise.all(
      ["org", "a", "b", "c", "d", "e", "f", "other"].map((n) => randomUser(t, n)),
    );
    const ev = await createEvent(t, org, { capacity: 2 });
    const empty = expectOk(await api(t, org, "GET", `/events/${ev.id}/stats`));
    assert.equal(empty.rsvp_rate, null);
    assert.equal(empty.show_up_rate, null);
    assert.equal(empty.waitlist_conversion, null);
    assert.deepEqual(empty.timeline, []);
    expectOk(await rsvp(t, a, ev.id, "going"));
    const bTicket = expectOk(await rsvp(t, b, ev.id, "going")).ticket_code;
    assert.equal(expectOk(await rsvp(t, c, ev.id, "going")).state, "waitlisted");
    expectOk(await rsvp(t, d, ev.id, "maybe"));
    expectOk(await rsvp(t, e, ev.id, "not_going"));
    expectOk(await rsvp(t, a, ev.id, "not_going")); // c is promoted
    assert.equal(expectOk(await rsvp(t, f, ev.id, "going")).state, "waitlisted");
    expectOk(await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: bTicket }));

    const s = expectOk(await api(t, org, "GET", `/events/${ev.id}/stats`));
    assert.equal(s.going, 2);
    assert.equal(s.going_seats, 2);
    assert.equal(s.capacity, 2);
    assert.equal(s.waitlisted, 1);
    assert.equal(s.maybe, 1);
    assert.equal(s.not_going, 2);
    assert.equal(s.pending, 0);
    assert.equal(s.checked_in, 1);
    assert.equal(s.rsvp_rate, 0.5, "b, c, f of a, b, c, d, e, f");
    assert.equal(s.show_up_rate, 0.5);
    assert.equal(s.waitlist_promotions, 1);
    assert.equal(s.waitlist_conversion, 0.5, "c of c and f");
    assert.deepEqual(s.timeline.map((p: { going: number }) => p.going), [1, 2, 2, 2, 2, 1, 2, 2]);
    assert.deepEqual(s.timeline.map((p: { waitlisted: number }) => p.waitlisted), [0, 0, 1, 1, 1, 1, 0, 1]);
    for (const p of s.timeline) assert.match(p.at, /^\d{4}-\d\d-\d\dT/);
    expectError(await api(t, other, "GET", `/events/${ev.id}/stats`), 403, "not_an_organizer");
    expectError(await api(t, a, "GET", `/events/${ev.id}/stats`), 403, "not_an_organizer");
  },
);

appTest(
  "[events ics] one event round-trips through ical.js; SEQUENCE and STATUS follow changes",
  async (t) => {
    const [org, other] = await Promise.all([randomUser(t, "org"), randomUser(t, "other")]);
    const title = "Fish, chips; and\nmore \\ stuff";
    const ev = await createEvent(t, org, { title, timezone: "America/New_York" });
    const first = await ics(t, `/events/${ev.id}.ics`);
    assert.equal(first.status, 200);
    assert.match(first.type!, /^text\/calendar/);
    for (const line of first.text.split("\r\n")) {
      assert.ok(new TextEncoder().encode(line).length <= 75, `folded: ${line}`);
    }
    const [v] = parseCalendar(first.text);
    assert.equal(v.event.uid, `${ev.id}@plaza`);
    assert.equal(v.event.summary, title);
    assert.equal(v.event.startDate.zone?.tzid, "America/New_York");
    assert.equal(v.event.startDate.toJSDate().toISOString(), ev.starts_at);
    assert.equal(v.event.endDate.toJSDate().toISOString(), ev.ends_at);
    assert.equal(v.status, "CONFIRMED");
    assert.equal(v.sequence, 0);

    const moved = new Date(Date.parse(ev.starts_at) + 3600_000).toISOString();
    expectOk(await api(t, org, "PATCH", `/events/${ev.id}`, { starts_at: moved }));
    const [v2] = parseCalendar((await ics(t, `/events/${ev.id}.ics`)).text);
    assert.equal(v2.event.startDate.toJSDate().toISOString(), moved);
    assert.ok(v2.sequence > v.sequence, `${v2.sequence} > ${v.sequence}`);
    expectOk(await api(t, org, "POST", `/events/${ev.id}/cancel`, {}));
    const [v3] = parseCalendar((await ics(t, `/events/${ev.id}.ics`)).text);
    assert.equal(v3.status, "CANCELLED");
    assert.ok(v3.sequence > v2.sequence);

    const members = await createEvent(t, org, { visibility: "members" });
    assert.equal((await ics(t, `/events/${members.id}.ics`)).status, 404);
    const signedIn = await ics(t, `/events/${members.id}.ics`, browser(other.cookies));
    assert.equal(signedIn.status, 200);
    assert.equal(parseCalendar(signedIn.text)[0].event.uid, `${members.id}@plaza`);
    const draft = await createEvent(t, org, { status: "draft" });
    assert.equal((await ics(t, `/events/${draft.id}.ics`, browser(other.cookies))).status, 404);
    assert.equal((await ics(t, `/events/${crypto.randomUUID()}.ics`)).status, 404);
  },
);

appTest("[events feed] rotate makes a secret URL with what the person is going to", async (t) => {
  const [org, me, other] = await Promise.all([randomUser(t, "org"), randomUser(t, "me"), randomUser(t)]);
  assert.deepEqual(expectOk(await api(t, me, "GET", "/me/calendar")), { url: null });
  const going = await createEvent(t, org, { title: "Going, sure" });
  const maybe = await createEvent(t, org);
  const full = await createEvent(t, org, { capacity: 1 });
  const cancelled = await createEvent(t, org, { title: "Called off" });
  expectOk(await rsvp(t, me, going.id, "going"));
  expectOk(await rsvp(t, me, maybe.id, "maybe"));
  expectOk(await rsvp(t, other, full.id, "going"));
  assert.equal(expectOk(await rsvp(t, me, full.id, "going")).state, "waitlisted");
  expectOk(await rsvp(t, me, cancelled.id, "going"));
  expectOk(await api(t, org, "POST", `/events/${cancelled.id}/cancel`, {}));

  const { url } = expectOk(await api(t, me, "POST", "/me/calendar/rotate"));
  assert.match(url, /^http:\/\/localhost\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
  assert.deepEqual(expectOk(await api(t, me, "GET", "/me/calendar")), { url });
  const path = new URL(url).pathname;
  const feed = await ics(t, path);
  assert.equal(feed.status, 200);
  assert.match(feed.type!, /^text\/calendar/);
  const events = parseCalendar(feed.text);
  const byUid = new Map(events.map((e) => [e.event.uid, e]));
  assert.deepEqual([...byUid.keys()].sort(), [`${going.id}@plaza`, `${cancelled.id}@plaza`].sort());
  assert.equal(byUid.get(`${going.id}@plaza`)!.event.summary, "Going, sure");
  assert.equal(byUid.get(`${going.id}@plaza`)!.event.startDate.toJSDate().toISOString(), going.starts_at);
  assert.equal(byUid.get(`${cancelled.id}@plaza`)!.status, "CANCELLED");

  const rotated = expectOk(await api(t, me, "POST", "/me/calendar/rotate")).url;
  assert.notEqual(rotated, url);
  assert.equal((await ics(t, path)).status, 404, "the old URL stops working");
  assert.equal((await ics(t, new URL(rotated).pathname)).status, 200);
  assert.deepEqual(expectOk(await api(t, me, "GET", "/me/calendar")), { url: rotated });
  // Malformed and unknown tokens.
  for (const bad of ["abc", "x".repeat(43), "not a token", "../../etc/passwd", "A".repeat(200)]) {
    assert.equal((await ics(t, `/calendar/${encodeURIComponent(bad)}.ics`)).status, 404, bad);
  }
  const out = await t.request("/api/v1/me/calendar");
  assert.equal(out.status, 401);
  await out.body?.cancel();
});
