import assert from "node:assert/strict";
import { notify } from "@/lib/notify/notify.ts";
import { twilioSignature } from "@/lib/notify/twilio.ts";
import type { TestContext } from "./support/app.ts";
import { json, randomUser, type TestUser } from "./support/factories.ts";
import type { FakeTwilio } from "./support/fake_twilio.ts";
import { ESCALATION_SECONDS, TWILIO, withNotifications } from "./support/notify.ts";

const test = (name: string, fn: Parameters<typeof withNotifications>[0], env?: Record<string, string>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn: () => withNotifications(fn, env) });

const NO_TWILIO = { TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "", TWILIO_FROM: "", TWILIO_API_BASE: "" };

/** Without PUBLIC_URL, Plaza checks signatures over the URL the request reached: the test origin. */
const STATUS_URL = "http://localhost/webhooks/twilio/status";
const INBOUND_URL = "http://localhost/webhooks/twilio/inbound";

/** Checks a JSON success answer and returns its body. */
async function okJson(res: Response, status = 200) {
  assert.equal(res.status, status, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

/** Checks an error answer has DESIGN section 6's shape, and returns `error`. */
async function errorJson(res: Response, status: number, code?: string) {
  assert.equal(res.status, status, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const { error } = await res.json();
  assert.equal(typeof error?.code, "string");
  assert.equal(typeof error?.message, "string");
  if (code) assert.equal(error.code, code);
  return error;
}

const askCode = (t: TestContext, user: TestUser, phone: unknown) =>
  t.request("/api/v1/phone", json("POST", { phone }, user.bearer));

const confirm = (t: TestContext, user: TestUser, code: unknown) =>
  t.request("/api/v1/phone/verify", json("POST", { code }, user.bearer));

const phoneState = async (t: TestContext, user: TestUser) =>
  await okJson(await t.request("/api/v1/phone", { headers: user.bearer }));

/** The code in the last text Twilio accepted for `to`. */
function lastCode(twilio: FakeTwilio, to: string): string {
  const sms = twilio.sent.findLast((m) => m.to === to);
  assert.ok(sms, `a text went to ${to}`);
  const code = /Your Plaza code is (\d{6})\./.exec(sms.body)?.[1];
  assert.ok(code, `a 6-digit code in "${sms.body}"`);
  return code;
}

/** A 6-digit code other than `code`. */
const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

/** Asks for a code and confirms it: the user's phone is verified. */
async function verifiedPhone(t: TestContext, twilio: FakeTwilio, user: TestUser, phone: string) {
  await okJson(await askCode(t, user, phone), 202);
  await okJson(await confirm(t, user, lastCode(twilio, phone)));
}

test("[phone] a typed number is normalized, texted a code, and verified with it", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const asked = await okJson(await askCode(t, alice, "  +1 (415) 555-0100 "), 202);
  assert.deepEqual(asked, { pending: "+14155550100" });
  assert.equal(p.twilio.sent.length, 1);
  assert.equal(p.twilio.sent[0].to, "+14155550100");
  assert.equal(p.twilio.sent[0].from, TWILIO.from);
  const code = lastCode(p.twilio, "+14155550100");
  assert.deepEqual(await phoneState(t, alice), {
    phone: null,
    sms_opt_in: false,
    stopped: false,
    pending: "+14155550100",
  });
  const [stored] = await t.platform.db.query<{ code_hash: string }>(
    "select code_hash from plaza.phone_verifications where user_id = $1",
    [alice.id],
  );
  assert.ok(!stored.code_hash.includes(code), "the code is kept hashed");

  const verified = await okJson(await confirm(t, alice, code));
  assert.deepEqual(verified, { phone: "+14155550100", sms_opt_in: true, stopped: false, pending: null });
  const rows = await t.platform.db.query<{ phone: string; sms_opt_in: boolean; stopped_at: Date | null }>(
    "select phone, sms_opt_in, stopped_at from public.user_phones where user_id = $1",
    [alice.id],
  );
  assert.deepEqual(rows, [{ phone: "+14155550100", sms_opt_in: true, stopped_at: null }]);

  // The code is spent: using it again finds nothing to confirm.
  const again = await errorJson(await confirm(t, alice, code), 422, "validation_failed");
  assert.match(again.message, /Ask for a code first/);
});

test("[phone] without Twilio the code waits in the outbox and still verifies", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await okJson(await askCode(t, alice, "+44 20 7946 0018"), 202);
  assert.equal(p.twilio.sent.length, 0, "nothing reached Twilio");
  const rows = await t.platform.db.query<
    { channel: string; recipient: string; status: string; text_body: string; user_id: string }
  >("select channel, recipient, status, text_body, user_id from plaza.outbox");
  assert.equal(rows.length, 1);
  assert.equal(rows[0].channel, "sms");
  assert.equal(rows[0].recipient, "+442079460018");
  assert.equal(rows[0].status, "stored");
  assert.equal(rows[0].user_id, alice.id);
  const code = /Your Plaza code is (\d{6})\./.exec(rows[0].text_body)?.[1];
  assert.ok(code, rows[0].text_body);
  const verified = await okJson(await confirm(t, alice, code));
  assert.equal(verified.phone, "+442079460018");
  assert.equal(verified.sms_opt_in, true);
}, NO_TWILIO);

test("[phone] wrong codes count down; after 5 even the right one is refused", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await okJson(await askCode(t, alice, "+14155550100"), 202);
  const code = lastCode(p.twilio, "+14155550100");
  const bad = wrongCode(code);
  for (const left of ["4 tries", "3 tries", "2 tries", "1 try", "0 tries"]) {
    const error = await errorJson(await confirm(t, alice, bad), 422, "validation_failed");
    assert.match(error.message, new RegExp(`\\(${left} left\\)`));
    assert.deepEqual(error.details, [{ path: "code", message: "Wrong code." }]);
  }
  const locked = await errorJson(await confirm(t, alice, code), 429, "too_many_attempts");
  assert.match(locked.message, /Ask for a new one/);
  assert.equal((await phoneState(t, alice)).phone, null, "not verified");

  // A new code starts a fresh count.
  await okJson(await askCode(t, alice, "+14155550100"), 202);
  const fresh = lastCode(p.twilio, "+14155550100");
  assert.equal((await okJson(await confirm(t, alice, fresh))).phone, "+14155550100");
});

