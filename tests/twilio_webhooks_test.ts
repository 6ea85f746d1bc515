import assert from "node:assert/strict";
import { notify } from "@/lib/notify/notify.ts";
import { twilioSignature } from "@/lib/notify/twilio.ts";
import type { TestContext } from "./support/app.ts";
import { randomUser } from "./support/factories.ts";
import {
  errorJson,
  ESCALATION_SECONDS,
  NO_TWILIO,
  notifyTest as test,
  phoneState,
  TWILIO,
  verifiedPhone,
  withNotifications,
} from "./support/notify.ts";

/** Without PUBLIC_URL, Plaza checks signatures over the URL the request reached: the test origin. */
const STATUS_URL = "http://localhost/webhooks/twilio/status";
const INBOUND_URL = "http://localhost/webhooks/twilio/inbound";

/** Posts a request built by the fake (or a variant of one) to the app. */
async function post(t: TestContext, req: Request, override: { body?: string; headers?: HeadersInit } = {}) {
  const headers = new Headers(req.headers);
  for (const [k, v] of new Headers(override.headers)) headers.set(k, v);
  return await t.request(new URL(req.url).pathname, {
    method: "POST",
    headers,
    body: override.body ?? await req.text(),
  });
}

/** A notification escalated to a text through the ladder: returns its id and Twilio's SID. */
async function textedNotification(
  t: TestContext,
  p: Parameters<Parameters<typeof withNotifications>[0]>[1],
  phone: string,
) {
  const user = await randomUser(t);
  await t.platform.db.query("insert into public.user_phones (user_id, phone) values ($1, $2)", [
    user.id,
    phone,
  ]);
  const { id } = await notify(t.platform, user.id, {
    category: "orders",
    template: "system.test",
    dedupKey: `sms-${phone}`,
  });
  await p.drain();
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  const sms = p.twilio.sent.findLast((m) => m.to === phone);
  assert.ok(sms, "the ladder sent a text");
  return { user, id, sid: sms.sid };
}

const statusFields = (sid: string, status: string, to: string, extra: Record<string, string> = {}) => ({
  MessageSid: sid,
  SmsSid: sid,
  MessageStatus: status,
  SmsStatus: status,
  AccountSid: TWILIO.accountSid,
  To: to,
  From: TWILIO.from,
  ApiVersion: "2010-04-01",
  ...extra,
});

let inboundCount = 0;
const inboundFields = (from: string, body: string) => ({
  MessageSid: `SM${(++inboundCount).toString(16).padStart(32, "0")}`,
  AccountSid: TWILIO.accountSid,
  From: from,
  To: TWILIO.from,
  Body: body,
  NumMedia: "0",
});

type SmsDelivery = {
  status: string;
  cost_micros: number | null;
  cost_unit: string | null;
  error: string | null;
};
const smsDelivery = async (t: TestContext, notificationId: number) => {
  const [row] = await t.platform.db.query<SmsDelivery & { updated_at: string }>(
    `select status, cost_micros::int as cost_micros, cost_unit, error, updated_at::text as updated_at
     from plaza.deliveries where notification_id = $1 and channel = 'sms'`,
    [notificationId],
  );
  return row;
};

test("[twilio webhook] a delivered callback records the status and price, once", async (t, p) => {
  const { id, sid } = await textedNotification(t, p, "+14155550100");
  const before = await smsDelivery(t, id);
  assert.equal(before.status, "sent");
  assert.equal(before.cost_micros, null);

  const fields = statusFields(sid, "delivered", "+14155550100", { Price: "-0.00750", PriceUnit: "USD" });
  const res = await post(t, await p.twilio.signedWebhook(STATUS_URL, fields));
  assert.equal(res.status, 204, await res.clone().text());
  assert.equal(await res.text(), "");
  const after = await smsDelivery(t, id);
  assert.deepEqual({ ...after, updated_at: undefined }, {
    status: "delivered",
    cost_micros: 7500,
    cost_unit: "USD",
    error: null,
    updated_at: undefined,
  });

  // Twilio retries: the same callback, or the same SID and status with other fields, change nothing.
  const again = await post(t, await p.twilio.signedWebhook(STATUS_URL, fields));
  assert.equal(again.status, 204);
  const repriced = await post(
    t,
    await p.twilio.signedWebhook(STATUS_URL, { ...fields, Price: "-0.01000" }),
  );
  assert.equal(repriced.status, 204);
  assert.deepEqual(await smsDelivery(t, id), after);
});

