/** Who sees which events (API and RLS straight through SQL), list filters and pagination. */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import type { Queryable } from "@/lib/db/port.ts";
import { appTest, type TestContext } from "../support/app.ts";
import {
  api,
  createEvent,
  expectError,
  expectOk,
  hoursFromNow,
  memberClaims,
  occurrencesOf,
  rsvp,
} from "../support/events.ts";
import { randomUser, type TestUser } from "../support/factories.ts";

/** GET as a signed-out visitor. */
async function anon(t: TestContext, path: string) {
  const res = await t.request(`/api/v1${path}`);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const ids = (body: { events: { id: string }[] }) => body.events.map((e) => e.id);
const as = <T>(t: TestContext, user: TestUser, fn: (tx: Queryable) => Promise<T>) =>
  asUser(t.platform.db, memberClaims(user), fn);

appTest("[events visibility] public, members-only and draft events", async (t) => {
  const [org, other] = await Promise.all([randomUser(t, "org"), randomUser(t, "other")]);
  const pub = await createEvent(t, org, { visibility: "public" });
  const members = await createEvent(t, org, { visibility: "members" });
  const draft = await createEvent(t, org, { status: "draft" });

  assert.equal(expectOk(await anon(t, `/events/${pub.id}`)).event.id, pub.id);
  const anonView = expectOk(await anon(t, `/events/${pub.id}`)).event;
  assert.equal(anonView.my_rsvp, null);
  assert.equal(anonView.can_edit, false);
  assert.deepEqual(anonView.organizers, [{ user_id: org.id, name: org.name }]);
  expectError(await anon(t, `/events/${members.id}`), 404, "not_found");
  expectError(await anon(t, `/events/${draft.id}`), 404, "not_found");
  assert.deepEqual(ids(expectOk(await anon(t, "/events"))), [pub.id]);

  assert.equal(expectOk(await api(t, other, "GET", `/events/${members.id}`)).event.id, members.id);
  expectError(await api(t, other, "GET", `/events/${draft.id}`), 404, "not_found");
  assert.deepEqual(ids(expectOk(await api(t, other, "GET", "/events"))).sort(), [pub.id, members.id].sort());
  // Organizers see their draft (the list shows published events only).
  assert.equal(expectOk(await api(t, org, "GET", `/events/${draft.id}`)).event.status, "draft");
  assert.ok(!ids(expectOk(await api(t, org, "GET", "/events"))).includes(draft.id));
  expectError(await anon(t, "/events/not-a-uuid"), 404);
});

appTest(
  "[events visibility] invite-only: hidden until the invitation is accepted, then every occurrence",
  async (t) => {
    const [org, guest, stranger] = await Promise.all([
      randomUser(t, "org"),
      randomUser(t, "guest"),
      randomUser(t, "stranger"),
    ]);
    const ev = await createEvent(t, org, { visibility: "invite", recurrence: "FREQ=WEEKLY;COUNT=3" });
    const token = ev.invite_token as string;
    assert.ok(token.length >= 8);
    const occ = await occurrencesOf(t, ev.series_id);
    assert.equal(occ.length, 3);
    for (const o of occ) expectError(await api(t, guest, "GET", `/events/${o.id}`), 404);
    assert.deepEqual(ids(expectOk(await api(t, guest, "GET", "/events"))), []);
    expectError(await rsvp(t, guest, ev.id, "going"), 404);
    expectError(await anon(t, `/events/${ev.id}`), 404);

    expectError(await api(t, guest, "POST", `/events/${ev.id}/invite`, { token: "wrong-token-123" }), 404);
    expectError(await api(t, guest, "GET", `/events/${ev.id}`), 404);
    const accepted = expectOk(await api(t, guest, "POST", `/events/${ev.id}/invite`, { token }));
    assert.equal(accepted.event.id, ev.id);
    assert.equal(accepted.event.invite_token, undefined, "only organizers see the token");
    for (const o of occ) assert.equal(expectOk(await api(t, guest, "GET", `/events/${o.id}`)).event.id, o.id);
    assert.deepEqual(ids(expectOk(await api(t, guest, "GET", "/events"))), occ.map((o) => o.id));
    assert.equal(expectOk(await rsvp(t, guest, occ[2].id, "going")).state, "going");
    // Still hidden from everyone else; the token of one event does not open another.
    for (const o of occ) expectError(await api(t, stranger, "GET", `/events/${o.id}`), 404);
    const otherInvite = await createEvent(t, org, { visibility: "invite" });
    expectError(await api(t, stranger, "POST", `/events/${otherInvite.id}/invite`, { token }), 404);
    const out = await t.request(`/api/v1/events/${ev.id}/invite`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    assert.equal(out.status, 401);
  },
);

appTest("[events list] from/to, category, full text and distance filters", async (t) => {
  const org = await randomUser(t, "org");
  const berlin = { name: "Hall", address: "", lat: 52.52, lng: 13.405 };
  const potsdam = { name: "Park", address: "", lat: 52.39, lng: 13.06 };
  const munich = { name: "Beer hall", address: "", lat: 48.137, lng: 11.575 };
  const at = (h: number) => ({ starts_at: hoursFromNow(h), ends_at: hoursFromNow(h + 2) });
  const soon = await createEvent(t, org, {
    ...at(24),
    venue: berlin,
    category: "music",
    title: "Jazz quartet",
  });
  const mid = await createEvent(t, org, {
    ...at(72),
    venue: munich,
    category: "food",
    title: "Pretzel tasting",
  });
  const late = await createEvent(t, org, {
    ...at(120),
    venue: potsdam,
    category: "music",
    title: "Choir night",
  });
  const online = await createEvent(t, org, { ...at(96), venue: null, online_url: "https://x.example/q" });

  const q = async (query: string) => ids(expectOk(await anon(t, `/events?${query}`)));
  assert.deepEqual(await q(""), [soon.id, mid.id, online.id, late.id], "by start");
  const window = `from=${encodeURIComponent(hoursFromNow(48))}&to=${encodeURIComponent(hoursFromNow(100))}`;
  assert.deepEqual(await q(window), [mid.id, online.id]);
  assert.deepEqual(await q(`to=${encodeURIComponent(hoursFromNow(30))}`), [soon.id]);
  assert.deepEqual(await q("category=music"), [soon.id, late.id]);
  assert.deepEqual(await q("q=quartet"), [soon.id]);
  assert.deepEqual(await q("q=pretzels"), [mid.id], "stemmed");
  assert.deepEqual(await q("q=nothing%20like%20this"), []);
  assert.deepEqual(await q("category=music&q=choir"), [late.id]);

  const near = expectOk(await anon(t, "/events?near=52.5,13.4&radius_km=50")).events;
  assert.deepEqual(
    near.map((e: { id: string }) => e.id),
    [soon.id, late.id],
    "sorted by start, not distance",
  );
  for (const e of near) assert.equal(typeof e.distance_km, "number");
  assert.ok(near[0].distance_km < 5, String(near[0].distance_km));
  assert.ok(near[1].distance_km > 20 && near[1].distance_km < 40, String(near[1].distance_km));
  assert.deepEqual(await q("near=52.5,13.4&radius_km=5"), [soon.id]);
  assert.deepEqual(await q("near=48.1,11.6&radius_km=700"), [soon.id, mid.id, late.id]);
  assert.equal(expectOk(await anon(t, "/events")).events[0].distance_km, undefined);
});

appTest("[events list] cursor pagination over 120 events returns each once", async (t) => {
  const org = await randomUser(t, "org");
  const first = await createEvent(t, org, { recurrence: "FREQ=DAILY;COUNT=120" });
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { events: { id: string }[]; next_cursor: string | null } = expectOk(
      await anon(t, `/events?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
    );
    seen.push(...ids(page));
    cursor = page.next_cursor;
    pages++;
    assert.ok(pages <= 3, "three pages at most");
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, 120);
  assert.equal(new Set(seen).size, 120);
  assert.deepEqual(seen, (await occurrencesOf(t, first.series_id)).map((o) => o.id), "in start order");
});

appTest("[events list] bad filters are 422", async (t) => {
  const bad = [
    "near=abc",
    "near=91,10",
    "near=52.5",
    "near=52.5,13.4&radius_km=0",
    "near=52.5,13.4&radius_km=-3",
    "radius_km=abc",
    `from=${encodeURIComponent(hoursFromNow(10))}&to=${encodeURIComponent(hoursFromNow(5))}`,
    "from=yesterday",
    "cursor=garbage",
    `cursor=${btoa("2030-01-01T00:00:00Z|not-a-uuid")}`,
    "limit=0",
    "limit=101",
    "category=parties",
    "q=",
    "sort=desc",
  ];
  for (const query of bad) {
    const err = expectError(await anon(t, `/events?${query}`), 422, "validation_failed");
    assert.ok(Array.isArray(err.details) && err.details.length > 0, `${query}: ${JSON.stringify(err)}`);
  }
});

appTest(
  "[events rls] SQL as a signed-in user: no foreign edits, no direct RSVPs, own rows only",
  async (t) => {
    const [org, a, b] = await Promise.all([randomUser(t, "org"), randomUser(t, "a"), randomUser(t, "b")]);
    const ev = await createEvent(t, org, { capacity: 5 });
    expectOk(await rsvp(t, a, ev.id, "going"));
    expectOk(await rsvp(t, b, ev.id, "maybe"));
    expectOk(await api(t, a, "POST", "/me/calendar/rotate"));
    expectOk(await api(t, b, "POST", "/me/calendar/rotate"));

    const changed = await as(
      t,
      a,
      (tx) => tx.query("update public.events set capacity = 1000 where id = $1 returning id", [ev.id]),
    );
    assert.equal(changed.length, 0);
    const [row] = await t.platform.db.query<{ capacity: number }>(
      "select capacity from public.events where id = $1",
      [
        ev.id,
      ],
    );
    assert.equal(Number(row.capacity), 5);

    const refused = async (user: TestUser, sql: string, params: unknown[] = []) => {
      await assert.rejects(
        as(t, user, (tx) => tx.query(sql, params)),
        (err: { code?: string; message?: string }) => {
          assert.equal(err.code, "42501", String(err.message));
          return true;
        },
      );
    };
    await refused(
      a,
      "insert into public.event_rsvps (event_id, user_id, state, ticket_code) values ($1, auth.uid(), 'going', 'X')",
      [
        ev.id,
      ],
    );
    await refused(a, "update public.event_rsvps set guests = 10 where user_id = auth.uid()");
    await refused(a, "update public.events set going_seats = 0 where id = $1", [ev.id]);
    await refused(a, "select public.event_promote($1)", [ev.id]);

    const rsvps = await as(t, a, (tx) => tx.query<{ user_id: string }>("select * from public.event_rsvps"));
    assert.deepEqual(rsvps.map((r) => r.user_id), [a.id]);
    const orgSees = await as(
      t,
      org,
      (tx) => tx.query<{ user_id: string }>("select user_id from public.event_rsvps"),
    );
    assert.deepEqual(
      orgSees.map((r) => r.user_id).sort(),
      [a.id, b.id].sort(),
    );

    // The outbox is for the workers only.
    await as(t, a, (tx) => tx.query("select * from public.event_outbox")).then(
      (rows) => assert.equal(rows.length, 0),
      (err: { code?: string }) => assert.equal(err.code, "42501"),
    );
    const feeds = await as(
      t,
      a,
      (tx) => tx.query<{ token: string }>("select token from public.calendar_feeds"),
    );
    assert.equal(feeds.length, 1);
    const [own] = await t.platform.db.query<{ token: string }>(
      "select token from public.calendar_feeds where user_id = $1",
      [a.id],
    );
    assert.equal(feeds[0].token, own.token);
    const log = await as(t, a, (tx) => tx.query("select * from public.event_rsvp_log"));
    assert.equal(log.length, 0, "the history is for organizers");
  },
);
