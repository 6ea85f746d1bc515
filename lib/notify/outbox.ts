/**
 * Email and SMS through one outbox: every message Plaza produces is written to plaza.outbox first
 * (the admin can read it), then sent through SMTP or Twilio when they are configured. A message
 * tied to a notification is produced once per channel, however often its job is retried; a
 * provider's transient failure is thrown so the job retries, a permanent one is recorded.
 */
import type { Config } from "../config.ts";
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import { sendMail, SmtpError } from "./smtp.ts";
import { sendSms } from "./twilio.ts";

/** What the outbox needs. */
export interface OutboxDeps {
  db: Db;
  config: Config;
  log: Logger;
}

/** The outcome of one message. */
export interface OutboxResult {
  outboxId: number;
  provider: "smtp" | "twilio" | "outbox";
  providerId: string | null;
  status: "stored" | "sent" | "failed";
  costMicros: number | null;
  costUnit: string | null;
  error: string | null;
}

/** Twilio's error for a recipient who texted STOP. */
const TWILIO_UNSUBSCRIBED = 21610;

/** A transient provider failure: the caller's job retries. */
export class RetryableDeliveryError extends Error {
  override name = "RetryableDeliveryError";
}

interface OutboxRow {
  id: string | number;
  status: "stored" | "sent" | "failed";
  provider_id: string | null;
  error: string | null;
}

async function record(
  db: Db,
  m: { channel: "email" | "sms"; to: string; subject: string; text: string; html: string | null },
  ids: { userId?: string; notificationId?: number },
): Promise<OutboxRow & { fresh: boolean }> {
  const params = [m.channel, m.to, m.subject, m.text, m.html, ids.userId ?? null, ids.notificationId ?? null];
  const sql =
    `insert into plaza.outbox (channel, recipient, subject, text_body, html_body, user_id, notification_id)
    values ($1, $2, $3, $4, $5, $6, $7)`;
  if (ids.notificationId === undefined) {
    const [row] = await db.query<OutboxRow>(`${sql} returning id, status, provider_id, error`, params);
    return { ...row, fresh: true };
  }
  const [row] = await db.query<OutboxRow>(
    `${sql} on conflict (notification_id, channel) where notification_id is not null do nothing
     returning id, status, provider_id, error`,
    params,
  );
  if (row) return { ...row, fresh: true };
  const [existing] = await db.query<OutboxRow>(
    "select id, status, provider_id, error from plaza.outbox where notification_id = $1 and channel = $2",
    [ids.notificationId, m.channel],
  );
  return { ...existing, fresh: false };
}

async function mark(
  db: Db,
  id: number,
  status: "sent" | "failed",
  providerId: string | null,
  error: string | null,
) {
  await db.query(
    `update plaza.outbox set status = $2, provider_id = coalesce($3, provider_id), error = $4,
       sent_at = case when $2 = 'sent' then now() else sent_at end where id = $1`,
    [id, status, providerId, error],
  );
}

/** Writes an email to the outbox and sends it over SMTP when SMTP_URL is set. */
export async function sendEmail(
  deps: OutboxDeps,
  mail: { to: string; subject: string; text: string; html: string },
  ids: { userId?: string; notificationId?: number } = {},
): Promise<OutboxResult> {
  const row = await record(deps.db, { channel: "email", ...mail }, ids);
  const outboxId = Number(row.id);
  const base = { outboxId, costMicros: null, costUnit: null };
  if (!deps.config.smtpUrl) {
    return { ...base, provider: "outbox", providerId: null, status: "stored", error: null };
  }
  if (row.status !== "stored") {
    return { ...base, provider: "smtp", providerId: row.provider_id, status: row.status, error: row.error };
  }
  try {
    const sent = await sendMail(deps.config.smtpUrl, { from: deps.config.mailFrom, ...mail });
    await mark(deps.db, outboxId, "sent", sent.messageId, null);
    return { ...base, provider: "smtp", providerId: sent.messageId, status: "sent", error: null };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // A refusal (5xx), or a message the client will never send (a TypeError for a bad header), is final.
    if (!(err instanceof SmtpError) || !err.retryable) {
      await mark(deps.db, outboxId, "failed", null, message);
      deps.log.warn("email not sent", {
        outbox_id: outboxId,
        code: err instanceof SmtpError ? err.code : null,
        err: message,
      });
      return { ...base, provider: "smtp", providerId: null, status: "failed", error: message };
    }
    await deps.db.query("update plaza.outbox set error = $2 where id = $1", [outboxId, message]);
    throw new RetryableDeliveryError(`SMTP: ${message}`);
  }
}

/** Writes a text to the outbox and sends it through Twilio when it is configured. */
export async function sendText(
  deps: OutboxDeps,
  sms: { to: string; text: string },
  ids: { userId?: string; notificationId?: number } = {},
): Promise<OutboxResult> {
  const row = await record(
    deps.db,
    { channel: "sms", to: sms.to, subject: "", text: sms.text, html: null },
    ids,
  );
  const outboxId = Number(row.id);
  const base = { outboxId, costMicros: null, costUnit: null };
  const twilio = deps.config.twilio;
  if (!twilio) return { ...base, provider: "outbox", providerId: null, status: "stored", error: null };
  if (row.status !== "stored") {
    return { ...base, provider: "twilio", providerId: row.provider_id, status: row.status, error: row.error };
  }
  const statusCallback = deps.config.publicUrl
    ? `${deps.config.publicUrl}/webhooks/twilio/status`
    : undefined;
  const res = await sendSms(twilio, sms.to, sms.text, { statusCallback });
  if (res.ok) {
    await mark(deps.db, outboxId, "sent", res.sid, null);
    return {
      outboxId,
      provider: "twilio",
      providerId: res.sid,
      status: "sent",
      costMicros: res.priceMicros,
      costUnit: res.priceUnit,
      error: null,
    };
  }
  if (!res.retryable) {
    await mark(deps.db, outboxId, "failed", null, res.error);
    if (res.code === TWILIO_UNSUBSCRIBED) {
      // The person texted STOP to our number at the carrier: record it as our own STOP.
      await deps.db.query(
        "update public.user_phones set stopped_at = now() where phone = $1 and stopped_at is null",
        [sms.to],
      );
    }
    deps.log.warn("text refused by Twilio", { outbox_id: outboxId, code: res.code, err: res.error });
    return { ...base, provider: "twilio", providerId: null, status: "failed", error: res.error };
  }
  await deps.db.query("update plaza.outbox set error = $2 where id = $1", [outboxId, res.error]);
  throw new RetryableDeliveryError(`Twilio: ${res.error}`);
}
