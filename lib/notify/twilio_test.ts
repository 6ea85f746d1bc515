import assert from "node:assert/strict";
import {
  inboundSmsSchema,
  isE164,
  normalizePhone,
  sendSms,
  smsKeyword,
  type SmsResult,
  statusCallbackSchema,
  type TwilioConfig,
  twilioPriceMicros,
  twilioSignature,
  verifyTwilioSignature,
} from "./twilio.ts";
import { startFakeTwilio } from "@/tests/support/fake_twilio.ts";

const ACCOUNT = { accountSid: "AC" + "0123456789abcdef".repeat(2), authToken: "fake-twilio-auth-token" };
const SID = /^SM[0-9a-f]{32}$/;

async function withFake(
  run: (config: TwilioConfig, fake: Awaited<ReturnType<typeof startFakeTwilio>>) => Promise<void>,
) {
  const fake = await startFakeTwilio(ACCOUNT);
  try {
    await run({ ...ACCOUNT, from: "+15005550006", apiBase: fake.apiBase }, fake);
  } finally {
    await fake.close();
  }
}

Deno.test("[twilio] isE164 accepts + and 8 to 15 digits starting 1-9", () => {
  for (const ok of ["+14155550100", "+442079460958", "+12345678", "+123456789012345"]) {
    assert.equal(isE164(ok), true, ok);
  }
  for (const bad of ["14155550100", "+04155550100", "+1234567", "+1234567890123456", "+1 415 555 0100", ""]) {
    assert.equal(isE164(bad), false, bad);
  }
});

Deno.test("[twilio] normalizePhone turns typed numbers into E.164 or null", () => {
  const table: Array<[string, string | null]> = [
    ["+1 (415) 555-0100", "+14155550100"],
    ["+44 20 7946 0958", "+442079460958"],
    ["  +33.1.23.45.67.89 ", "+33123456789"],
    ["+14155550100", "+14155550100"],
    ["(415) 555-0100", null],
    ["0044 20 7946 0958", null],
    ["+1 415 CALL NOW", null],
    ["+1 415 555 0100 ext 2", null],
    ["+1 234", null],
    ["+1 234 567 890 123 456", null],
    ["+0 415 555 0100", null],
    ["+", null],
  ];
  for (const [input, expected] of table) assert.equal(normalizePhone(input), expected, input);
});

// Twilio's worked example (twilio.com/docs/usage/webhooks/webhooks-security), also the vector the
// twilio-node and twilio-python test suites pin. Its Caller/From are +14158675310; with
// +12349013030 in their place the same algorithm gives 0/KCTR6DLpKmkAf8muzZqo1nDgQ= (checked with
// Python's hmac module), which pins the sort order and concatenation a second time.
const DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
const docParams = (caller: string) =>
  new URLSearchParams({
    CallSid: "CA1234567890ABCDE",
    Caller: caller,
    Digits: "1234",
    From: caller,
    To: "+18005551212",
  });

Deno.test("[twilio] signature matches Twilio's documented example", async () => {
  assert.equal(
    await twilioSignature("12345", DOC_URL, docParams("+14158675310")),
    "GvWf1cFY/Q7PnoempGyD5oXAezc=",
  );
  assert.equal(
    await twilioSignature("12345", DOC_URL, docParams("+12349013030")),
    "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
  );
});

