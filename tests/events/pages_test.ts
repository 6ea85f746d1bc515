import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { api, createEvent, rsvp } from "../support/events.ts";
import { browser, randomUser, type TestUser } from "../support/factories.ts";

const page = (t: TestContext, path: string, user?: TestUser) =>
  t.request(path, { headers: { accept: "text/html", ...(user ? { cookie: user.cookies } : {}) } });

const form = (user: TestUser, body: Record<string, string>) => ({
  method: "POST",
  headers: {
    ...browser(user.cookies),
    "content-type": "application/x-www-form-urlencoded",
    accept: "text/html",
  },
  body: new URLSearchParams(body),
});

async function html(res: Response, status = 200): Promise<string> {
  const body = await res.text();
  assert.equal(res.status, status, body.slice(0, 500));
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  return body;
}

appTest("[events pages] the list shows events and filters them by text and category", async (t) => {
  const org = await randomUser(t, "org");
  await createEvent(t, org, { title: "Board games night", category: "social" });
  await createEvent(t, org, { title: "Jazz in the park", category: "music", description: "Saxophones" });
  await createEvent(t, org, { title: "Secret draft", status: "draft" });

  const all = await html(await page(t, "/events"));
  assert.match(all, /Board games night/);
  assert.match(all, /Jazz in the park/);
  assert.doesNotMatch(all, /Secret draft/);
  assert.match(all, /href="\/events\/calendar"/);
  assert.doesNotMatch(all, /New event/, "signed out: no New event link");

  const byText = await html(await page(t, "/events?q=jazz&category=&from=&to=&lat=&lng=&radius=25"));
  assert.match(byText, /Jazz in the park/);
  assert.doesNotMatch(byText, /Board games night/);
  assert.match(byText, /value="jazz"/, "the form keeps the search");

  const byCategory = await html(await page(t, "/events?category=social", org));
  assert.match(byCategory, /Board games night/);
  assert.doesNotMatch(byCategory, /Jazz in the park/);
  assert.match(byCategory, /<option value="social" selected/);
  assert.match(byCategory, /href="\/events\/new"/);
  assert.match(byCategory, /href="\/me\/events"/);

  const far = await html(await page(t, "/events?lat=-33.86&lng=151.2&radius=10"));
  assert.match(far, /No events match/);
});

appTest("[events pages] the list pages on with next_cursor", async (t) => {
  const org = await randomUser(t, "org");
  const starts = new Date(Date.now() + 86_400_000);
  await createEvent(t, org, {
    title: "Numbered",
    starts_at: starts.toISOString(),
    ends_at: new Date(starts.getTime() + 3600_000).toISOString(),
    recurrence: "FREQ=DAILY;COUNT=21",
  });
  const first = await html(await page(t, "/events?q=numbered"));
  const next = first.match(/href="([^"]+)" rel="next"/);
  assert.ok(next, "a Next page link");
  assert.equal(first.match(/data-testid="event-card"/g)?.length, 20);
  const second = await html(await page(t, next[1].replaceAll("&amp;", "&")));
  assert.equal(second.match(/data-testid="event-card"/g)?.length, 1);
  assert.match(second, /value="numbered"/, "the filters carry over");
  assert.doesNotMatch(second, /rel="next"/);
});

