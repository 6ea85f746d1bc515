/** PATCH /events/:id (scopes this and following, recurrence changes) and POST /events/:id/cancel. */
import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import {
  api,
  createEvent,
  expectError,
  expectOk,
  hoursFromNow,
  notificationsOf,
  occurrencesOf,
  rsvp,
} from "../support/events.ts";
import { randomUser } from "../support/factories.ts";

const iso = (d: Date | string) => new Date(d).toISOString();
const plusHours = (d: Date | string, h: number) =>
  new Date(new Date(d).getTime() + h * 3600_000).toISOString();

async function seriesRule(t: TestContext, seriesId: string): Promise<string | null> {
  const [row] = await t.platform.db.query<{ rrule: string | null }>(
    "select rrule from public.event_series where id = $1",
    [seriesId],
  );
  return row.rrule;
}

appTest(
  "[events edit] scope this changes one occurrence, bumps SEQUENCE and tells people going",
  async (t) => {
    const [org, a, m] = await Promise.all([randomUser(t, "org"), randomUser(t), randomUser(t)]);
    const first = await createEvent(t, org, { recurrence: "FREQ=WEEKLY;COUNT=3", timezone: "UTC" });
    const before = await occurrencesOf(t, first.series_id);
    const second = before[1];
    expectOk(await rsvp(t, a, second.id, "going"));
    expectOk(await rsvp(t, m, second.id, "maybe"));
    const newStart = plusHours(second.starts_at, 1);
    const res = expectOk(
      await api(t, org, "PATCH", `/events/${second.id}`, { starts_at: newStart, title: "Moved one" }),
    );
    assert.equal(res.updated, 1);
    assert.equal(res.event.starts_at, newStart);
    assert.equal(res.event.ends_at, plusHours(newStart, 2), "the duration is kept");
    assert.equal(res.event.title, "Moved one");
    assert.equal(res.event.sequence, 1);
    const after = await occurrencesOf(t, first.series_id);
    assert.deepEqual(after.map((o) => o.id), before.map((o) => o.id));
    assert.equal(iso(after[0].starts_at), iso(before[0].starts_at));
    assert.equal(iso(after[2].starts_at), iso(before[2].starts_at));
    for (const o of [after[0], after[2]]) {
      const e = expectOk(await api(t, org, "GET", `/events/${o.id}`)).event;
      assert.equal(e.sequence, 0);
      assert.notEqual(e.title, "Moved one");
    }
    assert.deepEqual(await notificationsOf(t, a.id), ["events.changed"]);
    assert.deepEqual(await notificationsOf(t, m.id), [], "maybe is not told");
    // A title-only change bumps SEQUENCE but is not a "changed" notice.
    const renamed = expectOk(await api(t, org, "PATCH", `/events/${second.id}`, { title: "Renamed" })).event;
    assert.equal(renamed.sequence, 2);
    assert.deepEqual(await notificationsOf(t, a.id), ["events.changed"]);
    // The rule cannot change for one occurrence.
    const err = expectError(
      await api(t, org, "PATCH", `/events/${second.id}`, { recurrence: "FREQ=WEEKLY;COUNT=2" }),
      422,
      "validation_failed",
    );
    assert.ok(err.details.some((d: { path: string }) => d.path === "recurrence"), JSON.stringify(err));
    assert.equal(await seriesRule(t, first.series_id), "FREQ=WEEKLY;COUNT=3");
  },
);