Deno.test("[twilio] signature does not depend on the order params arrive in", async () => {
  const shuffled = new URLSearchParams([...docParams("+14158675310")].reverse());
  assert.equal(await twilioSignature("12345", DOC_URL, shuffled), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
});

Deno.test("[twilio] repeated names sign each distinct value in sorted order, as twilio-node does", async () => {
  const a = new URLSearchParams([["MediaUrl", "b"], ["Body", "x"], ["MediaUrl", "a"]]);
  const b = new URLSearchParams([["MediaUrl", "a"], ["MediaUrl", "b"], ["Body", "x"]]);
  const c = new URLSearchParams([["MediaUrl", "b"], ["MediaUrl", "a"], ["MediaUrl", "a"], ["Body", "x"]]);
  const d = new URLSearchParams([["MediaUrl", "a"], ["Body", "x"]]);
  const sig = await twilioSignature("12345", DOC_URL, a);
  assert.equal(await twilioSignature("12345", DOC_URL, b), sig);
  assert.equal(await twilioSignature("12345", DOC_URL, c), sig);
  assert.notEqual(await twilioSignature("12345", DOC_URL, d), sig);
});

Deno.test("[twilio] verify accepts the right signature and rejects tampering", async () => {
  const sig = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
  const params = docParams("+14158675310");
  const check = (url: string, form: URLSearchParams, signature = sig, token = "12345") =>
    verifyTwilioSignature(token, url, form, signature);
  assert.equal(await check(DOC_URL, params), true);
  const tampered = docParams("+14158675310");
  tampered.set("Digits", "9999");
  assert.equal(await check(DOC_URL, tampered), false);
  const extra = docParams("+14158675310");
  extra.append("Body", "hi");
  assert.equal(await check(DOC_URL, extra), false);
  assert.equal(await check(DOC_URL.replace("bar=2", "bar=3"), params), false);
  assert.equal(await check("https://mycompany.com:443/myapp.php?foo=1&bar=2", params), false);
  assert.equal(await check(DOC_URL, params, sig, "54321"), false);
  assert.equal(await check(DOC_URL, params, sig.slice(0, -1)), false);
  assert.equal(await check(DOC_URL, params, ""), false);
});

Deno.test("[twilio] sendSms returns the sid and the fake records the message", async () => {
  await withFake(async (config, fake) => {
    const result = await sendSms(config, "+14155550100", "Your event starts at 7pm", {
      statusCallback: "https://plaza.example/webhooks/twilio/status",
    });
    assert.ok(result.ok);
    assert.match(result.sid, SID);
    assert.equal(result.status, "queued");
    assert.equal(result.priceMicros, null);
    assert.equal(result.priceUnit, "USD");
    assert.deepEqual(fake.sent, [{
      sid: result.sid,
      to: "+14155550100",
      from: "+15005550006",
      body: "Your event starts at 7pm",
      statusCallback: "https://plaza.example/webhooks/twilio/status",
    }]);
  });
});

/** `[status, code, retryable]` of a failed send, or null when it went through. */
const failure = (r: SmsResult) => r.ok ? null : [r.status, r.code, r.retryable];

Deno.test("[twilio] sendSms with a wrong token fails, not retryable, code 20003", async () => {
  await withFake(async (config, fake) => {
    const result = await sendSms({ ...config, authToken: "wrong" }, "+14155550100", "hi");
    assert.deepEqual(failure(result), [401, 20003, false]);
    assert.equal(fake.sent.length, 0);
  });
});

Deno.test("[twilio] sendSms: 500 and 429 are retryable, then the next send goes through", async () => {
  await withFake(async (config, fake) => {
    fake.failNext(500);
    fake.failNext(429);
    assert.deepEqual(failure(await sendSms(config, "+14155550100", "hi")), [500, 20500, true]);
    assert.deepEqual(failure(await sendSms(config, "+14155550100", "hi")), [429, 20429, true]);
    assert.equal(failure(await sendSms(config, "+14155550100", "hi")), null);
    assert.equal(fake.sent.length, 1);
  });
});

Deno.test("[twilio] sendSms: invalid and unsubscribed numbers are final, with Twilio's code", async () => {
  await withFake(async (config, fake) => {
    fake.optedOut("+14155550199");
    assert.deepEqual(failure(await sendSms(config, "+14155550199", "hi")), [400, 21610, false]);
    const invalid = await sendSms(config, "4155550100", "hi");
    assert.deepEqual(failure(invalid), [400, 21211, false]);
    assert.match(invalid.ok ? "" : invalid.error, /not a valid phone number/);
    fake.failNext(400, 21408);
    assert.deepEqual(failure(await sendSms(config, "+14155550100", "hi")), [400, 21408, false]);
    assert.equal(fake.sent.length, 0);
  });
});

Deno.test("[twilio] sendSms: connection refused is retryable with status 0", async () => {
  const fake = await startFakeTwilio(ACCOUNT);
  const apiBase = fake.apiBase;
  await fake.close();
  const result = await sendSms({ ...ACCOUNT, from: "+15005550006", apiBase }, "+14155550100", "hi");
  assert.ok(!result.ok);
  assert.equal(result.status, 0);
  assert.equal(result.code, null);
  assert.equal(result.retryable, true);
  assert.notEqual(result.error, "");
});

Deno.test("[twilio] prices become positive micros", () => {
  assert.equal(twilioPriceMicros("-0.00750"), 7500);
  assert.equal(twilioPriceMicros("-0.0079"), 7900);
  assert.equal(twilioPriceMicros("-1.25"), 1_250_000);
  assert.equal(twilioPriceMicros("-0.0000075"), 8);
  assert.equal(twilioPriceMicros(null), null);
  assert.equal(twilioPriceMicros(""), null);
  assert.equal(twilioPriceMicros("free"), null);
});

Deno.test("[twilio] smsKeyword maps opt-out words, case-insensitive and trimmed", () => {
  const table = {
    stop: ["STOP", " stop\n", "StopAll", "unsubscribe", "cancel", "END", "quit"],
    start: ["START", "yes", "Unstop"],
    help: ["help", "INFO"],
  } as const;
  for (const [keyword, bodies] of Object.entries(table)) {
    for (const body of bodies) assert.equal(smsKeyword(body), keyword, JSON.stringify(body));
  }
  for (const body of ["stop please", "see you at 7", "", "constructor"]) {
    assert.equal(smsKeyword(body), null, body);
  }
});

const callback = {
  SmsSid: "SM" + "a".repeat(32),
  SmsStatus: "delivered",
  MessageSid: "SM" + "a".repeat(32),
  MessageStatus: "delivered",
  AccountSid: ACCOUNT.accountSid,
  From: "+15005550006",
  To: "+14155550100",
  ApiVersion: "2010-04-01",
  Price: "-0.00750",
  PriceUnit: "USD",
};

Deno.test("[twilio] statusCallbackSchema accepts a realistic callback and keeps extra fields", () => {
  const form = Object.fromEntries(new URLSearchParams(callback));
  const parsed = statusCallbackSchema.parse(form);
  assert.equal(parsed.MessageStatus, "delivered");
  assert.equal(parsed.ApiVersion, "2010-04-01");
  assert.equal(
    statusCallbackSchema.safeParse({ ...callback, MessageStatus: "failed", ErrorCode: "30003" }).success,
    true,
  );
});

Deno.test("[twilio] statusCallbackSchema rejects a bad MessageSid or status", () => {
  for (const MessageSid of ["SM123", "CA" + "a".repeat(32), "SM" + "g".repeat(32), ""]) {
    assert.equal(statusCallbackSchema.safeParse({ ...callback, MessageSid }).success, false, MessageSid);
  }
  assert.equal(statusCallbackSchema.safeParse({ ...callback, MessageStatus: "lost" }).success, false);
  assert.equal(statusCallbackSchema.safeParse({ ...callback, Price: "cheap" }).success, false);
});

Deno.test("[twilio] inboundSmsSchema accepts an inbound message and rejects one without From", () => {
  const inbound = {
    MessageSid: "SM" + "b".repeat(32),
    AccountSid: ACCOUNT.accountSid,
    From: "+14155550100",
    To: "+15005550006",
    Body: "STOP",
    NumMedia: "0",
  };
  const parsed = inboundSmsSchema.parse(inbound);
  assert.equal(parsed.NumMedia, "0");
  assert.equal(smsKeyword(parsed.Body), "stop");
  const { From: _from, ...withoutFrom } = inbound;
  assert.equal(inboundSmsSchema.safeParse(withoutFrom).success, false);
  assert.equal(inboundSmsSchema.safeParse({ ...inbound, MessageSid: "SMnope" }).success, false);
});

Deno.test("[twilio] the fake's signed webhook verifies, and fails once a field is changed", async () => {
  const fake = await startFakeTwilio(ACCOUNT);
  try {
    const url = "https://plaza.example/webhooks/twilio/inbound";
    const req = await fake.signedWebhook(url, { MessageSid: "SM" + "c".repeat(32), Body: "HELP" });
    assert.equal(req.method, "POST");
    assert.equal(req.headers.get("content-type"), "application/x-www-form-urlencoded");
    const params = new URLSearchParams(await req.text());
    const signature = req.headers.get("x-twilio-signature") ?? "";
    assert.equal(await verifyTwilioSignature(ACCOUNT.authToken, req.url, params, signature), true);
    params.set("Body", "STOP");
    assert.equal(await verifyTwilioSignature(ACCOUNT.authToken, req.url, params, signature), false);
  } finally {
    await fake.close();
  }
});
