/**
 * Reminders and the events outbox (docs/events.md, "Notices, reminders and jobs"), checked on the
 * jobs table itself: which `event-reminder` jobs are queued and for when, what running them (and the
 * `event-outbox` job) sends, across DST changes, moves, departures and cancellations.
 */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { flushOutbox, REMINDER_JOB, sendReminder } from "@/lib/events/outbox.ts";
import type { JobHandler } from "@/lib/jobs/runner.ts";
import { workerHandlers } from "@/workers/mod.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { api, createEvent, hoursFromNow, rsvp } from "../support/events.ts";
import { randomUser, type TestUser } from "../support/factories.ts";

const H = 3600_000;
const DAY = 24 * H;

interface ReminderJob {
  id: string;
  runAt: number;
  dedupId: string;
  payload: { event_id: string; user_id: string; kind: "24h" | "1h"; starts_at: string };
}

/** Queued `event-reminder` jobs, optionally of one event and/or person, by due time. */
async function reminderJobs(t: TestContext, eventId?: string, userId?: string): Promise<ReminderJob[]> {
  const rows = await t.platform.db.query<Record<string, unknown>>(
    `select id, run_at, dedup_id, payload from plaza.jobs
     where name = $1 and status = 'queued'
       and ($2::text is null or payload ->> 'event_id' = $2) and ($3::text is null or payload ->> 'user_id' = $3)
     order by run_at, id`,
    [REMINDER_JOB, eventId ?? null, userId ?? null],
  );
  return rows.map((r) => ({
    id: String(r.id),
    runAt: new Date(r.run_at as string).getTime(),
    dedupId: r.dedup_id as string,
    payload: (typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload) as ReminderJob["payload"],
  }));
}

/** A worker handler by name, bound to the test's platform. */
function handler(t: TestContext, name: string): JobHandler {
  const h = workerHandlers(t.platform).find((x) => x.name === name);
  assert.ok(h, `no handler ${name}`);
  return h;
}

/** Runs a job's handler the way the runner does (payload validated first). */
async function runJob(t: TestContext, name: string, payload: unknown) {
  const h = handler(t, name);
  await h.run(h.payload.parse(payload), { jobId: 1, attempt: 1 });
}

/** Notification templates a person got, oldest first. */
async function templates(t: TestContext, user: TestUser, prefix = "events."): Promise<string[]> {
  const rows = await t.platform.db.query<{ template: string }>(
    "select template from public.notifications where user_id = $1 and template like $2 order by id",
    [user.id, `${prefix}%`],
  );
  return rows.map((r) => r.template);
}

/** The occurrences of a series, by start. */
async function occurrences(t: TestContext, seriesId: string): Promise<{ id: string; startsAt: string }[]> {
  const rows = await t.platform.db.query<{ id: string; starts_at: string }>(
    "select id, starts_at from public.events where series_id = $1 order by starts_at",
    [seriesId],
  );
  return rows.map((r) => ({ id: r.id, startsAt: new Date(r.starts_at).toISOString() }));
}

/** YYYY-MM-DD of the n-th (1-based; -1 = last) Sunday of a month (1-12). */
function sunday(year: number, month: number, n: number): string {
  if (n > 0) {
    const first = new Date(Date.UTC(year, month - 1, 1));
    const d = 1 + ((7 - first.getUTCDay()) % 7) + (n - 1) * 7;
    return new Date(Date.UTC(year, month - 1, d)).toISOString().slice(0, 10);
  }
  const last = new Date(Date.UTC(year, month, 0));
  return new Date(Date.UTC(year, month - 1, last.getUTCDate() - last.getUTCDay())).toISOString().slice(0, 10);
}

/** The first DST change day (by `pick(year)`) whose previous Sunday is more than two days ahead. */
function nextChange(pick: (year: number) => string): string {
  for (let year = new Date().getUTCFullYear();; year++) {
    const day = pick(year);
    if (Date.parse(`${day}T00:00:00Z`) - 7 * DAY > Date.now() + 2 * DAY) return day;
  }
}

const plusDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