test("[phone] an expired code is refused with 422 code_expired and forgotten", async (t, p) => {
  const alice = await randomUser(t, "alice");
  await okJson(await askCode(t, alice, "+14155550100"), 202);
  const code = lastCode(p.twilio, "+14155550100");
  await t.platform.db.query(
    "update plaza.phone_verifications set expires_at = now() - interval '1 second' where user_id = $1",
    [alice.id],
  );
  await errorJson(await confirm(t, alice, code), 422, "code_expired");
  assert.deepEqual(await phoneState(t, alice), {
    phone: null,
    sms_opt_in: false,
    stopped: false,
    pending: null,
  });
  const after = await errorJson(await confirm(t, alice, code), 422, "validation_failed");
  assert.match(after.message, /Ask for a code first/);
});

test("[phone] malformed numbers, codes and bodies get 422 and send nothing", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const numbers: [string, unknown][] = [
    ["garbage", "not a phone"],
    ["letters", "+1 415 CALL NOW"],
    ["extension", "+1 415 555 0100 ext 2"],
    ["too short", "+1234567"],
    ["too long", "+1234567890123456"],
    ["no +", "4155550100"],
    ["leading zero", "+04155550100"],
    ["a number", 14155550100],
    ["empty", ""],
  ];
  for (const [label, phone] of numbers) {
    const error = await errorJson(await askCode(t, alice, phone), 422, "validation_failed");
    assert.equal(error.details?.[0]?.path, "phone", label);
  }
  const unknown = await errorJson(
    await t.request("/api/v1/phone", json("POST", { phone: "+14155550100", sms_opt_in: true }, alice.bearer)),
    422,
  );
  assert.deepEqual(unknown.details, [{ path: "sms_opt_in", message: "Unknown field." }]);
  await errorJson(await t.request("/api/v1/phone", json("POST", {}, alice.bearer)), 422);
  for (const code of ["12345", "1234567", "abcdef", 123456]) {
    await errorJson(await confirm(t, alice, code), 422, "validation_failed");
  }
  await errorJson(
    await t.request("/api/v1/phone/verify", json("POST", { code: "123456", x: 1 }, alice.bearer)),
    422,
  );
  await errorJson(await t.request("/api/v1/phone", json("PATCH", { sms_opt_in: "no" }, alice.bearer)), 422);
  assert.equal(p.twilio.sent.length, 0);
  const pending = await t.platform.db.query("select 1 from plaza.phone_verifications");
  assert.equal(pending.length, 0);
  // Refused requests did not use up the code allowance.
  for (let i = 0; i < 3; i++) await okJson(await askCode(t, alice, "+14155550100"), 202);
});

