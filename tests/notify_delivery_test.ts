import assert from "node:assert/strict";
import { notify } from "@/lib/notify/notify.ts";
import type { TestContext } from "./support/app.ts";
import { json, randomUser, type TestUser } from "./support/factories.ts";
import { ESCALATION_SECONDS, notifyTest as test } from "./support/notify.ts";

async function subscribe(t: TestContext, user: TestUser, subscription: unknown) {
  const res = await t.request("/api/v1/push/subscriptions", json("POST", { subscription }, user.bearer));
  assert.equal(res.status, 201, await res.clone().text());
}

async function verifyPhone(t: TestContext, user: TestUser, phone: string) {
  await t.platform.db.query("insert into public.user_phones (user_id, phone) values ($1, $2)", [
    user.id,
    phone,
  ]);
}

const deliveries = (t: TestContext, id: number) =>
  t.platform.db.query<{ channel: string; status: string; provider: string }>(
    "select channel, status, provider from plaza.deliveries where notification_id = $1 order by id",
    [id],
  );

test("[delivery] push at once, then SMS, then email while the notification stays unread", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe();
  await subscribe(t, alice, subscription);
  await verifyPhone(t, alice, "+14155550101");
  const { id } = await notify(t.platform, alice.id, {
    category: "orders",
    template: "system.announcement",
    data: { title: "Your courier is near ☕", body: "Two minutes away.", url: "/orders/1" },
    dedupKey: "near",
  });
  await p.drain();
  assert.equal(p.push.received.length, 1, "push went out at once");
  const pushed = JSON.parse(p.push.received[0].payload);
  assert.equal(pushed.title, "Your courier is near ☕", "decrypted by the push service");
  assert.equal(pushed.url, "/orders/1");
  assert.equal(pushed.click_url, `/api/v1/notifications/${id}/click`);
  assert.match(p.push.received[0].vapidSubject, /^mailto:/);
  assert.equal(p.twilio.sent.length, 0, "no text before the delay");
  assert.equal(p.smtp.messages.length, 0);

  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.twilio.sent.length, 1, "escalated to SMS");
  assert.equal(p.twilio.sent[0].to, "+14155550101");
  assert.match(p.twilio.sent[0].body, /Your courier is near/);
  assert.equal(p.smtp.messages.length, 0);

  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.smtp.messages.length, 1, "escalated to email");
  const mail = p.smtp.parse(p.smtp.messages[0].data);
  assert.equal(mail.headers.subject, "Your courier is near ☕");
  assert.match(mail.text, /Two minutes away\./);
  assert.match(mail.html, /Open in Plaza/);
  assert.deepEqual(p.smtp.messages[0].to, [alice.email]);

  // Nothing more, however often the jobs run.
  await p.advance(10 * ESCALATION_SECONDS);
  await p.drain();
  assert.equal(p.push.received.length + p.twilio.sent.length + p.smtp.messages.length, 3);
  assert.deepEqual((await deliveries(t, id)).map((d) => `${d.channel}:${d.status}:${d.provider}`), [
    "push:sent:webpush",
    "sms:sent:twilio",
    "email:sent:smtp",
  ]);
  const [outbox] = await t.platform.db.query<{ n: number }>("select count(*)::int as n from plaza.outbox");
  assert.equal(outbox.n, 2, "the text and the email are in the outbox too");
});

test("[delivery] reading the notification stops the escalation", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await verifyPhone(t, alice, "+14155550102");
  const { id } = await notify(t.platform, alice.id, {
    category: "orders",
    template: "system.test",
    dedupKey: "t",
  });
  await p.drain();
  assert.deepEqual(await deliveries(t, id), [], "no device: nothing at once, SMS waits for the delay");
  const read = await t.request("/api/v1/notifications/read", json("POST", { ids: [id] }, alice.bearer));
  assert.equal(read.status, 200);
  await p.advance(3 * ESCALATION_SECONDS);
  await p.drain();
  await p.advance(3 * ESCALATION_SECONDS);
  await p.drain();
  assert.equal(p.twilio.sent.length, 0);
  assert.equal(p.smtp.messages.length, 0);
});

test("[delivery] switched-off channels are skipped; without SMS consent email is next", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe();
  await subscribe(t, alice, subscription);
  await verifyPhone(t, alice, "+14155550103");
  const prefs = await t.request(
    "/api/v1/notifications/preferences",
    json("PUT", { categories: { chat: { push: false, sms: true, email: true } } }, alice.bearer),
  );
  assert.equal(prefs.status, 200);
  await t.request("/api/v1/phone", json("PATCH", { sms_opt_in: false }, alice.bearer));
  await notify(t.platform, alice.id, { category: "chat", template: "system.test", dedupKey: "c" });
  await p.drain();
  assert.equal(p.push.received.length, 0, "push is off for chat");
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.twilio.sent.length, 0, "texts are off");
  assert.equal(p.smtp.messages.length, 1, "email after the delay");
});

