/**
 * Live counts of events over realtime (docs/events.md, "Realtime"), driven with the real supabase-js
 * client against Plaza served on a free port: `event:<id>` is public for public events (signed-out
 * readers get it) and private otherwise (whoever may see the event may join).
 */
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import { appTest, type TestContext } from "../support/app.ts";
import { joinPrivate, type Received, userClient, waitEvent } from "../support/chat.ts";
import { api, createEvent, rsvp } from "../support/events.ts";
import { randomUser } from "../support/factories.ts";
import { client, closeAll, collector, listen, subscribe } from "../support/realtime.ts";

/** Joins the public (non-private) channel `topic` on `c` and collects its broadcasts. */
async function joinPublic(c: SupabaseClient, topic: string) {
  const events = collector<Received>();
  const channel = c.channel(topic).on(
    "broadcast",
    { event: "*" },
    (m) => events.push(m as unknown as Received),
  );
  const { status, error } = await subscribe(channel);
  return { channel, events, status, error };
}

/** Sends a public marker on `topic` and waits until `events` has it (everything earlier has arrived). */
async function publicBarrier(t: TestContext, topic: string, events: { items: Received[] }) {
  const mark = crypto.randomUUID();
  await t.platform.db.query(
    "select realtime.send(jsonb_build_object('mark', $1::text), 'barrier', $2, false)",
    [mark, topic],
  );
  await waitEvent(
    events,
    `the public barrier on ${topic}`,
    (e) => e.event === "barrier" && e.payload?.mark === mark,
  );
}

/** The counts broadcasts collected so far. */
const counts = (events: { items: Received[] }) => events.items.filter((e) => e.event === "counts");

appTest("[events] public event: a signed-out supabase-js client gets counts on event:<id>", async (t) => {
  const server = listen(t);
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const bo = await randomUser(t, "bo");
  const ev = await createEvent(t, org, { capacity: 2, visibility: "public" });
  const anon = client(server.url, t.platform.apiKeys.anonKey);
  try {
    const topic = `event:${ev.id}`;
    const sub = await joinPublic(anon, topic);
    assert.equal(sub.status, "SUBSCRIBED", String(sub.error));

    const r1 = await rsvp(t, ada, ev.id, "going");
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    const first = await waitEvent(
      sub.events,
      "counts after Ada",
      (e) => e.event === "counts" && e.payload.going === 1,
    );
    assert.equal(first.payload.event_id, ev.id);
    assert.equal(first.payload.status, "published");
    assert.equal(first.payload.going_seats, 1);
    assert.equal(first.payload.capacity, 2);
    assert.equal(first.payload.capacity_left, 1);
    assert.equal(first.payload.waitlisted, 0);

    const r2 = await rsvp(t, bo, ev.id, "going", 1);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.state, "waitlisted", "a party of two does not fit one seat");
    const second = await waitEvent(
      sub.events,
      "counts after Bo",
      (e) => e.event === "counts" && e.payload.waitlisted === 1,
    );
    assert.equal(second.payload.going, 1);
    assert.equal(second.payload.capacity_left, 1);

    // Ada leaves: Bo's party is promoted in the same transaction; the last counts say so.
    const r3 = await rsvp(t, ada, ev.id, "not_going");
    assert.equal(r3.status, 200, JSON.stringify(r3.body));
    await publicBarrier(t, topic, sub.events);
    const last = counts(sub.events).at(-1)!;
    assert.equal(last.payload.going, 1);
    assert.equal(last.payload.going_seats, 2);
    assert.equal(last.payload.waitlisted, 0);
    assert.equal(last.payload.capacity_left, 0);
    const got = await api(t, org, "GET", `/events/${ev.id}`);
    assert.equal(got.body.event.counts.capacity_left, last.payload.capacity_left);
    assert.equal(got.body.event.counts.going, last.payload.going);
  } finally {
    await closeAll(anon);
    await server.stop();
  }
});