test(
  "[twilio webhook] an undelivered callback marks the delivery and the outbox row failed",
  async (t, p) => {
    const { id, sid } = await textedNotification(t, p, "+14155550100");
    const fields = statusFields(sid, "undelivered", "+14155550100", { ErrorCode: "30003" });
    const res = await post(t, await p.twilio.signedWebhook(STATUS_URL, fields));
    assert.equal(res.status, 204);
    const delivery = await smsDelivery(t, id);
    assert.equal(delivery.status, "undelivered");
    assert.equal(delivery.error, "Twilio error 30003");
    const [outbox] = await t.platform.db.query<{ status: string; error: string }>(
      "select status, error from plaza.outbox where provider_id = $1",
      [sid],
    );
    assert.deepEqual(outbox, { status: "failed", error: "Twilio: undelivered (30003)" });
  },
);

test(
  "[twilio webhook] unsigned, mis-signed and tampered posts are refused and change nothing",
  async (t, p) => {
    const { id, sid } = await textedNotification(t, p, "+14155550100");
    const fields = statusFields(sid, "delivered", "+14155550100", { Price: "-0.00750", PriceUnit: "USD" });
    const signed = await p.twilio.signedWebhook(STATUS_URL, fields);
    const body = new URLSearchParams(fields).toString();

    const unsigned = await t.request("/webhooks/twilio/status", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    await errorJson(unsigned, 400, "bad_request");

    const otherToken = await twilioSignature("not-the-token", STATUS_URL, new URLSearchParams(fields));
    await errorJson(
      await post(t, signed.clone(), { headers: { "x-twilio-signature": otherToken } }),
      403,
      "invalid_signature",
    );

    // Signed for the other webhook: the URL is part of the signature.
    const inboundSignature = await twilioSignature(
      TWILIO.authToken,
      INBOUND_URL,
      new URLSearchParams(fields),
    );
    await errorJson(
      await post(t, signed.clone(), { headers: { "x-twilio-signature": inboundSignature } }),
      403,
      "invalid_signature",
    );

    const tampered = new URLSearchParams(fields);
    tampered.set("MessageStatus", "undelivered");
    await errorJson(await post(t, signed.clone(), { body: tampered.toString() }), 403, "invalid_signature");
    const added = `${body}&ErrorCode=30003`;
    await errorJson(await post(t, signed.clone(), { body: added }), 403, "invalid_signature");

    const asJson = await post(t, signed.clone(), {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fields),
    });
    await errorJson(asJson, 415, "unsupported_media_type");

    const delivery = await smsDelivery(t, id);
    assert.equal(delivery.status, "sent", "no refused post changed the delivery");
    assert.equal(delivery.cost_micros, null);
    const receipts = await t.platform.db.query("select 1 from plaza.webhook_receipts");
    assert.equal(receipts.length, 0, "nothing was remembered as handled");

    // The genuine callback still goes through afterwards.
    assert.equal((await post(t, signed)).status, 204);
    assert.equal((await smsDelivery(t, id)).status, "delivered");
  },
);

test("[twilio webhook] a mis-signed STOP does not stop texts", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await verifiedPhone(t, p.twilio, alice, "+14155550100");
  const signed = await p.twilio.signedWebhook(INBOUND_URL, inboundFields("+14155550100", "STOP"));
  await errorJson(await post(t, signed, { headers: { "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl" } }), 403);
  assert.equal((await phoneState(t, alice)).stopped, false);
});

test("[twilio webhook] without Twilio configured the webhooks are not there", async (t, p) => {
  for (const url of [STATUS_URL, INBOUND_URL]) {
    const fields = url === STATUS_URL
      ? statusFields(`SM${"0".repeat(32)}`, "delivered", "+14155550100")
      : inboundFields("+14155550100", "STOP");
    await errorJson(await post(t, await p.twilio.signedWebhook(url, fields)), 404, "not_found");
  }
}, NO_TWILIO);