appTest("[events edit] scope following from the 3rd of 6 splits the series and keeps RSVPs", async (t) => {
  const [org, a, b] = await Promise.all([randomUser(t, "org"), randomUser(t), randomUser(t)]);
  const first = await createEvent(t, org, {
    recurrence: "FREQ=WEEKLY;COUNT=6",
    timezone: "UTC",
    starts_at: hoursFromNow(48),
    ends_at: hoursFromNow(50),
  });
  const before = await occurrencesOf(t, first.series_id);
  assert.equal(before.length, 6);
  expectOk(await rsvp(t, a, before[3].id, "going"));
  expectOk(await rsvp(t, b, before[4].id, "maybe"));
  const third = before[2];
  const newStart = plusHours(third.starts_at, 3);
  const res = expectOk(
    await api(t, org, "PATCH", `/events/${third.id}`, { starts_at: newStart, scope: "following" }),
  );
  assert.equal(res.updated, 4);
  assert.equal(res.event.starts_at, newStart);

  // 1-2 unchanged, still in the old series, whose rule now ends before the 3rd.
  const old = await occurrencesOf(t, first.series_id);
  assert.deepEqual(old.map((o) => o.id), [before[0].id, before[1].id]);
  assert.deepEqual(old.map((o) => iso(o.starts_at)), [iso(before[0].starts_at), iso(before[1].starts_at)]);
  const oldRule = await seriesRule(t, first.series_id);
  assert.match(oldRule!, /^FREQ=WEEKLY;UNTIL=\d{8}T\d{6}Z$/);
  assert.doesNotMatch(oldRule!, /COUNT/);
  const until = oldRule!.match(/UNTIL=(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/)!;
  const untilMs = Date.UTC(+until[1], +until[2] - 1, +until[3], +until[4], +until[5], +until[6]);
  assert.ok(untilMs >= new Date(before[1].starts_at).getTime(), "the 2nd is still in the old rule");
  assert.ok(untilMs < new Date(third.starts_at).getTime(), "the old rule ends before the 3rd");

  // 3-6 moved by three hours, same rows, a series of their own.
  const moved = expectOk(await api(t, org, "GET", `/events/${third.id}`)).event;
  assert.notEqual(moved.series_id, first.series_id);
  assert.equal(moved.recurrence, "FREQ=WEEKLY;COUNT=4");
  const rest = await occurrencesOf(t, moved.series_id);
  assert.deepEqual(rest.map((o) => o.id), before.slice(2).map((o) => o.id));
  assert.deepEqual(rest.map((o) => iso(o.starts_at)), before.slice(2).map((o) => plusHours(o.starts_at, 3)));
  assert.deepEqual(rest.map((o) => o.occurrence), [0, 1, 2, 3]);
  assert.deepEqual(moved.organizers.map((o: { user_id: string }) => o.user_id), [org.id]);
  const aNow = expectOk(await api(t, a, "GET", `/events/${before[3].id}`)).event.my_rsvp;
  assert.equal(aNow.state, "going", "RSVPs stay with their occurrence");
  assert.equal(expectOk(await api(t, b, "GET", `/events/${before[4].id}`)).event.my_rsvp.state, "maybe");
  assert.deepEqual(await notificationsOf(t, a.id), ["events.changed"]);

  // A shorter rule from the 3rd: 3-4 stay, the 5th (answered) is cancelled, the 6th (unanswered) deleted.
  const shorter = expectOk(
    await api(t, org, "PATCH", `/events/${third.id}`, {
      recurrence: "FREQ=WEEKLY;COUNT=2",
      scope: "following",
    }),
  );
  assert.equal(shorter.event.recurrence, "FREQ=WEEKLY;COUNT=2");
  const [fifth] = await t.platform.db.query<{ status: string }>(
    "select status from public.events where id = $1",
    [before[4].id],
  );
  assert.equal(fifth?.status, "cancelled");
  const sixth = await t.platform.db.query("select 1 from public.events where id = $1", [before[5].id]);
  assert.equal(sixth.length, 0, "the unanswered occurrence is gone");
  const published = (await occurrencesOf(t, moved.series_id)).filter((o) => o.status === "published");
  assert.deepEqual(published.map((o) => o.id), [before[2].id, before[3].id]);
  expectError(await api(t, b, "GET", `/events/${before[5].id}`), 404);
});

appTest("[events edit] refusals: published to draft, non-organizers, invisible, cancelled", async (t) => {
  const [org, other] = await Promise.all([randomUser(t, "org"), randomUser(t, "other")]);
  const ev = await createEvent(t, org);
  expectError(await api(t, org, "PATCH", `/events/${ev.id}`, { status: "draft" }), 409);
  expectError(
    await api(t, other, "PATCH", `/events/${ev.id}`, { title: "Mine now" }),
    403,
    "not_an_organizer",
  );
  expectError(await api(t, other, "POST", `/events/${ev.id}/cancel`, {}), 403, "not_an_organizer");
  const draft = await createEvent(t, org, { status: "draft" });
  expectError(await api(t, other, "PATCH", `/events/${draft.id}`, { title: "x" }), 404, "not_found");
  expectError(await api(t, other, "PATCH", `/events/${crypto.randomUUID()}`, { title: "x" }), 404);
  expectError(await api(t, org, "PATCH", `/events/${ev.id}`, {}), 422, "validation_failed");
  expectError(await api(t, org, "PATCH", `/events/${ev.id}`, { client_id: "x" }), 422, "validation_failed");
  expectError(await api(t, org, "PATCH", `/events/${ev.id}`, { venue: null }), 422, "validation_failed");
  expectError(
    await api(t, org, "PATCH", `/events/${ev.id}`, { ends_at: ev.starts_at }),
    422,
    "validation_failed",
  );
  // Draft -> published is fine.
  const live = expectOk(await api(t, org, "PATCH", `/events/${draft.id}`, { status: "published" })).event;
  assert.equal(live.status, "published");
  const unchanged = expectOk(await api(t, org, "GET", `/events/${ev.id}`)).event;
  assert.equal(unchanged.title, ev.title);
  assert.equal(unchanged.status, "published");
  assert.equal(unchanged.sequence, 0);
  expectOk(await api(t, org, "POST", `/events/${ev.id}/cancel`, {}));
  expectError(await api(t, org, "PATCH", `/events/${ev.id}`, { title: "Back" }), 409, "event_cancelled");
});

appTest("[events edit] cancel is idempotent and notifies going, waitlisted and pending people", async (t) => {
  const [org, a, b, m] = await Promise.all([
    randomUser(t, "org"),
    randomUser(t),
    randomUser(t),
    randomUser(t),
  ]);
  const ev = await createEvent(t, org, { capacity: 1 });
  expectOk(await rsvp(t, a, ev.id, "going"));
  expectOk(await rsvp(t, b, ev.id, "going"));
  expectOk(await rsvp(t, m, ev.id, "maybe"));
  const first = expectOk(await api(t, org, "POST", `/events/${ev.id}/cancel`, {}));
  assert.equal(first.cancelled, 1);
  assert.equal(first.event.status, "cancelled");
  assert.equal(first.event.sequence, 1);
  const again = expectOk(await api(t, org, "POST", `/events/${ev.id}/cancel`, {}));
  assert.equal(again.cancelled, 0);
  assert.equal(again.event.status, "cancelled");
  assert.equal(again.event.sequence, 1);
  // Without a body, too.
  const bare = await t.request(`/api/v1/events/${ev.id}/cancel`, { method: "POST", headers: org.bearer });
  assert.equal(bare.status, 200);
  assert.equal((await bare.json()).cancelled, 0);
  assert.deepEqual(await notificationsOf(t, a.id), ["events.cancelled"]);
  assert.deepEqual(await notificationsOf(t, b.id), ["events.cancelled"]);
  assert.deepEqual(await notificationsOf(t, m.id), []);
  assert.deepEqual(await notificationsOf(t, org.id, "events.cancelled"), []);

  // Pending requests are told too.
  const approval = await createEvent(t, org, { requires_approval: true });
  expectOk(await rsvp(t, m, approval.id, "going"));
  expectOk(await api(t, org, "POST", `/events/${approval.id}/cancel`));
  assert.deepEqual(await notificationsOf(t, m.id), ["events.cancelled"]);
});

appTest("[events edit] cancel scope following cancels this and every later occurrence", async (t) => {
  const [org, a] = await Promise.all([randomUser(t, "org"), randomUser(t)]);
  const first = await createEvent(t, org, { recurrence: "FREQ=WEEKLY;COUNT=4" });
  const occ = await occurrencesOf(t, first.series_id);
  expectOk(await rsvp(t, a, occ[3].id, "going"));
  const res = expectOk(await api(t, org, "POST", `/events/${occ[1].id}/cancel`, { scope: "following" }));
  assert.equal(res.cancelled, 3);
  const after = await occurrencesOf(t, first.series_id);
  assert.deepEqual(after.map((o) => o.status), ["published", "cancelled", "cancelled", "cancelled"]);
  assert.deepEqual(await notificationsOf(t, a.id), ["events.cancelled"]);
  const again = expectOk(await api(t, org, "POST", `/events/${occ[0].id}/cancel`, { scope: "following" }));
  assert.equal(again.cancelled, 1, "only the one still on");
  expectError(await api(t, org, "POST", `/events/${occ[0].id}/cancel`, { scope: "all" }), 422);
});