appTest(
  "[events] members-only event: private join for members, none for the signed out, nothing public",
  async (t) => {
    const server = listen(t);
    const org = await randomUser(t, "org");
    const ada = await randomUser(t, "ada");
    const bo = await randomUser(t, "bo");
    const ev = await createEvent(t, org, { capacity: 10, visibility: "members" });
    const a = userClient(t, server.url, ada);
    const nobody = client(server.url, t.platform.apiKeys.anonKey);
    const onlooker = client(server.url, t.platform.apiKeys.anonKey);
    try {
      const topic = `event:${ev.id}`;
      const sub = await joinPrivate(a, topic);
      assert.equal(sub.status, "SUBSCRIBED", String(sub.error));
      const refused = await subscribe(nobody.channel(topic, { config: { private: true } }));
      assert.equal(refused.status, "CHANNEL_ERROR", "a signed-out private join is refused");
      const pub = await joinPublic(onlooker, topic);
      assert.equal(pub.status, "SUBSCRIBED", String(pub.error));

      const r = await rsvp(t, bo, ev.id, "going", 2);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const c = await waitEvent(
        sub.events,
        "counts for the member",
        (e) => e.event === "counts" && e.payload.going === 1,
      );
      assert.equal(c.payload.going_seats, 3);
      assert.equal(c.payload.capacity_left, 7);
      assert.equal(c.payload.status, "published");

      await publicBarrier(t, topic, pub.events);
      assert.deepEqual(counts(pub.events), [], "the public channel of a members-only event gets no counts");
    } finally {
      await closeAll(a, nobody, onlooker);
      await server.stop();
    }
  },
);

appTest("[events] invite-only event: the private join needs the invitation", async (t) => {
  const server = listen(t);
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const bo = await randomUser(t, "bo");
  const ev = await createEvent(t, org, { capacity: 5, visibility: "invite" });
  assert.ok(ev.invite_token, "organizers see the invitation token");
  const a = userClient(t, server.url, ada);
  const o = userClient(t, server.url, org);
  try {
    const topic = `event:${ev.id}`;
    const refused = await joinPrivate(a, topic);
    assert.equal(refused.status, "CHANNEL_ERROR", "a member who is not invited is refused");
    await a.removeAllChannels();
    const orgSub = await joinPrivate(o, topic);
    assert.equal(orgSub.status, "SUBSCRIBED", String(orgSub.error));

    const accepted = await api(t, ada, "POST", `/events/${ev.id}/invite`, { token: ev.invite_token });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const sub = await joinPrivate(a, topic);
    assert.equal(sub.status, "SUBSCRIBED", String(sub.error));

    // Bo is not invited: his RSVP is refused as if the event did not exist; Ada's goes through.
    const nope = await rsvp(t, bo, ev.id, "going");
    assert.equal(nope.status, 404, JSON.stringify(nope.body));
    const r = await rsvp(t, ada, ev.id, "going");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const c = await waitEvent(
      sub.events,
      "counts for the invited",
      (e) => e.event === "counts" && e.payload.going === 1,
    );
    assert.equal(c.payload.capacity_left, 4);
    await waitEvent(
      orgSub.events,
      "counts for the organizer",
      (e) => e.event === "counts" && e.payload.going === 1,
    );
  } finally {
    await closeAll(a, o);
    await server.stop();
  }
});

appTest("[events] counts after a cancellation carry status cancelled", async (t) => {
  const server = listen(t);
  const org = await randomUser(t, "org");
  const ada = await randomUser(t, "ada");
  const pubEv = await createEvent(t, org, { capacity: 3 });
  const memEv = await createEvent(t, org, { capacity: 3, visibility: "members" });
  const anon = client(server.url, t.platform.apiKeys.anonKey);
  const a = userClient(t, server.url, ada);
  try {
    const pub = await joinPublic(anon, `event:${pubEv.id}`);
    assert.equal(pub.status, "SUBSCRIBED", String(pub.error));
    const priv = await joinPrivate(a, `event:${memEv.id}`);
    assert.equal(priv.status, "SUBSCRIBED", String(priv.error));
    for (const ev of [pubEv, memEv]) {
      const r = await rsvp(t, ada, ev.id, "going");
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const c = await api(t, org, "POST", `/events/${ev.id}/cancel`, {});
      assert.equal(c.status, 200, JSON.stringify(c.body));
    }
    for (const [ev, sub] of [[pubEv, pub], [memEv, priv]] as const) {
      const got = await waitEvent(
        sub.events,
        `cancelled counts of ${ev.id}`,
        (e) => e.event === "counts" && e.payload.status === "cancelled",
      );
      assert.equal(got.payload.event_id, ev.id);
      assert.equal(got.payload.going, 1, "the counts stay as they were");
      assert.ok(got.payload.sequence > ev.sequence, "the cancellation bumps the sequence");
      assert.equal(counts(sub.events).at(-1), got, "nothing after the cancellation");
    }
  } finally {
    await closeAll(anon, a);
    await server.stop();
  }
});