test("[twilio webhook] STOP from the phone stops texts (email instead), START resumes them", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await verifiedPhone(t, p.twilio, alice, "+14155550100");
  const codes = p.twilio.sent.length;

  const stop = await p.twilio.signedWebhook(INBOUND_URL, inboundFields("+14155550100", " stop "));
  const stopReplay = stop.clone();
  const res = await post(t, stop);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/xml/);
  assert.equal(await res.text(), `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`);
  const [row] = await t.platform.db.query<{ stopped_at: Date | null }>(
    "select stopped_at from public.user_phones where user_id = $1",
    [alice.id],
  );
  assert.ok(row.stopped_at, "stopped_at is set");
  assert.equal((await phoneState(t, alice)).stopped, true);

  const { id } = await notify(t.platform, alice.id, {
    category: "orders",
    template: "system.test",
    dedupKey: "a",
  });
  await p.drain();
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.twilio.sent.length, codes, "no text after STOP");
  assert.equal(p.smtp.messages.length, 1, "email took the text's turn");
  const channels = await t.platform.db.query<{ channel: string }>(
    "select channel from plaza.deliveries where notification_id = $1 order by id",
    [id],
  );
  assert.deepEqual(channels.map((c) => c.channel), ["email"]);

  const start = await post(
    t,
    await p.twilio.signedWebhook(INBOUND_URL, inboundFields("+14155550100", "START")),
  );
  assert.equal(start.status, 200);
  assert.match(start.headers.get("content-type") ?? "", /^text\/xml/);
  assert.equal((await phoneState(t, alice)).stopped, false);

  // Twilio retrying the old STOP (same MessageSid) is ignored.
  const replay = await post(t, stopReplay);
  assert.equal(replay.status, 200);
  assert.match(replay.headers.get("content-type") ?? "", /^text\/xml/);
  assert.equal((await phoneState(t, alice)).stopped, false, "the replayed STOP did not stop texts again");

  await notify(t.platform, alice.id, { category: "orders", template: "system.test", dedupKey: "b" });
  await p.drain();
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.twilio.sent.length, codes + 1, "texts again after START");
  assert.equal(p.twilio.sent.at(-1)?.to, "+14155550100");
});

test("[twilio webhook] HELP is answered with TwiML; other texts get an empty answer", async (t, p) => {
  const help = await post(
    t,
    await p.twilio.signedWebhook(INBOUND_URL, inboundFields("+14155550100", "help")),
  );
  assert.equal(help.status, 200);
  assert.match(help.headers.get("content-type") ?? "", /^text\/xml/);
  const xml = await help.text();
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Message>[^<]+<\/Message><\/Response>$/,
  );
  assert.match(xml, /Reply STOP to stop texts/);

  const other = await post(t, await p.twilio.signedWebhook(INBOUND_URL, inboundFields("+14155550100", "hi")));
  assert.equal(other.status, 200);
  assert.equal(await other.text(), `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`);
});

test("[sms] Twilio's 21610 (recipient texted STOP) fails the text and emails at once", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await t.platform.db.query("insert into public.user_phones (user_id, phone) values ($1, $2)", [
    alice.id,
    "+14155550100",
  ]);
  p.twilio.optedOut("+14155550100");
  const { id } = await notify(t.platform, alice.id, {
    category: "orders",
    template: "system.test",
    dedupKey: "o",
  });
  await p.drain();
  await p.advance(ESCALATION_SECONDS + 1);
  await p.drain();
  assert.equal(p.twilio.sent.length, 0);
  assert.equal(p.smtp.messages.length, 1, "email went out in the same run, without another delay");
  assert.deepEqual(p.smtp.messages[0].to, [alice.email]);
  const rows = await t.platform.db.query<{ channel: string; status: string; error: string | null }>(
    "select channel, status, error from plaza.deliveries where notification_id = $1 order by id",
    [id],
  );
  assert.deepEqual(rows.map((r) => `${r.channel}:${r.status}`), ["sms:failed", "email:sent"]);
  assert.match(rows[0].error ?? "", /unsubscribed/);
  const [outbox] = await t.platform.db.query<{ status: string }>(
    "select status from plaza.outbox where notification_id = $1 and channel = 'sms'",
    [id],
  );
  assert.equal(outbox.status, "failed");
  const queued = await t.platform.db.query("select 1 from plaza.jobs where status = 'queued'");
  assert.equal(queued.length, 0, "the ladder is finished");
});

Deno.test({
  name: "[sms] Twilio's 21610 marks the number stopped, so later notifications skip texts",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withNotifications(async (t, p) => {
      const alice = await randomUser(t, "alice");
      await t.platform.db.query("insert into public.user_phones (user_id, phone) values ($1, $2)", [
        alice.id,
        "+14155550100",
      ]);
      p.twilio.optedOut("+14155550100");
      await notify(t.platform, alice.id, { category: "orders", template: "system.test", dedupKey: "1" });
      await p.advance(ESCALATION_SECONDS + 1);
      await p.drain();
      assert.equal((await phoneState(t, alice)).stopped, true, "the settings page shows texts stopped");
      const { id } = await notify(t.platform, alice.id, {
        category: "orders",
        template: "system.test",
        dedupKey: "2",
      });
      await p.advance(ESCALATION_SECONDS + 1);
      await p.drain();
      const rows = await t.platform.db.query<{ channel: string }>(
        "select channel from plaza.deliveries where notification_id = $1 order by id",
        [id],
      );
      assert.deepEqual(rows.map((r) => r.channel), ["email"], "no second attempt at the stopped number");
    }),
});
