import assert from "node:assert/strict";
import { localIso } from "@/lib/events/zones.ts";
import { formatTicketCode } from "@/lib/events/rsvps.ts";
import type { TestContext } from "../support/app.ts";
import { api, createEvent, rsvp } from "../support/events.ts";
import { browser, randomUser, type TestUser } from "../support/factories.ts";
import { appTest } from "../support/app.ts";

/** A page as a browser gets it. */
function page(t: TestContext, user: TestUser | null, path: string) {
  return t.request(path, { headers: { ...browser(user?.cookies ?? ""), accept: "text/html" } });
}

/** An HTML form post as a browser sends it. */
function post(t: TestContext, user: TestUser, path: string, body: Record<string, string> = {}) {
  return t.request(path, {
    method: "POST",
    headers: {
      ...browser(user.cookies),
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html",
    },
    body: new URLSearchParams(body),
  });
}

/** December 4th of next year: always ahead, always winter time in Berlin. */
const YEAR = new Date().getUTCFullYear() + 1;

function formValues(extra: Record<string, string> = {}): Record<string, string> {
  return {
    title: "Board games night",
    description: "Bring a **friend**.",
    category: "social",
    starts_at: `${YEAR}-12-04T18:00`,
    ends_at: `${YEAR}-12-04T21:00`,
    timezone: "Europe/Berlin",
    venue_name: "Café Kranz",
    venue_address: "Kranzstr. 1",
    venue_lat: "52.5",
    venue_lng: "13.4",
    online_url: "",
    capacity: "20",
    visibility: "public",
    status: "published",
    repeat: "none",
    repeat_count: "8",
    rrule: "",
    ...extra,
  };
}

const idFrom = (location: string | null) => /^\/events\/([0-9a-f-]{36})$/.exec(location ?? "")?.[1];

appTest("[events pages] the new-event form renders with the time-zone select", async (t) => {
  const org = await randomUser(t, "org");
  const res = await page(t, org, "/events/new");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const html = await res.text();
  assert.match(html, /<select id="f-timezone" name="timezone"/);
  assert.match(html, /<option value="Europe\/Berlin">Europe\/Berlin<\/option>/);
  assert.match(html, /<option value="UTC" selected>UTC<\/option>/);
  assert.match(html, /type="datetime-local"/);
  // The cover picker is the one island (changing a cover needs JavaScript; the rest of the form does not).
  assert.doesNotMatch(
    html,
    /data-island="(?!NotificationBell|CoverPicker)/,
    "the form needs no other island",
  );
  const anon = await page(t, null, "/events/new");
  assert.equal(anon.status, 303);
  assert.equal(anon.headers.get("location"), "/login?next=%2Fevents%2Fnew");
});

appTest("[events pages] creating through the form reads the wall time in the chosen zone", async (t) => {
  const org = await randomUser(t, "org");
  const res = await post(t, org, "/events/new", formValues({ repeat: "weekly", repeat_count: "3" }));
  assert.equal(res.status, 303, await res.clone().text());
  const id = idFrom(res.headers.get("location"));
  assert.ok(id, res.headers.get("location") ?? "");
  const got = await api(t, org, "GET", `/events/${id}`);
  assert.equal(got.body.event.starts_at, `${YEAR}-12-04T17:00:00.000Z`);
  assert.equal(got.body.event.ends_at, `${YEAR}-12-04T20:00:00.000Z`);
  assert.equal(got.body.event.timezone, "Europe/Berlin");
  assert.equal(got.body.event.capacity, 20);
  assert.equal(got.body.event.recurrence, "FREQ=WEEKLY;COUNT=3");
  assert.deepEqual(got.body.event.venue, {
    name: "Café Kranz",
    address: "Kranzstr. 1",
    lat: 52.5,
    lng: 13.4,
  });
});

