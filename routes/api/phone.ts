/**
 * `/api/v1/phone`: the caller's phone for SMS: ask for a code, confirm it, switch texts on or off,
 * remove the number. Codes are rate limited per account and per number.
 */
import { Hono } from "hono";
import { z } from "zod";
import { enforce } from "@/lib/kv/rate_limit.ts";
import {
  confirmPhoneVerification,
  phoneStatus,
  removePhone,
  setSmsOptIn,
  startPhoneVerification,
} from "@/lib/notify/phone.ts";
import { normalizePhone } from "@/lib/notify/twilio.ts";
import type { AppEnv } from "../env.ts";
import { requireUser } from "../session.ts";
import { readJson } from "../validate.ts";

const codeRules = {
  perUser: { name: "phone-code-user", limit: 3, windowSeconds: 600 },
  perPhone: { name: "phone-code-number", limit: 5, windowSeconds: 86400 },
  confirmPerUser: { name: "phone-confirm-user", limit: 20, windowSeconds: 600 },
};

const phoneSchema = z.string().max(32).transform((s, ctx) => {
  const phone = normalizePhone(s);
  if (!phone) {
    ctx.addIssue({ code: "custom", message: "Use the international format, like +14155550100." });
    return z.NEVER;
  }
  return phone;
});

/** Phone API routes. */
export const phoneApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = requireUser(c);
    return c.json(await phoneStatus(c.var.platform.db, claims.sub));
  })
  .post("/", async (c) => {
    const claims = requireUser(c);
    const { platform } = c.var;
    const { phone } = await readJson(c, z.strictObject({ phone: phoneSchema }));
    enforce(codeRules.perUser, await platform.limiter.hit(codeRules.perUser, claims.sub));
    enforce(codeRules.perPhone, await platform.limiter.hit(codeRules.perPhone, phone));
    await startPhoneVerification(platform, claims.sub, phone);
    return c.json({ pending: phone }, 202);
  })
  .post("/verify", async (c) => {
    const claims = requireUser(c);
    const { platform } = c.var;
    const { code } = await readJson(
      c,
      z.strictObject({ code: z.string().regex(/^\d{6}$/, "Enter the 6 digits.") }),
    );
    enforce(codeRules.confirmPerUser, await platform.limiter.hit(codeRules.confirmPerUser, claims.sub));
    await confirmPhoneVerification(platform.db, claims.sub, code);
    return c.json(await phoneStatus(platform.db, claims.sub));
  })
  .patch("/", async (c) => {
    const claims = requireUser(c);
    const { sms_opt_in } = await readJson(c, z.strictObject({ sms_opt_in: z.boolean() }));
    await setSmsOptIn(c.var.platform.db, claims.sub, sms_opt_in);
    return c.json(await phoneStatus(c.var.platform.db, claims.sub));
  })
  .delete("/", async (c) => {
    const claims = requireUser(c);
    await removePhone(c.var.platform.db, claims.sub);
    return c.json(await phoneStatus(c.var.platform.db, claims.sub));
  });
