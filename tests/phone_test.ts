import assert from "node:assert/strict";
import { json, randomUser } from "./support/factories.ts";
import {
  askCode,
  confirm,
  errorJson,
  lastCode,
  NO_TWILIO,
  notifyTest as test,
  okJson,
  phoneState,
  TWILIO,
  verifiedPhone,
} from "./support/notify.ts";

/** A 6-digit code other than `code`. */
const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

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
