/**
 * Notification test harness: a Plaza wired to a local SMTP server, a Twilio stand-in and a push
 * service fixture, a job runner the test drains by hand, and a clock the test moves forward by
 * shifting the database's timestamps back.
 */
import assert from "node:assert/strict";
import { createRunner } from "@/lib/jobs/runner.ts";
import { createLogger } from "@/lib/log.ts";
import { workerHandlers } from "@/workers/mod.ts";
import { type TestContext, withApp } from "./app.ts";
import { json, type TestUser } from "./factories.ts";
import { type FakeTwilio, startFakeTwilio } from "./fake_twilio.ts";
import { startPushService } from "./push_service.ts";
import { startSmtpServer } from "./smtp_server.ts";

/** Twilio credentials the stand-in and Plaza share. */
export const TWILIO = {
  accountSid: `AC${"0123456789abcdef".repeat(2)}`,
  authToken: "twilio-test-token",
  from: "+15005550006",
};

/** The escalation delay the harness configures. */
export const ESCALATION_SECONDS = 600;

/** Runs `fn` with the providers started and Plaza configured to use them. */
export async function withNotifications(
  fn: (
    t: TestContext,
    p: {
      smtp: Awaited<ReturnType<typeof startSmtpServer>>;
      twilio: Awaited<ReturnType<typeof startFakeTwilio>>;
      push: Awaited<ReturnType<typeof startPushService>>;
      drain(): Promise<void>;
      advance(seconds: number): Promise<void>;
    },
  ) => Promise<void>,
  env: Record<string, string> = {},
) {
  const smtp = await startSmtpServer();
  const twilio = await startFakeTwilio(TWILIO);
  const push = await startPushService();
  try {
    await withApp(async (t) => {
      const runner = createRunner({
        db: t.platform.db,
        log: createLogger("error"),
        handlers: workerHandlers(t.platform),
      });
      const advance = async (seconds: number) => {
        const shift = [seconds];
        await t.platform.db.query("update plaza.jobs set run_at = run_at - make_interval(secs => $1)", shift);
        await t.platform.db.query(
          "update public.notifications set created_at = created_at - make_interval(secs => $1)",
          shift,
        );
      };
      await fn(t, { smtp, twilio, push, drain: () => runner.drain(), advance });
    }, {
      env: {
        SMTP_URL: smtp.url,
        TWILIO_ACCOUNT_SID: TWILIO.accountSid,
        TWILIO_AUTH_TOKEN: TWILIO.authToken,
        TWILIO_FROM: TWILIO.from,
        TWILIO_API_BASE: twilio.apiBase,
        PLAZA_ESCALATION_DELAY_SECONDS: String(ESCALATION_SECONDS),
        ...env,
      },
    });
  } finally {
    await smtp.close();
    await twilio.close();
    await push.close();
  }
}

/** `Deno.test` over {@link withNotifications}. */
export const notifyTest = (
  name: string,
  fn: Parameters<typeof withNotifications>[0],
  env?: Record<string, string>,
) => Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn: () => withNotifications(fn, env) });

/** Environment that switches Twilio off (texts stay in the outbox). */
export const NO_TWILIO = {
  TWILIO_ACCOUNT_SID: "",
  TWILIO_AUTH_TOKEN: "",
  TWILIO_FROM: "",
  TWILIO_API_BASE: "",
};

/** Checks a JSON success answer and returns its body. */
export async function okJson(res: Response, status = 200) {
  assert.equal(res.status, status, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

/** Checks an error answer has DESIGN section 6's shape, and returns `error`. */
export async function errorJson(res: Response, status: number, code?: string) {
  assert.equal(res.status, status, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const { error } = await res.json();
  assert.equal(typeof error?.code, "string");
  assert.equal(typeof error?.message, "string");
  if (code) assert.equal(error.code, code);
  return error;
}

/** Asks for a verification code for `phone`. */
export const askCode = (t: TestContext, user: TestUser, phone: unknown) =>
  t.request("/api/v1/phone", json("POST", { phone }, user.bearer));

/** Confirms a verification code. */
export const confirm = (t: TestContext, user: TestUser, code: unknown) =>
  t.request("/api/v1/phone/verify", json("POST", { code }, user.bearer));

/** The caller's phone state from the API. */
export const phoneState = async (t: TestContext, user: TestUser) =>
  await okJson(await t.request("/api/v1/phone", { headers: user.bearer }));

/** The code in the last text Twilio accepted for `to`. */
export function lastCode(twilio: FakeTwilio, to: string): string {
  const sms = twilio.sent.findLast((m) => m.to === to);
  assert.ok(sms, `a text went to ${to}`);
  const code = /Your Plaza code is (\d{6})\./.exec(sms.body)?.[1];
  assert.ok(code, `a 6-digit code in "${sms.body}"`);
  return code;
}

/** Asks for a code and confirms it: the user's phone is verified. */
export async function verifiedPhone(t: TestContext, twilio: FakeTwilio, user: TestUser, phone: string) {
  await okJson(await askCode(t, user, phone), 202);
  await okJson(await confirm(t, user, lastCode(twilio, phone)));
}