test("[phone] every phone endpoint needs a session", async (t, p) => {
  const cases: [string, RequestInit][] = [
    ["/api/v1/phone", {}],
    ["/api/v1/phone", json("POST", { phone: "+14155550100" })],
    ["/api/v1/phone/verify", json("POST", { code: "123456" })],
    ["/api/v1/phone", json("PATCH", { sms_opt_in: false })],
    ["/api/v1/phone", { method: "DELETE" }],
  ];
  for (const [path, init] of cases) await errorJson(await t.request(path, init), 401, "unauthorized");
  assert.equal(p.twilio.sent.length, 0);
});

test("[phone] codes are rate limited per account and per number", async (t, p) => {
  const alice = await randomUser(t, "alice");
  for (let i = 0; i < 3; i++) await okJson(await askCode(t, alice, `+1415555010${i}`), 202);
  const res = await askCode(t, alice, "+14155550109");
  const error = await errorJson(res, 429, "rate_limited");
  const retryAfter = Number(res.headers.get("retry-after"));
  // The sliding window counts the refused hit too, so the wait can reach 1.5 windows (15 min).
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
  assert.equal(error.details.retry_after, retryAfter);
  assert.match(res.headers.get("ratelimit-policy") ?? "", /q=3;w=600/);
  assert.equal(p.twilio.sent.length, 3, "the fourth code was not sent");

  // One number gets at most 5 codes a day, whichever accounts ask.
  const [bob, carol, dave] = [
    await randomUser(t, "bob"),
    await randomUser(t, "carol"),
    await randomUser(t, "dave"),
  ];
  for (const user of [bob, bob, bob, carol, carol]) await okJson(await askCode(t, user, "+14155550199"), 202);
  await errorJson(await askCode(t, dave, "+14155550199"), 429, "rate_limited");
  assert.equal(p.twilio.sent.filter((m) => m.to === "+14155550199").length, 5);
});

test("[phone] a number verified on one account cannot be taken by another", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  // Bob asks first; Alice verifies before Bob types his code in.
  await okJson(await askCode(t, bob, "+14155550100"), 202);
  const bobsCode = lastCode(p.twilio, "+14155550100");
  await verifiedPhone(t, p.twilio, alice, "+14155550100");
  const sent = p.twilio.sent.length;

  const taken = await errorJson(await askCode(t, bob, "+1 415-555-0100"), 409, "phone_taken");
  assert.match(taken.message, /another account/);
  assert.equal(p.twilio.sent.length, sent, "no code texted to Alice's phone for Bob");
  await errorJson(await confirm(t, bob, bobsCode), 409, "phone_taken");
  assert.equal((await phoneState(t, bob)).phone, null);
  const owners = await t.platform.db.query<{ user_id: string }>(
    "select user_id from public.user_phones where phone = '+14155550100'",
  );
  assert.deepEqual(owners, [{ user_id: alice.id }]);

  // Once Alice removes it, Bob may have it.
  await okJson(await t.request("/api/v1/phone", { method: "DELETE", headers: alice.bearer }));
  await verifiedPhone(t, p.twilio, bob, "+14155550100");
  assert.equal((await phoneState(t, bob)).phone, "+14155550100");
});

test("[phone] texts can be switched off and on, and the number removed", async (t, p) => {
  const alice = await randomUser(t, "alice");
  const noPhone = await errorJson(
    await t.request("/api/v1/phone", json("PATCH", { sms_opt_in: true }, alice.bearer)),
    409,
    "no_phone",
  );
  assert.match(noPhone.message, /Verify a phone number first/);
  await verifiedPhone(t, p.twilio, alice, "+14155550100");

  const off = await okJson(
    await t.request("/api/v1/phone", json("PATCH", { sms_opt_in: false }, alice.bearer)),
  );
  assert.deepEqual(off, { phone: "+14155550100", sms_opt_in: false, stopped: false, pending: null });
  assert.equal((await phoneState(t, alice)).sms_opt_in, false);
  const on = await okJson(
    await t.request("/api/v1/phone", json("PATCH", { sms_opt_in: true }, alice.bearer)),
  );
  assert.equal(on.sms_opt_in, true);

  // A pending code for a new number goes with the removal too.
  await okJson(await askCode(t, alice, "+14155550111"), 202);
  const removed = await okJson(await t.request("/api/v1/phone", { method: "DELETE", headers: alice.bearer }));
  assert.deepEqual(removed, { phone: null, sms_opt_in: false, stopped: false, pending: null });
  const left = await t.platform.db.query(
    "select 1 from public.user_phones where user_id = $1 union all select 1 from plaza.phone_verifications where user_id = $1",
    [alice.id],
  );
  assert.equal(left.length, 0);
  const code = lastCode(p.twilio, "+14155550111");
  await errorJson(await confirm(t, alice, code), 422, "validation_failed");
});

// --- Twilio webhooks -----------------------------------------------------------------------------

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
