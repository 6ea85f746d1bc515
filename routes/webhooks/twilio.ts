/**
 * Twilio webhooks: `POST /webhooks/twilio/status` (delivery state and price of a text) and
 * `POST /webhooks/twilio/inbound` (STOP / START / HELP from a phone). Each checks
 * `X-Twilio-Signature` over the public URL and the form fields (400 when missing, 403 when wrong)
 * before anything else, and handles each SID (and status) once.
 */
import { Hono } from "hono";
import { AppError, badRequest, forbidden, notFound } from "@/lib/errors.ts";
import { applySmsKeyword } from "@/lib/notify/phone.ts";
import {
  inboundSmsSchema,
  smsKeyword,
  statusCallbackSchema,
  twilioPriceMicros,
  verifyTwilioSignature,
} from "@/lib/notify/twilio.ts";
import type { Queryable } from "@/lib/db/port.ts";
import type { Ctx } from "../env.ts";
import type { AppEnv } from "../env.ts";
import { check, readBody } from "../validate.ts";

/** Reads and verifies a signed Twilio form post; returns its fields. */
async function signedForm(c: Ctx): Promise<Record<string, string>> {
  const { platform } = c.var;
  const twilio = platform.config.twilio;
  if (!twilio) throw notFound("Twilio is not configured.");
  const signature = c.req.header("x-twilio-signature");
  if (!signature) throw badRequest("Missing X-Twilio-Signature.");
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new AppError(415, "unsupported_media_type", "Twilio posts form fields.");
  }
  const text = new TextDecoder().decode(await readBody(c, 64 * 1024));
  const params = new URLSearchParams(text);
  const incoming = new URL(c.req.url);
  const url = `${platform.config.publicUrl ?? incoming.origin}${incoming.pathname}${incoming.search}`;
  if (!await verifyTwilioSignature(twilio.authToken, url, params, signature)) {
    throw forbidden("The X-Twilio-Signature is not valid for this request.", "invalid_signature");
  }
  return Object.fromEntries(params);
}

/** Runs `fn` in one transaction with the receipt of `key`, only the first time `key` is seen. */
async function once(c: Ctx, key: string, fn: (tx: Queryable) => Promise<void>): Promise<boolean> {
  return await c.var.platform.db.transaction(async (tx) => {
    const rows = await tx.query(
      "insert into plaza.webhook_receipts (key) values ($1) on conflict do nothing returning key",
      [key],
    );
    if (!rows.length) return false;
    await fn(tx); // a failure rolls the receipt back too, so Twilio's retry is handled
    return true;
  });
}

const twiml = (message?: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Response>${
    message ? `<Message>${message.replace(/[<>&]/g, "")}</Message>` : ""
  }</Response>`;

/** Twilio webhook routes. */
export const twilioWebhooks = new Hono<AppEnv>()
  .post("/status", async (c) => {
    const form = check(statusCallbackSchema, await signedForm(c), "form");
    const { log } = c.var.platform;
    const failed = form.MessageStatus === "failed" || form.MessageStatus === "undelivered";
    const status = form.MessageStatus === "delivered" ? "delivered" : failed ? form.MessageStatus : null;
    const price = twilioPriceMicros(form.Price);
    const fresh = await once(c, `twilio:${form.MessageSid}:${form.MessageStatus}`, async (tx) => {
      await tx.query(
        `update plaza.deliveries set status = coalesce($2, status), cost_micros = coalesce($3, cost_micros),
           cost_unit = coalesce($4, cost_unit), error = coalesce($5, error), updated_at = now()
         where provider_id = $1 and channel = 'sms'`,
        [
          form.MessageSid,
          status,
          price,
          form.PriceUnit ?? null,
          form.ErrorCode ? `Twilio error ${form.ErrorCode}` : null,
        ],
      );
      if (failed) {
        await tx.query("update plaza.outbox set status = 'failed', error = $2 where provider_id = $1", [
          form.MessageSid,
          `Twilio: ${form.MessageStatus}${form.ErrorCode ? ` (${form.ErrorCode})` : ""}`,
        ]);
      }
    });
    if (!fresh) return c.body(null, 204);
    log.info("twilio status", { sid: form.MessageSid, status: form.MessageStatus, price_micros: price });
    return c.body(null, 204);
  })
  .post("/inbound", async (c) => {
    const form = check(inboundSmsSchema, await signedForm(c), "form");
    const { log } = c.var.platform;
    c.header("content-type", "text/xml; charset=utf-8");
    const keyword = smsKeyword(form.Body);
    const fresh = await once(c, `twilio:${form.MessageSid}`, async (tx) => {
      if (keyword === "stop" || keyword === "start") {
        const changed = await applySmsKeyword(tx, form.From, keyword);
        log.info("sms keyword", { keyword, accounts: changed });
      }
    });
    // Twilio itself answers STOP/START with its standard replies; nothing to add.
    if (!fresh || keyword !== "help") return c.body(twiml());
    return c.body(twiml("Plaza notifications. Reply STOP to stop texts, START to resume."));
  });
