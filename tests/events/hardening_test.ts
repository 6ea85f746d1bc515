/** Review findings, kept fixed: invite tokens, final cancellation, cursors, waitlist shrink, logged paths. */
import assert from "node:assert/strict";
import { asUser } from "@/lib/db/as_user.ts";
import { loggedPath } from "@/routes/middleware/request_log.ts";
import { appTest } from "../support/app.ts";
import { api, createEvent, expectError, expectOk, memberClaims, rsvp } from "../support/events.ts";
import { randomUser } from "../support/factories.ts";

appTest(
  "[events hardening] invite tokens are for organizers, and only open invite-only occurrences",
  async (t) => {
    const org = await randomUser(t, "org");
    const other = await randomUser(t);
    const ev = await createEvent(t, org, { visibility: "members", recurrence: "FREQ=WEEKLY;COUNT=2" });
    // Members cannot read the token column, not even of events they can see.
    await assert.rejects(
      asUser(t.platform.db, memberClaims(other), (tx) => tx.query("select invite_token from public.events")),
      /permission denied/,
    );
    const [row] = await t.platform.db.query<{ invite_token: string }>(
      "select invite_token from public.events where id = $1",
      [ev.id],
    );
    // A token of a members-only occurrence opens nothing.
    expectError(await api(t, other, "POST", `/events/${ev.id}/invite`, { token: row.invite_token }), 404);
    // Turning the series invite-only makes a new token, shown to organizers only.
    const edited = expectOk(
      await api(t, org, "PATCH", `/events/${ev.id}`, { visibility: "invite", scope: "following" }),
    );
    assert.ok(edited.event.invite_token);
    assert.notEqual(edited.event.invite_token, row.invite_token);
    expectError(await api(t, other, "GET", `/events/${ev.id}`), 404);
    expectError(await api(t, other, "POST", `/events/${ev.id}/invite`, { token: row.invite_token }), 404);
    const accepted = expectOk(
      await api(t, other, "POST", `/events/${ev.id}/invite`, { token: edited.event.invite_token }),
    );
    assert.equal(accepted.event.invite_token, undefined, "no token for people who are not organizers");
  },
);

appTest("[events hardening] a cancelled event stays cancelled, even for its organizer's SQL", async (t) => {
  const org = await randomUser(t, "org");
  const ev = await createEvent(t, org);
  expectOk(await api(t, org, "POST", `/events/${ev.id}/cancel`, { scope: "this" }));
  await assert.rejects(
    asUser(
      t.platform.db,
      memberClaims(org),
      (tx) =>
        tx.query("update public.events set status = 'published', cancelled_at = null where id = $1", [ev.id]),
    ),
    /stays cancelled/,
  );
});

appTest("[events hardening] a crafted cursor is a 422, not a 500", async (t) => {
  const user = await randomUser(t);
  for (const raw of ["2020|x", `2020|${crypto.randomUUID()}`, "1|1", "not base64 at all"]) {
    const cursor = btoa(raw).replace(/=+$/, "");
    expectError(await api(t, user, "GET", `/events?cursor=${encodeURIComponent(cursor)}`), 422);
  }
});

appTest(
  "[events hardening] a waitlisted party at the head that shrinks and now fits is promoted",
  async (t) => {
    const org = await randomUser(t, "org");
    const a = await randomUser(t), b = await randomUser(t);
    const ev = await createEvent(t, org, { capacity: 3 });
    assert.equal(expectOk(await rsvp(t, a, ev.id, "going", 1)).state, "going");
    assert.equal(expectOk(await rsvp(t, b, ev.id, "going", 2)).state, "waitlisted");
    assert.equal(expectOk(await rsvp(t, b, ev.id, "going", 0)).state, "going");
  },
);

Deno.test("[events hardening] feed tokens stay out of the request log", () => {
  assert.equal(loggedPath("/calendar/abcDEF_123-xyz.ics"), "/calendar/<token>.ics");
  assert.equal(loggedPath("/events/1.ics"), "/events/1.ics");
});