/** Everyone going to each occurrence gets exactly two reminders, 24 h and 1 h before its own start. */
async function assertReminders(t: TestContext, user: TestUser, occ: { id: string; startsAt: string }[]) {
  for (const o of occ) {
    const jobs = await reminderJobs(t, o.id, user.id);
    const start = Date.parse(o.startsAt);
    assert.deepEqual(
      jobs.map((j) => [j.payload.kind, new Date(j.runAt).toISOString()]),
      [["24h", new Date(start - DAY).toISOString()], ["1h", new Date(start - H).toISOString()]],
      `reminders of the occurrence at ${o.startsAt}`,
    );
    for (const j of jobs) {
      assert.equal(j.payload.starts_at, o.startsAt);
      assert.equal(j.dedupId, `event-reminder:${o.id}:${user.id}:${j.payload.kind}:${start}`);
    }
  }
}

/** Creates a weekly series of three at `firstStart` in `timezone`, RSVPs `user` to each occurrence. */
async function weeklyGoing(
  t: TestContext,
  org: TestUser,
  user: TestUser,
  firstStart: string,
  timezone: string,
) {
  const ev = await createEvent(t, org, {
    starts_at: firstStart,
    ends_at: new Date(Date.parse(firstStart) + 2 * H).toISOString(),
    timezone,
    recurrence: "FREQ=WEEKLY;COUNT=3",
  });
  const occ = await occurrences(t, ev.series_id);
  for (const o of occ) {
    const r = await rsvp(t, user, o.id, "going");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, "going");
  }
  return occ;
}

appTest("[events] going queues reminders at exactly starts-24h and starts-1h", async (t) => {
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const ev = await createEvent(t, org, { starts_at: hoursFromNow(72), ends_at: hoursFromNow(74) });
  assert.deepEqual(await reminderJobs(t, ev.id), [], "nobody going, no reminders");
  const r = await rsvp(t, ada, ev.id, "going");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await assertReminders(t, ada, [{ id: ev.id, startsAt: ev.starts_at }]);
  // Answering again changes nothing.
  assert.equal((await rsvp(t, ada, ev.id, "going")).status, 200);
  assert.equal((await reminderJobs(t, ev.id)).length, 2);
  // An event in 2 hours: only the 1 h reminder is still ahead.
  const soon = await createEvent(t, org, { starts_at: hoursFromNow(2), ends_at: hoursFromNow(3) });
  assert.equal((await rsvp(t, ada, soon.id, "going")).status, 200);
  const jobs = await reminderJobs(t, soon.id);
  assert.deepEqual(jobs.map((j) => j.payload.kind), ["1h"]);
  assert.equal(jobs[0].runAt, Date.parse(soon.starts_at) - H);
});

appTest(
  "[events] a weekly 10:00 America/New_York series across the US DST start keeps 10:00 local",
  async (t) => {
    const org = await randomUser(t, "org");
    const ada = await randomUser(t, "ada");
    const change = nextChange((y) => sunday(y, 3, 2)); // second Sunday of March
    const occ = await weeklyGoing(t, org, ada, `${plusDays(change, -7)}T15:00:00.000Z`, "America/New_York");
    assert.deepEqual(occ.map((o) => o.startsAt), [
      `${plusDays(change, -7)}T15:00:00.000Z`, // 10:00 EST (UTC-5)
      `${change}T14:00:00.000Z`, // 10:00 EDT (UTC-4)
      `${plusDays(change, 7)}T14:00:00.000Z`,
    ]);
    await assertReminders(t, ada, occ);
    // The 24 h reminder of the DST day itself falls on Saturday at 10:00 EST (15:00Z): 24 real hours.
    const [day24] = await reminderJobs(t, occ[1].id, ada.id);
    assert.equal(new Date(day24.runAt).toISOString(), `${plusDays(change, -1)}T14:00:00.000Z`);
  },
);

appTest(
  "[events] a weekly 10:00 Europe/Berlin series across the end of summer time keeps 10:00 local",
  async (t) => {
    const org = await randomUser(t, "org");
    const ada = await randomUser(t, "ada");
    const change = nextChange((y) => sunday(y, 10, -1)); // last Sunday of October
    const occ = await weeklyGoing(t, org, ada, `${plusDays(change, -7)}T08:00:00.000Z`, "Europe/Berlin");
    assert.deepEqual(occ.map((o) => o.startsAt), [
      `${plusDays(change, -7)}T08:00:00.000Z`, // 10:00 CEST (UTC+2)
      `${change}T09:00:00.000Z`, // 10:00 CET (UTC+1)
      `${plusDays(change, 7)}T09:00:00.000Z`,
    ]);
    await assertReminders(t, ada, occ);
  },
);