appTest("[events pages] an invalid form comes back 422 with the input kept and the messages", async (t) => {
  const org = await randomUser(t, "org");
  const res = await post(
    t,
    org,
    "/events/new",
    formValues({ title: "Late <night> games", ends_at: `${YEAR}-12-04T17:00`, capacity: "" }),
  );
  assert.equal(res.status, 422);
  const html = await res.text();
  assert.match(html, /role="alert"/);
  assert.match(html, /Please fix 1 problem/);
  assert.match(html, /<span id="f-ends_at-error" class="field-error">Must be after the start\.<\/span>/);
  assert.ok(
    html.includes('value="Late &lt;night> games"') || html.includes('value="Late &lt;night&gt; games"'),
  );
  assert.ok(html.includes(`value="${YEAR}-12-04T17:00"`));
  assert.match(html, /<option value="Europe\/Berlin" selected>/);
  assert.match(html, /Bring a \*\*friend\*\*\./);

  const coords = await post(
    t,
    org,
    "/events/new",
    formValues({ venue_lng: "", repeat: "custom", rrule: "" }),
  );
  assert.equal(coords.status, 422);
  const text = await coords.text();
  assert.match(text, /Give both latitude and longitude, or neither\./);
  assert.match(text, /Enter a rule/);

  // Rules the backend checks come back beside their field too.
  const rule = await post(t, org, "/events/new", formValues({ repeat: "custom", rrule: "FREQ=WEEKLY" }));
  assert.equal(rule.status, 422);
  assert.match(await rule.text(), /id="f-rrule-error"/);
});