appTest("[events pages] the event page renders Markdown safely, with links and counts", async (t) => {
  const org = await randomUser(t, "org");
  const ev = await createEvent(t, org, {
    description: "Bring **snacks**.\n\n<script>alert('x')</script> [site](javascript:alert(1))",
    capacity: 10,
  });
  const body = await html(await page(t, `/events/${ev.id}`));
  assert.match(body, /<strong>snacks<\/strong>/);
  assert.match(body, /&lt;script&gt;alert/);
  assert.doesNotMatch(body, /<script>alert/);
  assert.doesNotMatch(body, /href="javascript:/);
  assert.match(body, new RegExp(`href="/events/${ev.id}.ics"`));
  assert.match(body, /Add to Google Calendar/);
  assert.match(body, /https:\/\/www\.openstreetmap\.org\/\?mlat=52\.52&amp;mlon=13\.405/);
  assert.match(body, /Community hall/);
  assert.match(body, /0 going · 10 left/);
  assert.match(body, /\(Europe\/Berlin\)/);
  assert.match(body, /Sign in to RSVP/);
  assert.match(body, new RegExp(`/login\\?next=${encodeURIComponent(`/events/${ev.id}`)}`));
  assert.doesNotMatch(body, /Dashboard/, "no organizer links for visitors");

  const asOrg = await html(await page(t, `/events/${ev.id}`, org));
  assert.match(asOrg, new RegExp(`href="/events/${ev.id}/edit"`));
  assert.match(asOrg, new RegExp(`href="/events/${ev.id}/dashboard"`));
  assert.match(asOrg, new RegExp(`href="/events/${ev.id}/checkin"`));
  assert.match(asOrg, /data-island="RsvpPanel"/);
});

appTest(
  "[events pages] signed out: members-only events and bad ids are 404; drafts show a banner",
  async (t) => {
    const org = await randomUser(t, "org");
    const members = await createEvent(t, org, { visibility: "members", title: "Members meetup" });
    await html(await page(t, `/events/${members.id}`), 404);
    assert.match(
      await html(await page(t, `/events/${members.id}`, await randomUser(t)), 200),
      /Members meetup/,
    );
    await html(await page(t, "/events/not-a-uuid"), 404);

    const draft = await createEvent(t, org, { status: "draft" });
    assert.match(await html(await page(t, `/events/${draft.id}`, org)), /Draft: only the organizers/);
    await html(await page(t, `/events/${draft.id}`, await randomUser(t)), 404);

    const cancelled = await createEvent(t, org);
    assert.equal((await api(t, org, "POST", `/events/${cancelled.id}/cancel`, {})).status, 200);
    assert.match(await html(await page(t, `/events/${cancelled.id}`)), /This event was cancelled/);
  },
);

appTest("[events pages] the RSVP form works without JavaScript, waitlist included", async (t) => {
  const org = await randomUser(t, "org");
  const ana = await randomUser(t), ben = await randomUser(t);
  const ev = await createEvent(t, org, { capacity: 2 });

  const going = await t.request(`/events/${ev.id}/rsvp`, form(ana, { status: "going", guests: "1" }));
  assert.equal(going.status, 303, await going.clone().text());
  assert.equal(going.headers.get("location"), `/events/${ev.id}`);
  const anaPage = await html(await page(t, `/events/${ev.id}`, ana));
  assert.match(anaPage, /You(&#39;|')re going with 1 guest/);
  assert.match(anaPage, new RegExp(`href="/events/${ev.id}/ticket"`));
  assert.match(anaPage, /Full/);

  assert.equal(
    (await t.request(`/events/${ev.id}/rsvp`, form(ben, { status: "going", guests: "" }))).status,
    303,
  );
  assert.match(await html(await page(t, `/events/${ev.id}`, ben)), /#1 on the waitlist/);

  assert.equal((await t.request(`/events/${ev.id}/rsvp`, form(ana, { status: "not_going" }))).status, 303);
  const benPage = await html(await page(t, `/events/${ev.id}`, ben));
  assert.match(benPage, /You(&#39;|')re going/);

  const bad = await t.request(`/events/${ev.id}/rsvp`, form(ana, { status: "sure", guests: "1" }));
  await html(bad, 422);
  const noOrigin = await t.request(`/events/${ev.id}/rsvp`, {
    method: "POST",
    headers: { cookie: ana.cookies, "content-type": "application/x-www-form-urlencoded" },
    body: "status=going",
  });
  assert.equal(noOrigin.status, 403, "cookie form posts need the Origin check");
  const full = await t.request(`/events/${ev.id}/rsvp`, form(ben, { status: "going", guests: "5" }));
  assert.match(await html(full, 409), /Not enough seats/);
});

appTest("[events pages] an invitation link offers a button, and only the POST accepts it", async (t) => {
  const org = await randomUser(t, "org");
  const guest = await randomUser(t);
  const ev = await createEvent(t, org, { visibility: "invite", title: "Private dinner" });
  const orgPage = await html(await page(t, `/events/${ev.id}`, org));
  const link = orgPage.match(/data-testid="invite-link"|value="([^"]*\?invite=[^"]+)"/g);
  assert.ok(link, "the organizer sees the invitation link");
  const token = ev.invite_token as string;
  assert.ok(orgPage.includes(`/events/${ev.id}?invite=${token}`));

  await html(await page(t, `/events/${ev.id}`, guest), 404);
  const offer = await html(await page(t, `/events/${ev.id}?invite=${token}`, guest));
  assert.match(offer, /Accept invitation/);
  assert.doesNotMatch(offer, /Private dinner/, "details only after accepting");
  await html(await page(t, `/events/${ev.id}`, guest), 404);

  const signedOut = await page(t, `/events/${ev.id}?invite=${token}`);
  assert.equal(signedOut.status, 303);
  assert.match(signedOut.headers.get("location") ?? "", /^\/login\?next=/);

  const wrong = await t.request(`/events/${ev.id}/invite`, form(guest, { token: "wrong-token-123" }));
  await html(wrong, 404);
  const accepted = await t.request(`/events/${ev.id}/invite`, form(guest, { token }));
  assert.equal(accepted.status, 303);
  assert.equal(accepted.headers.get("location"), `/events/${ev.id}`);
  const after = await html(await page(t, `/events/${ev.id}`, guest));
  assert.match(after, /Private dinner/);
  assert.doesNotMatch(after, /invite-link/, "only organizers see the link");
});

appTest("[events pages] the calendar shows month, week and day with navigation and no script", async (t) => {
  const org = await randomUser(t, "org");
  const starts = new Date(Date.now() + 3 * 86_400_000);
  starts.setUTCHours(18, 30, 0, 0);
  const ev = await createEvent(t, org, {
    title: "Calendar party",
    starts_at: starts.toISOString(),
    ends_at: new Date(starts.getTime() + 2 * 3600_000).toISOString(),
  });
  const date = starts.toISOString().slice(0, 10);
  const [y, m] = date.split("-").map(Number);
  const prevMonth = new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 10);
  const nextMonth = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);

  const month = await html(await page(t, `/events/calendar?view=month&date=${date}`));
  assert.match(month, /Calendar party/);
  assert.match(month, new RegExp(`href="/events/${ev.id}"`));
  assert.match(month, /18:30/);
  assert.match(month, new RegExp(`view=month&amp;date=${prevMonth}&amp;tz=UTC" rel="prev"`));
  assert.match(month, new RegExp(`view=month&amp;date=${nextMonth}&amp;tz=UTC" rel="next"`));
  assert.match(month, new RegExp(`view=week&amp;date=${date}`));
  assert.doesNotMatch(month, /<script/i, "no island, no JavaScript");
  const cells = month.match(/class="cal-day[^"]*" data-date=/g) ?? [];
  assert.equal(cells.length % 7, 0, "whole weeks");
  const firstCell = month.match(/data-date="(\d{4}-\d{2}-\d{2})"/)![1];
  assert.equal(new Date(`${firstCell}T00:00:00Z`).getUTCDay(), 1, "weeks start on Monday");

  const week = await html(await page(t, `/events/calendar?view=week&date=${date}&tz=America/New_York`));
  assert.match(week, /Calendar party/);
  const nyTime = new Intl.DateTimeFormat("en-GB", {
    timeZone: "America/New_York",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(starts);
  assert.match(week, new RegExp(`<time[^>]*>${nyTime}</time>`), "the time in the chosen zone");
  const prevWeek = new Date(Date.parse(`${date}T00:00:00Z`) - 7 * 86_400_000).toISOString().slice(0, 10);
  assert.match(week, new RegExp(`view=week&amp;date=${prevWeek}&amp;tz=America%2FNew_York" rel="prev"`));

  const day = await html(await page(t, `/events/calendar?view=day&date=${date}&tz=Asia/Tokyo`));
  // 18:30 UTC is 03:30 the next day in Tokyo.
  assert.doesNotMatch(day, /Calendar party/);
  const tokyoDay = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const nextDay = await html(await page(t, `/events/calendar?view=day&date=${tokyoDay}&tz=Asia/Tokyo`));
  assert.match(nextDay, /Calendar party/);
  assert.match(nextDay, /03:30/);

  await html(await page(t, "/events/calendar?tz=Mars/Olympus"), 422);
  await html(await page(t, "/events/calendar?view=year"), 422);
});

appTest(
  "[events pages] /me/events lists going, waitlisted and organizing, and manages the feed",
  async (t) => {
    const org = await randomUser(t, "org");
    const ana = await randomUser(t), ben = await randomUser(t);
    const small = await createEvent(t, org, { title: "Small table", capacity: 1 });
    await createEvent(t, org, { title: "Unpublished plan", status: "draft" });
    assert.equal((await rsvp(t, ana, small.id, "going")).body.state, "going");
    assert.equal((await rsvp(t, ben, small.id, "going")).body.state, "waitlisted");

    const signedOut = await page(t, "/me/events");
    assert.equal(signedOut.status, 303);
    assert.equal(signedOut.headers.get("location"), "/login?next=%2Fme%2Fevents");

    const anaPage = await html(await page(t, "/me/events", ana));
    const going = anaPage.slice(
      anaPage.indexOf('data-testid="going"'),
      anaPage.indexOf('data-testid="waitlisted"'),
    );
    assert.match(going, /Small table/);
    assert.match(await html(await page(t, "/me/events", ben)), /#1 on the waitlist/);

    const orgPage = await html(await page(t, "/me/events", org));
    const organizing = orgPage.slice(orgPage.indexOf('data-testid="organizing"'));
    assert.match(organizing, /Small table/);
    assert.match(organizing, /Unpublished plan/);
    assert.match(orgPage, /Create feed link/);
    assert.doesNotMatch(orgPage, /feed-url/);

    const made = await t.request("/me/calendar/rotate", form(org, {}));
    assert.equal(made.status, 303);
    assert.equal(made.headers.get("location"), "/me/events");
    const withFeed = await html(await page(t, "/me/events", org));
    const url = withFeed.match(/value="(http[^"]+\/calendar\/[^"]+\.ics)" data-testid="feed-url"/)?.[1];
    assert.ok(url, "the feed URL is shown");
    assert.match(withFeed, /Make a new link/);
    assert.equal((await t.request(new URL(url).pathname)).status, 200);
    await t.request("/me/calendar/rotate", form(org, {}));
    assert.equal((await t.request(new URL(url).pathname)).status, 404, "the old link stops working");
  },
);

appTest("[events pages] the nav links to events for everyone", async (t) => {
  const body = await html(await page(t, "/"));
  assert.match(body, /<a href="\/events"[^>]*>Events<\/a>/);
});
