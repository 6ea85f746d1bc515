/**
 * Notification test harness: a Plaza wired to a local SMTP server, a Twilio stand-in and a push
 * service fixture, a job runner the test drains by hand, and a clock the test moves forward by
 * shifting the database's timestamps back.
 */
import { createRunner } from "@/lib/jobs/runner.ts";
import { createLogger } from "@/lib/log.ts";
import { workerHandlers } from "@/workers/mod.ts";
import { type TestContext, withApp } from "./app.ts";
import { startFakeTwilio } from "./fake_twilio.ts";
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