appTest("[events pages] people who do not organize get 403 on the organizer pages", async (t) => {
  const org = await randomUser(t, "org");
  const other = await randomUser(t);
  const ev = await createEvent(t, org);
  for (const path of ["edit", "dashboard", "checkin", "cancel"]) {
    const res = await page(t, other, `/events/${ev.id}/${path}`);
    assert.equal(res.status, 403, path);
    assert.match(await res.text(), /Only the event&#39;s organizers|Only the event's organizers/);
  }
  const edit = await post(t, other, `/events/${ev.id}/edit`, formValues());
  assert.equal(edit.status, 403);
  assert.equal((await page(t, org, `/events/${crypto.randomUUID()}/edit`)).status, 404);
});

appTest("[events pages] edit 'this and following' through the form", async (t) => {
  const org = await randomUser(t, "org");
  const ev = await createEvent(t, org, { recurrence: "FREQ=WEEKLY;COUNT=3" });
  const rows = () =>
    t.platform.db.query<{ id: string; title: string; starts_at: Date; status: string }>(
      `select id, title, starts_at, status from public.events
       where series_id in (select series_id from public.events where id = $1)
          or title = 'Renamed' order by starts_at`,
      [ev.id],
    );
  const before = await rows();
  assert.equal(before.length, 3);
  const second = before[1];

  const form = await page(t, org, `/events/${second.id}/edit`);
  assert.equal(form.status, 200);
  const html = await form.text();
  assert.match(html, /Only this occurrence/);
  assert.match(html, /This and following occurrences/);
  assert.match(html, /<option value="weekly" selected>/);

  const start = new Date(second.starts_at);
  const end = new Date(start.getTime() + 2 * 3600_000);
  const later = new Date(start.getTime() + 3600_000);
  const res = await post(
    t,
    org,
    `/events/${second.id}/edit`,
    formValues({
      title: "Renamed",
      description: ev.description,
      capacity: "",
      venue_name: ev.venue.name,
      venue_address: ev.venue.address,
      venue_lat: String(ev.venue.lat),
      venue_lng: String(ev.venue.lng),
      starts_at: localIso(later, "Europe/Berlin"),
      ends_at: localIso(new Date(end.getTime() + 3600_000), "Europe/Berlin"),
      repeat: "weekly",
      repeat_count: "3",
      scope: "following",
    }),
  );
  assert.equal(res.status, 303, await res.clone().text());
  assert.equal(res.headers.get("location"), `/events/${second.id}`);
  const after = await t.platform.db.query<{ id: string; title: string; starts_at: Date }>(
    `select id, title, starts_at from public.events where id = any($1::uuid[]) order by starts_at`,
    [before.map((r) => r.id)],
  );
  assert.equal(after[0].title, ev.title, "the earlier occurrence keeps its title");
  assert.equal(new Date(after[0].starts_at).getTime(), new Date(before[0].starts_at).getTime());
  assert.deepEqual(after.slice(1).map((r) => r.title), ["Renamed", "Renamed"]);
  assert.equal(new Date(after[1].starts_at).getTime(), later.getTime());

  // "Only this occurrence" changes one row; the earlier part of the series now ends with UNTIL.
  const first = await api(t, org, "GET", `/events/${before[0].id}`);
  assert.match(first.body.event.recurrence, /UNTIL=/);
  const only = await post(
    t,
    org,
    `/events/${before[0].id}/edit`,
    formValues({
      title: "Just once",
      description: ev.description,
      capacity: "",
      venue_name: ev.venue.name,
      venue_address: ev.venue.address,
      venue_lat: String(ev.venue.lat),
      venue_lng: String(ev.venue.lng),
      starts_at: localIso(new Date(before[0].starts_at), "Europe/Berlin"),
      ends_at: localIso(new Date(new Date(before[0].starts_at).getTime() + 2 * 3600_000), "Europe/Berlin"),
      repeat: "custom",
      rrule: first.body.event.recurrence,
      scope: "this",
    }),
  );
  assert.equal(only.status, 303, await only.clone().text());
  const titles = await t.platform.db.query<{ title: string }>(
    "select title from public.events where id = any($1::uuid[]) order by starts_at",
    [before.map((r) => r.id)],
  );
  assert.deepEqual(titles.map((r) => r.title), ["Just once", "Renamed", "Renamed"]);
});

appTest("[events pages] cancel asks first, then cancels", async (t) => {
  const org = await randomUser(t, "org");
  const ev = await createEvent(t, org, { recurrence: "FREQ=DAILY;COUNT=2" });
  const confirm = await page(t, org, `/events/${ev.id}/cancel`);
  assert.equal(confirm.status, 200);
  const html = await confirm.text();
  assert.match(html, /Cancel this event\?/);
  assert.match(html, /value="following"/);
  const res = await post(t, org, `/events/${ev.id}/cancel`, { scope: "following" });
  assert.equal(res.status, 303);
  const rows = await t.platform.db.query<{ status: string }>(
    "select status from public.events where series_id = $1",
    [ev.series_id],
  );
  assert.deepEqual(rows.map((r) => r.status), ["cancelled", "cancelled"]);
});

appTest("[events pages] the ticket page shows the code and its QR code", async (t) => {
  const org = await randomUser(t, "org");
  const guest = await randomUser(t, "guest");
  const other = await randomUser(t);
  const ev = await createEvent(t, org);
  const r = await rsvp(t, guest, ev.id, "going", 1);
  assert.equal(r.body.state, "going");
  const res = await page(t, guest, `/events/${ev.id}/ticket`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.ok(html.includes(formatTicketCode(r.body.ticket_code)), "formatted code");
  assert.match(html, /<div class="ticket-qr" role="img"[^>]*><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(html, /You and 1 guest/);
  assert.doesNotMatch(html, /Checked in at/);

  const none = await page(t, other, `/events/${ev.id}/ticket`);
  assert.equal(none.status, 200);
  const noneHtml = await none.text();
  assert.match(noneHtml, /You have no ticket/);
  assert.doesNotMatch(noneHtml, /<svg xmlns/);

  await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: r.body.ticket_code });
  assert.match(await (await page(t, guest, `/events/${ev.id}/ticket`)).text(), /Checked in at/);
});

appTest("[events pages] check-in form: success, already checked in, unknown code", async (t) => {
  const org = await randomUser(t, "org");
  const guest = await randomUser(t, "guest");
  const ev = await createEvent(t, org);
  const r = await rsvp(t, guest, ev.id, "going", 2);
  const get = await page(t, org, `/events/${ev.id}/checkin`);
  assert.equal(get.status, 200);
  const html = await get.text();
  assert.match(html, /Checked in <strong>0<\/strong> of <strong>1<\/strong> going/);
  assert.match(html, /data-island="CheckinScanner"/);
  assert.match(html, /<form method="post" action="\/events\/[^"]+\/checkin"/);

  const typed = formatTicketCode(r.body.ticket_code).toLowerCase();
  const ok = await post(t, org, `/events/${ev.id}/checkin`, { code: typed });
  assert.equal(ok.status, 200);
  const okHtml = await ok.text();
  assert.match(okHtml, new RegExp(`Checked in: ${guest.name}`));
  assert.match(okHtml, /with 2 guests/);
  assert.match(okHtml, /Checked in <strong>1<\/strong> of <strong>1<\/strong> going/);

  const again = await post(t, org, `/events/${ev.id}/checkin`, { code: r.body.ticket_code });
  assert.equal(again.status, 409);
  assert.match(await again.text(), /Already checked in/);

  const unknown = await post(t, org, `/events/${ev.id}/checkin`, { code: "ZZZZ-ZZZZ-ZZZZ" });
  assert.equal(unknown.status, 404);
  const unknownHtml = await unknown.text();
  assert.match(unknownHtml, /Unknown code/);
  assert.ok(unknownHtml.includes('value="ZZZZ-ZZZZ-ZZZZ"'), "the typed code stays for correction");
});

appTest("[events pages] approve and decline forms on the dashboard", async (t) => {
  const org = await randomUser(t, "org");
  const a = await randomUser(t, "ann"), b = await randomUser(t, "bob");
  const ev = await createEvent(t, org, { requires_approval: true });
  assert.equal((await rsvp(t, a, ev.id, "going")).body.state, "pending");
  assert.equal((await rsvp(t, b, ev.id, "going")).body.state, "pending");
  const dash = await (await page(t, org, `/events/${ev.id}/dashboard?state=pending`)).text();
  assert.match(dash, new RegExp(`action="/events/${ev.id}/attendees/${a.id}/approve\\?state=pending"`));

  const approve = await post(t, org, `/events/${ev.id}/attendees/${a.id}/approve?state=pending`);
  assert.equal(approve.status, 303);
  assert.equal(approve.headers.get("location"), `/events/${ev.id}/dashboard?state=pending`);
  const decline = await post(t, org, `/events/${ev.id}/attendees/${b.id}/decline`);
  assert.equal(decline.status, 303);
  assert.equal((await api(t, a, "GET", `/events/${ev.id}`)).body.event.my_rsvp.state, "going");
  assert.equal((await api(t, b, "GET", `/events/${ev.id}`)).body.event.my_rsvp.state, "declined");

  // Deciding twice is a conflict, shown as a page.
  const twice = await post(t, org, `/events/${ev.id}/attendees/${b.id}/approve`);
  assert.equal(twice.status, 409);
  assert.match(twice.headers.get("content-type") ?? "", /text\/html/);
  assert.equal((await post(t, a, `/events/${ev.id}/attendees/${b.id}/approve`)).status, 403);
});

appTest("[events pages] the dashboard shows figures, the chart island and a filtered table", async (t) => {
  const org = await randomUser(t, "org");
  const people = await Promise.all([1, 2, 3].map(() => randomUser(t)));
  const ev = await createEvent(t, org, { capacity: 2 });
  const codes: string[] = [];
  for (const p of people) {
    const r = await rsvp(t, p, ev.id, "going");
    if (r.body.ticket_code) codes.push(r.body.ticket_code);
  }
  await api(t, org, "POST", `/events/${ev.id}/checkin`, { code: codes[0] });
  const res = await page(t, org, `/events/${ev.id}/dashboard`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<dt>Going<\/dt><dd>2<span class="figure-sub">2 of 2 seats<\/span><\/dd>/);
  assert.match(html, /<dt>Checked in<\/dt><dd>1<span class="figure-sub">show-up rate 50 %<\/span>/);
  assert.match(html, /<dt>Waitlisted<\/dt><dd>1<\/dd>/);
  assert.match(html, /data-island="RsvpChart"/);
  assert.match(html, /Chart data as a table/);
  for (const p of people) assert.ok(html.includes(p.name), p.name);

  const going = await (await page(t, org, `/events/${ev.id}/dashboard?state=waitlisted`)).text();
  assert.ok(going.includes(people[2].name));
  assert.ok(!going.includes(`<th scope="row">${people[0].name}</th>`));
});