appTest("[events] reminders already due are not queued", async (t) => {
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const ev = await createEvent(t, org, {
    starts_at: new Date(Date.now() + 30 * 60_000).toISOString(),
    ends_at: hoursFromNow(2),
  });
  const r = await rsvp(t, ada, ev.id, "going");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.state, "going");
  assert.deepEqual(await reminderJobs(t, ev.id), [], "24 h and 1 h before are both past");
  // Even run by hand, a reminder for a start that is no longer ahead sends nothing.
  const past = await createEvent(t, org, { starts_at: hoursFromNow(0.5), ends_at: hoursFromNow(1) });
  assert.equal((await rsvp(t, ada, past.id, "going")).status, 200);
  await t.platform.db.query(
    "update public.events set starts_at = now() - interval '1 minute' where id = $1",
    [past.id],
  );
  const [row] = await t.platform.db.query<{ starts_at: string }>(
    "select starts_at from public.events where id = $1",
    [
      past.id,
    ],
  );
  const result = await sendReminder(t.platform, {
    event_id: past.id,
    user_id: ada.id,
    kind: "1h",
    starts_at: new Date(row.starts_at).toISOString(),
  });
  assert.equal(result, "skipped");
  assert.deepEqual(await templates(t, ada, "events.reminder"), []);
});

appTest("[events] moving an event queues reminders at the new time; the old ones send nothing", async (t) => {
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const ev = await createEvent(t, org, { starts_at: hoursFromNow(48), ends_at: hoursFromNow(50) });
  assert.equal((await rsvp(t, ada, ev.id, "going")).status, 200);
  const old = await reminderJobs(t, ev.id, ada.id);
  assert.equal(old.length, 2);

  const starts = hoursFromNow(96), ends = hoursFromNow(98);
  const moved = await api(t, org, "PATCH", `/events/${ev.id}`, { starts_at: starts, ends_at: ends });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.event.starts_at, starts);
  await assertReminders(t, ada, [{ id: ev.id, startsAt: starts }]);
  assert.ok(
    (await reminderJobs(t, ev.id)).every((j) => !old.some((o) => o.id === j.id)),
    "the embedded adapter withdrew the old reminders",
  );
  assert.deepEqual(await templates(t, ada), ["events.changed"]);

  // Had they run anyway (QStash may already hold them), they send nothing.
  for (const o of old) {
    assert.equal(await sendReminder(t.platform, o.payload), "skipped");
    await runJob(t, REMINDER_JOB, o.payload);
  }
  assert.deepEqual(await templates(t, ada), ["events.changed"]);
});

appTest(
  "[events] a person who left gets no reminder; a cancelled event sends none and tells everyone",
  async (t) => {
    const org = await randomUser(t, "org");
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const cy = await randomUser(t, "cy");
    const ev = await createEvent(t, org, {
      capacity: 2,
      starts_at: hoursFromNow(48),
      ends_at: hoursFromNow(50),
    });
    for (const u of [ada, bo]) assert.equal((await rsvp(t, u, ev.id, "going")).body.state, "going");
    assert.equal((await rsvp(t, cy, ev.id, "going")).body.state, "waitlisted");
    const adaJobs = await reminderJobs(t, ev.id, ada.id);
    assert.equal(adaJobs.length, 2);

    // Ada leaves: Cy is promoted (and gets reminders); Ada's reminders, if run, send nothing.
    assert.equal((await rsvp(t, ada, ev.id, "not_going")).body.state, "not_going");
    assert.deepEqual(await reminderJobs(t, ev.id, ada.id), [], "withdrawn");
    for (const j of adaJobs) {
      assert.equal(await sendReminder(t.platform, j.payload), "skipped");
      await runJob(t, REMINDER_JOB, j.payload);
    }
    assert.deepEqual(await templates(t, ada), []);
    assert.deepEqual(await templates(t, cy), ["events.promoted"]);
    await assertReminders(t, cy, [{ id: ev.id, startsAt: ev.starts_at }]);

    // Dan joins the waitlist, then the event is cancelled.
    const dan = await randomUser(t, "dan");
    assert.equal((await rsvp(t, dan, ev.id, "going")).body.state, "waitlisted");
    const boJobs = await reminderJobs(t, ev.id, bo.id);
    const cyJobs = await reminderJobs(t, ev.id, cy.id);
    const cancelled = await api(t, org, "POST", `/events/${ev.id}/cancel`, {});
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.deepEqual(await reminderJobs(t, ev.id), [], "reminders stop");
    for (const j of [...boJobs, ...cyJobs]) {
      assert.equal(await sendReminder(t.platform, j.payload), "skipped");
      await runJob(t, REMINDER_JOB, j.payload);
    }
    assert.deepEqual(await templates(t, bo), ["events.cancelled"]);
    assert.deepEqual(await templates(t, cy), ["events.promoted", "events.cancelled"]);
    assert.deepEqual(await templates(t, dan), ["events.cancelled"]);
    assert.deepEqual(await templates(t, ada), [], "who left is not told");
  },
);