test("[delivery] quiet hours postpone a notification to their end; critical ones pass", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe();
  await subscribe(t, alice, subscription);
  // Quiet from one hour ago to one hour ahead, in Tokyo time.
  const fmt = (d: Date) =>
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Tokyo",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .format(d);
  const start = fmt(new Date(Date.now() - 3600_000));
  const end = fmt(new Date(Date.now() + 3600_000));
  const saved = await t.request(
    "/api/v1/notifications/preferences",
    json("PUT", { settings: { timezone: "Asia/Tokyo", quiet_start: start, quiet_end: end } }, alice.bearer),
  );
  assert.equal(saved.status, 200);
  await notify(t.platform, alice.id, { category: "chat", template: "system.test", dedupKey: "quiet" });
  await notify(t.platform, alice.id, {
    category: "orders",
    template: "system.test",
    dedupKey: "urgent",
    critical: true,
  });
  await p.drain();
  assert.equal(p.push.received.length, 1, "only the critical one went out");
  const [postponed] = await t.platform.db.query<{ minutes: number }>(
    `select round(extract(epoch from run_at - now()) / 60)::int as minutes from plaza.jobs
     where name = 'notify-deliver' and status = 'queued' and dedup_id like '%@%'`,
  );
  assert.ok(postponed.minutes >= 58 && postponed.minutes <= 61, `postponed ${postponed.minutes} min`);
  await p.advance(3660);
  await p.drain();
  assert.equal(p.push.received.length, 2, "delivered when the quiet hours ended");
});

test("[delivery] an expired push subscription is removed and the ladder goes on", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe();
  await subscribe(t, alice, subscription);
  p.push.expire(subscription.endpoint);
  const { id } = await notify(t.platform, alice.id, {
    category: "chat",
    template: "system.test",
    dedupKey: "e",
  });
  await p.drain();
  const subs = await t.platform.db.query("select 1 from public.push_subscriptions where user_id = $1", [
    alice.id,
  ]);
  assert.equal(subs.length, 0, "410 removed the subscription");
  assert.deepEqual((await deliveries(t, id)).map((d) => `${d.channel}:${d.status}`), ["push:failed"]);
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.smtp.messages.length, 1);
});

test("[delivery] a provider outage is retried with backoff and sends exactly once", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const { subscription } = await p.push.subscribe();
  await subscribe(t, alice, subscription);
  p.push.failNext(subscription.endpoint, 503);
  await notify(t.platform, alice.id, { category: "chat", template: "system.test", dedupKey: "r" });
  await p.drain();
  assert.equal(p.push.received.length, 0);
  const [job] = await t.platform.db.query<{ attempts: number; last_error: string }>(
    "select attempts, last_error from plaza.jobs where name = 'notify-deliver' and status = 'queued'",
  );
  assert.equal(job.attempts, 1);
  assert.match(job.last_error, /503/);
  await t.platform.db.query("update plaza.jobs set run_at = now() where status = 'queued' and attempts = 1");
  await p.drain();
  assert.equal(p.push.received.length, 1, "the retry delivered it");

  // SMTP refuses for a while (451), then accepts: one email in the end.
  await p.advance(ESCALATION_SECONDS + 1);
  p.smtp.failNext(451, "try later");
  await p.drain();
  assert.equal(p.smtp.messages.length, 0);
  const [outbox] = await t.platform.db.query<{ status: string; error: string }>(
    "select status, error from plaza.outbox",
  );
  assert.equal(outbox.status, "stored");
  assert.match(outbox.error, /451/);
  await t.platform.db.query("update plaza.jobs set run_at = now() where status = 'queued'");
  await p.drain();
  assert.equal(p.smtp.messages.length, 1);
  const rows = await t.platform.db.query("select 1 from plaza.outbox");
  assert.equal(rows.length, 1, "one outbox row across the retries");
});

test("[delivery] without SMTP or Twilio, emails and texts stay in the outbox", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await verifyPhone(t, alice, "+14155550104");
  await notify(t.platform, alice.id, { category: "orders", template: "system.test", dedupKey: "o" });
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  const rows = await t.platform.db.query<{ channel: string; status: string; recipient: string }>(
    "select channel, status, recipient from plaza.outbox order by id",
  );
  assert.deepEqual(rows.map((r) => `${r.channel}:${r.status}:${r.recipient}`), [
    "sms:stored:+14155550104",
    `email:stored:${alice.email}`,
  ]);
  assert.equal(p.smtp.messages.length + p.twilio.sent.length, 0);
}, { SMTP_URL: "", TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "", TWILIO_FROM: "", TWILIO_API_BASE: "" });

test("[delivery] a message no retry can send is recorded as failed at once, not retried", async (t, p) => {
  const alice = await randomUser(t, "alice");
  // A line break in the title cannot go into an email subject (header injection is refused).
  const { id } = await notify(t.platform, alice.id, {
    category: "system",
    template: "system.announcement",
    data: { title: "Line one\nBcc: someone@example.test" },
    dedupKey: "inject",
  });
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.smtp.messages.length, 0);
  assert.deepEqual((await deliveries(t, id)).map((d) => `${d.channel}:${d.status}`), ["email:failed"]);
  const queued = await t.platform.db.query("select 1 from plaza.jobs where status = 'queued'");
  assert.equal(queued.length, 0, "nothing left to retry");
});
