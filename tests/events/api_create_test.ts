/** POST /api/v1/events: the created event, idempotency, and every kind of bad input (422, nothing written). */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { api, countEventRows, eventBody, expectError, expectOk, hoursFromNow } from "../support/events.ts";
import { json, randomUser, type TestUser } from "../support/factories.ts";

/** Expects a 422 naming `path` in error.details, and no new rows. */
async function rejected(t: TestContext, user: TestUser, extra: Record<string, unknown>, path: string) {
  const before = await countEventRows(t);
  const res = await api(t, user, "POST", "/events", eventBody(extra));
  const error = expectError(res, 422, "validation_failed");
  assert.ok(Array.isArray(error.details), JSON.stringify(error));
  assert.ok(
    error.details.some((d: { path: string }) => d.path === path),
    `expected ${path} in ${JSON.stringify(error.details)} for ${JSON.stringify(extra)}`,
  );
  assert.deepEqual(await countEventRows(t), before, `nothing written for ${JSON.stringify(extra)}`);
}

/** `YYYYMMDDTHHMMSSZ` of an instant. */
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

appTest("[events create] 201 with the documented shape", async (t) => {
  const org = await randomUser(t, "org");
  const starts = hoursFromNow(30), ends = hoursFromNow(33);
  const body = eventBody({ starts_at: starts, ends_at: ends, capacity: 12, title: "  Board games  " });
  const created = expectOk(await api(t, org, "POST", "/events", body), 201);
  assert.equal(created.occurrences, 1);
  const e = created.event;
  assert.match(e.id, /^[0-9a-f-]{36}$/);
  assert.match(e.series_id, /^[0-9a-f-]{36}$/);
  assert.equal(e.occurrence, 0);
  assert.equal(e.title, "Board games", "trimmed");
  assert.equal(e.description, body.description);
  assert.equal(e.category, "social");
  assert.equal(e.starts_at, starts);
  assert.equal(e.ends_at, ends);
  assert.equal(e.timezone, "Europe/Berlin");
  assert.deepEqual(e.venue, { name: "Community hall", address: "Main St 1", lat: 52.52, lng: 13.405 });
  assert.equal(e.online_url, null);
  assert.equal(e.capacity, 12);
  assert.equal(e.visibility, "public");
  assert.equal(e.requires_approval, false);
  assert.equal(e.status, "published");
  assert.equal(e.recurrence, null);
  assert.equal(e.sequence, 0);
  assert.deepEqual(e.counts, {
    going: 0,
    going_seats: 0,
    waitlisted: 0,
    pending: 0,
    maybe: 0,
    capacity_left: 12,
  });
  assert.deepEqual(e.organizers, [{ user_id: org.id, name: org.name }]);
  assert.equal(e.my_rsvp, null);
  assert.equal(e.can_edit, true);
  assert.equal(e.invite_token, undefined, "only invite-only events show the token");
  assert.match(e.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // The same as GET returns.
  const got = expectOk(await api(t, org, "GET", `/events/${e.id}`)).event;
  assert.deepEqual(got, e);

  // Online-only, recurring, invite-only: the token shows and occurrences are counted.
  const online = expectOk(
    await api(
      t,
      org,
      "POST",
      "/events",
      eventBody({
        venue: null,
        online_url: "https://meet.example/abc",
        recurrence: "rrule:freq=weekly;count=4",
        visibility: "invite",
      }),
    ),
    201,
  );
  assert.equal(online.occurrences, 4);
  assert.equal(online.event.venue, null);
  assert.equal(online.event.online_url, "https://meet.example/abc");
  assert.equal(online.event.recurrence, "FREQ=WEEKLY;COUNT=4", "canonical form");
  assert.equal(typeof online.event.invite_token, "string");
});

appTest(
  "[events create] a repeated client_id or Idempotency-Key returns the first event with 200",
  async (t) => {
    const org = await randomUser(t, "org");
    const other = await randomUser(t, "other");
    const before = await countEventRows(t);
    const body = eventBody({ client_id: "create-1", recurrence: "FREQ=DAILY;COUNT=3" });
    const first = expectOk(await api(t, org, "POST", "/events", body), 201);
    const again = expectOk(await api(t, org, "POST", "/events", { ...body, title: "Something else" }), 200);
    assert.equal(again.event.id, first.event.id);
    assert.equal(again.event.title, first.event.title, "the first one wins");
    assert.equal(again.occurrences, 3);
    assert.deepEqual(await countEventRows(t), { events: before.events + 3, series: before.series + 1 });

    // Per person: someone else may use the same key.
    const theirs = expectOk(await api(t, other, "POST", "/events", body), 201);
    assert.notEqual(theirs.event.id, first.event.id);

    // The header works the same way.
    const headers = { ...org.bearer, "idempotency-key": "hdr-key-1" };
    const h1 = await t.request("/api/v1/events", json("POST", eventBody(), headers));
    assert.equal(h1.status, 201);
    const h1Body = await h1.json();
    const h2 = await t.request("/api/v1/events", json("POST", eventBody(), headers));
    assert.equal(h2.status, 200);
    assert.equal((await h2.json()).event.id, h1Body.event.id);
    const [row] = await t.platform.db.query<{ n: number }>(
      "select count(*)::int as n from public.event_series where client_id = 'hdr-key-1'",
    );
    assert.equal(Number(row.n), 1, "one series");
    assert.deepEqual(await countEventRows(t), { events: before.events + 7, series: before.series + 3 });
  },
);

appTest("[events create] bad times and zones: 422 naming the field, nothing written", async (t) => {
  const org = await randomUser(t, "org");
  const start = hoursFromNow(48);
  await rejected(t, org, { starts_at: start, ends_at: hoursFromNow(47) }, "ends_at");
  await rejected(t, org, { starts_at: start, ends_at: start }, "ends_at");
  await rejected(t, org, { starts_at: start, ends_at: hoursFromNow(48 + 14 * 24 + 1) }, "ends_at");
  await rejected(t, org, { starts_at: hoursFromNow(-3), ends_at: hoursFromNow(-1) }, "ends_at");
  const far = (5 * 366 + 30) * 24;
  await rejected(t, org, { starts_at: hoursFromNow(far), ends_at: hoursFromNow(far + 2) }, "starts_at");
  await rejected(t, org, { timezone: "Mars/Olympus" }, "timezone");
  await rejected(t, org, { timezone: "" }, "timezone");
  await rejected(t, org, { starts_at: "tomorrow" }, "starts_at");
  await rejected(t, org, { starts_at: "2030-01-01T10:00:00" }, "starts_at"); // no offset
});

appTest("[events create] bad place, capacity, title and fields: 422 naming the field", async (t) => {
  const org = await randomUser(t, "org");
  await rejected(t, org, { venue: null, online_url: null }, "venue");
  await rejected(t, org, { venue: { name: "Hall", lat: 52.5 } }, "venue");
  await rejected(t, org, { venue: { name: "Hall", lat: 91, lng: 13 } }, "venue.lat");
  await rejected(t, org, { venue: { name: "", lat: null, lng: null } }, "venue.name");
  await rejected(t, org, { online_url: "javascript:alert(1)" }, "online_url");
  await rejected(t, org, { online_url: "ftp://example.com/x" }, "online_url");
  for (const capacity of [0, -1, 1.5, "10", 100001]) await rejected(t, org, { capacity }, "capacity");
  await rejected(t, org, { title: "" }, "title");
  await rejected(t, org, { title: "   " }, "title");
  await rejected(t, org, { title: "x".repeat(121) }, "title");
  await rejected(t, org, { title: "nul\u0000byte" }, "title");
  await rejected(t, org, { bogus: 1 }, "bogus");
  await rejected(t, org, { title: 5 }, "title");
  await rejected(t, org, { requires_approval: "yes" }, "requires_approval");
  await rejected(t, org, { category: "parties" }, "category");
  await rejected(t, org, { visibility: "secret" }, "visibility");
  await rejected(t, org, { status: "cancelled" }, "status");
  await rejected(t, org, { venue: "Hall" }, "venue");
  await rejected(t, org, { client_id: "has spaces" }, "client_id");
  // A title of exactly 120 characters (counted as code points) is fine.
  const ok = expectOk(await api(t, org, "POST", "/events", eventBody({ title: "é".repeat(120) })), 201);
  assert.equal([...ok.event.title].length, 120);
});

appTest("[events create] rules that are unbounded, too long, too frequent or malformed: 422", async (t) => {
  const org = await randomUser(t, "org");
  const threeYears = new Date(Date.now() + 3 * 365 * 24 * 3600_000);
  await rejected(t, org, { recurrence: "FREQ=WEEKLY" }, "recurrence");
  await rejected(t, org, { recurrence: "FREQ=WEEKLY;INTERVAL=2" }, "recurrence");
  await rejected(t, org, { recurrence: "FREQ=DAILY;COUNT=501" }, "recurrence");
  await rejected(t, org, { recurrence: `FREQ=DAILY;UNTIL=${stamp(threeYears)}` }, "recurrence");
  await rejected(t, org, { recurrence: "FREQ=HOURLY;COUNT=5" }, "recurrence");
  await rejected(t, org, { recurrence: "DTSTART:20300101T100000Z\nRRULE:FREQ=DAILY;COUNT=3" }, "recurrence");
  await rejected(t, org, { recurrence: "FREQ=DAILY;COUNT=3;DTSTART=20300101T100000Z" }, "recurrence");
  await rejected(t, org, { recurrence: "every tuesday" }, "recurrence");
  await rejected(t, org, { recurrence: "FREQ=WEEKLY;COUNT=0" }, "recurrence");
  await rejected(t, org, { recurrence: "FREQ=WEEKLY;COUNT=3;UNTIL=20300101" }, "recurrence");
  // 500 is the limit, not over it.
  const ok = expectOk(
    await api(t, org, "POST", "/events", eventBody({ recurrence: "FREQ=DAILY;COUNT=500" })),
    201,
  );
  assert.equal(ok.occurrences, 500);
});

appTest("[events create] malformed requests: 400, 415, 413, 401", async (t) => {
  const org = await randomUser(t, "org");
  const before = await countEventRows(t);
  const garbage = await t.request("/api/v1/events", {
    method: "POST",
    headers: { ...org.bearer, "content-type": "application/json" },
    body: '{"title": "x",',
  });
  assert.equal(garbage.status, 400);
  assert.equal((await garbage.json()).error.code, "bad_request");
  const wrongType = await t.request("/api/v1/events", {
    method: "POST",
    headers: { ...org.bearer, "content-type": "text/plain" },
    body: JSON.stringify(eventBody()),
  });
  assert.equal(wrongType.status, 415);
  await wrongType.body?.cancel();
  const big = await t.request(
    "/api/v1/events",
    json("POST", eventBody({ description: "x".repeat(1_100_000) }), org.bearer),
  );
  assert.equal(big.status, 413);
  await big.body?.cancel();
  const signedOut = await t.request("/api/v1/events", json("POST", eventBody()));
  assert.equal(signedOut.status, 401);
  assert.equal((await signedOut.json()).error.code, "unauthorized");
  const arrayBody = await api(t, org, "POST", "/events", [eventBody()]);
  expectError(arrayBody, 422, "validation_failed");
  assert.deepEqual(await countEventRows(t), before, "nothing written");
});

appTest("[events create] the 21st creation within the hour is 429 with Retry-After", async (t) => {
  const org = await randomUser(t, "org");
  for (let i = 0; i < 20; i++) {
    expectOk(await api(t, org, "POST", "/events", eventBody()), 201);
  }
  const before = await countEventRows(t);
  const res = await t.request("/api/v1/events", json("POST", eventBody(), org.bearer));
  assert.equal(res.status, 429);
  const retry = Number(res.headers.get("retry-after"));
  // The limiter is a sliding window: when all hits land early in one hourly slot, the wait runs
  // into the next slot (up to 1 + 2/21 of the window), so Retry-After may exceed 3600.
  assert.ok(
    retry > 0 && retry <= Math.ceil(3600 * (1 + 2 / 21)),
    `Retry-After ${res.headers.get("retry-after")}`,
  );
  assert.equal((await res.json()).error.code, "rate_limited");
  assert.deepEqual(await countEventRows(t), before);
  // Someone else is not limited.
  const other = await randomUser(t, "other");
  expectOk(await api(t, other, "POST", "/events", eventBody()), 201);
});