appTest("[events] a valid reminder sends exactly one events.reminder, even when run twice", async (t) => {
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const ev = await createEvent(t, org, { starts_at: hoursFromNow(48), ends_at: hoursFromNow(50) });
  assert.equal((await rsvp(t, ada, ev.id, "going")).status, 200);
  const [day, hour] = await reminderJobs(t, ev.id, ada.id);
  await runJob(t, REMINDER_JOB, day.payload);
  await runJob(t, REMINDER_JOB, day.payload);
  assert.equal(await sendReminder(t.platform, day.payload), "sent");
  const rows = await t.platform.db.query<{ template: string; data: Record<string, unknown> }>(
    "select template, data from public.notifications where user_id = $1 and template = 'events.reminder'",
    [ada.id],
  );
  assert.equal(rows.length, 1);
  const data = typeof rows[0].data === "string" ? JSON.parse(rows[0].data) : rows[0].data;
  assert.equal(data.event_id, ev.id);
  assert.equal(data.kind, "24h");
  await runJob(t, REMINDER_JOB, hour.payload);
  assert.deepEqual(await templates(t, ada), ["events.reminder", "events.reminder"], "the 1 h one is its own");
});

appTest("[events] the event-outbox job sends what a crash left behind, once", async (t) => {
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const bo = await randomUser(t, "bo");
  const ev = await createEvent(t, org, {
    capacity: 1,
    starts_at: hoursFromNow(48),
    ends_at: hoursFromNow(50),
  });
  assert.equal((await rsvp(t, ada, ev.id, "going")).body.state, "going");
  assert.equal((await rsvp(t, bo, ev.id, "going")).body.state, "waitlisted");

  // Ada leaves through SQL as herself: the promotion is written, nothing is flushed (a crash after commit).
  const [res] = await asUser(
    t.platform.db,
    { sub: ada.id, role: "authenticated", app_metadata: { role: "member" } },
    (tx) => tx.query<{ r: unknown }>("select public.event_rsvp($1, 'not_going', 0) as r", [ev.id]),
  );
  const r = typeof res.r === "string" ? JSON.parse(res.r) : res.r;
  assert.equal((r as { state: string }).state, "not_going");
  const pending = await t.platform.db.query<{ kind: string; user_id: string }>(
    "select kind, user_id from public.event_outbox where event_id = $1 and done_at is null order by id",
    [ev.id],
  );
  assert.deepEqual(pending.map((p) => [p.kind, p.user_id]), [["left", ada.id], ["promoted", bo.id]]);
  assert.deepEqual(await templates(t, bo), [], "not sent yet");
  assert.deepEqual(await reminderJobs(t, ev.id, bo.id), []);

  await runJob(t, "event-outbox", {});
  assert.deepEqual(await templates(t, bo), ["events.promoted"]);
  await assertReminders(t, bo, [{ id: ev.id, startsAt: ev.starts_at }]);
  assert.deepEqual(await reminderJobs(t, ev.id, ada.id), [], "Ada's reminders withdrawn");
  const [{ left }] = await t.platform.db.query<{ left: number }>(
    "select count(*)::int as left from public.event_outbox where done_at is null",
  );
  assert.equal(left, 0);

  // Again, and rows handled twice (as if a flusher died before marking them and its claim ran out): once.
  await runJob(t, "event-outbox", {});
  const redo = await t.platform.db.query(
    "update public.event_outbox set done_at = null, claimed_until = null where event_id = $1 returning id",
    [ev.id],
  );
  assert.equal(await flushOutbox(t.platform), redo.length);
  assert.deepEqual(await templates(t, bo), ["events.promoted"]);
  assert.equal((await reminderJobs(t, ev.id, bo.id)).length, 2);
});
