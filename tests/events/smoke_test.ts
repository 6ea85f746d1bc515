import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { api, createEvent, rsvp } from "../support/events.ts";
import { randomUser } from "../support/factories.ts";

appTest("events: create, rsvp, waitlist, promote, cancel", async (t) => {
  const org = await randomUser(t, "org");
  const a = await randomUser(t), b = await randomUser(t);
  const ev = await createEvent(t, org, { capacity: 1, recurrence: "FREQ=WEEKLY;COUNT=3" });
  assert.equal(ev.recurrence, "FREQ=WEEKLY;COUNT=3");
  assert.equal(ev.organizers[0].user_id, org.id);
  let r = await rsvp(t, a, ev.id, "going");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.state, "going");
  r = await rsvp(t, b, ev.id, "going");
  assert.equal(r.body.state, "waitlisted");
  assert.equal(r.body.position, 1);
  r = await rsvp(t, a, ev.id, "not_going");
  assert.equal(r.body.state, "not_going");
  const got = await api(t, b, "GET", `/events/${ev.id}`);
  assert.equal(got.body.event.my_rsvp.state, "going");
  const list = await api(t, a, "GET", `/events?near=52.5,13.4&radius_km=10`);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.equal(list.body.events.length, 3);
  const stats = await api(t, org, "GET", `/events/${ev.id}/stats`);
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  assert.equal(stats.body.waitlist_promotions, 1);
  const ics = await t.request(`/events/${ev.id}.ics`);
  assert.equal(ics.status, 200);
  assert.match(await ics.text(), /BEGIN:VEVENT/);
  const edit = await api(t, org, "PATCH", `/events/${ev.id}`, {
    starts_at: ev.starts_at.replace(/T\d\d/, "T20"),
    scope: "following",
  });
  assert.equal(edit.status, 200, JSON.stringify(edit.body));
  const cancel = await api(t, org, "POST", `/events/${ev.id}/cancel`, { scope: "following" });
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  assert.equal(cancel.body.cancelled, 3);
  const n = await t.platform.db.query(
    "select template from public.notifications where user_id = $1 order by id",
    [b.id],
  );
  assert.deepEqual(n.map((x) => x.template), ["events.promoted", "events.changed", "events.cancelled"]);
});
