/**
 * Email and SMS through one outbox: every message Plaza produces is written to plaza.outbox first
 * (the admin can read it), then sent through SMTP or Twilio when they are configured. A message
 * tied to a notification (once per channel) or given a `dedupKey` is produced once, however often
 * its job is retried; a retry of one stored but not yet sent sends what the outbox holds. A
 * provider's transient failure is thrown so the job retries, a permanent one is recorded. Email
 * attachments are kept with the row (`attachments`: `[{filename, content_type, bytes, data}]`,
 * `data` in base64) so the admin can download them.
 */
import type { Config } from "../config.ts";
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import { type Attachment, isContentType, safeFilename, sendMail, SmtpError } from "./smtp.ts";
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

/** An email as {@link sendEmail} takes it (the sender is the configured MAIL_FROM). */
export interface OutboxMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  attachments?: Attachment[];
}

/** What ties a message to its origin: its user, its notification, or a caller's once-only key. */
export interface OutboxIds {
  userId?: string;
  notificationId?: number;
  /** At most 200 characters; a second message with the same key is not produced (nor sent) again. */
  dedupKey?: string;
}

/** An attachment as stored in `plaza.outbox.attachments`. */
export interface StoredAttachment {
  filename: string;
  content_type: string;
  bytes: number;
  /** Base64. */
  data: string;
}

interface OutboxRow {
  id: string | number;
  status: "stored" | "sent" | "failed";
  provider_id: string | null;
  error: string | null;
}

const RETURNING = "returning id, status, provider_id, error";

/** Checks and encodes attachments for storage (names sanitized); throws a TypeError when invalid. */
function storable(attachments: Attachment[]): StoredAttachment[] {
  if (!Array.isArray(attachments)) throw new TypeError("attachments must be an array");
  return attachments.map((a, i) => {
    if (!a || typeof a.filename !== "string" || !(a.content instanceof Uint8Array)) {
      throw new TypeError(`attachment ${i}: expected a filename and Uint8Array content`);
    }
    if (typeof a.contentType !== "string" || !isContentType(a.contentType)) {
      throw new TypeError(`attachment ${i}: invalid content type ${JSON.stringify(a.contentType)}`);
    }
    return {
      filename: safeFilename(a.filename),
      content_type: a.contentType.toLowerCase(),
      bytes: a.content.byteLength,
      data: a.content.toBase64(),
    };
  });
}

/** Decodes stored attachments for sending. */
export function decodeAttachments(stored: unknown): Attachment[] {
  const list = typeof stored === "string" ? JSON.parse(stored) : stored;
  if (!Array.isArray(list)) return [];
  return (list as StoredAttachment[]).map((a) => ({
    filename: a.filename,
    contentType: a.content_type,
    content: Uint8Array.fromBase64(a.data),
  }));
}

async function record(
  db: Db,
  m: {
    channel: "email" | "sms";
    to: string;
    subject: string;
    text: string;
    html: string | null;
    attachments?: StoredAttachment[];
  },
  ids: OutboxIds,
): Promise<OutboxRow & { fresh: boolean }> {
  const { dedupKey, notificationId } = ids;
  if (dedupKey !== undefined && (typeof dedupKey !== "string" || !dedupKey || dedupKey.length > 200)) {
    throw new TypeError("dedupKey must be 1 to 200 characters");
  }
  const params = [
    m.channel,
    m.to,
    m.subject,
    m.text,
    m.html,
    ids.userId ?? null,
    notificationId ?? null,
    JSON.stringify(m.attachments ?? []),
    dedupKey ?? null,
  ];
  const sql = `insert into plaza.outbox
      (channel, recipient, subject, text_body, html_body, user_id, notification_id, attachments, dedup_key)
    values ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9)`;
  if (notificationId === undefined && dedupKey === undefined) {
    const [row] = await db.query<OutboxRow>(`${sql} ${RETURNING}`, params);
    return { ...row, fresh: true };
  }
  // With both keys, either unique index may be the one hit: do nothing on any conflict.
  const target = notificationId === undefined
    ? "(dedup_key) where dedup_key is not null"
    : dedupKey === undefined
    ? "(notification_id, channel) where notification_id is not null"
    : "";
  const [row] = await db.query<OutboxRow>(`${sql} on conflict ${target} do nothing ${RETURNING}`, params);
  if (row) return { ...row, fresh: true };
  let [existing] = dedupKey === undefined ? [] : await db.query<OutboxRow>(
    "select id, status, provider_id, error from plaza.outbox where dedup_key = $1",
    [dedupKey],
  );
  if (!existing && notificationId !== undefined) {
    [existing] = await db.query<OutboxRow>(
      "select id, status, provider_id, error from plaza.outbox where notification_id = $1 and channel = $2",
      [notificationId, m.channel],
    );
  }
  if (!existing) throw new RetryableDeliveryError("the outbox row this message duplicates has vanished");
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

/**
 * Writes an email (with its attachments) to the outbox and sends it over SMTP when SMTP_URL is
 * set. With a `notificationId` or `dedupKey` already in the outbox, nothing new is written: the
 * existing message's status is returned, and one still only stored is sent now (as stored).
 */
export async function sendEmail(
  deps: OutboxDeps,
  mail: OutboxMail,
  ids: OutboxIds = {},
): Promise<OutboxResult> {
  const { attachments, ...rest } = mail;
  const row = await record(
    deps.db,
    { channel: "email", ...rest, attachments: storable(attachments ?? []) },
    ids,
  );
  const outboxId = Number(row.id);
  const base = { outboxId, costMicros: null, costUnit: null };
  if (!deps.config.smtpUrl) {
    return { ...base, provider: "outbox", providerId: null, status: "stored", error: null };
  }
  if (row.status !== "stored") {
    return { ...base, provider: "smtp", providerId: row.provider_id, status: row.status, error: row.error };
  }
  let message: Omit<OutboxMail, "attachments"> & { attachments: Attachment[] } = {
    ...rest,
    attachments: attachments ?? [],
  };
  if (!row.fresh) {
    // A retry of a message stored but not sent: send what the outbox (and so the admin) holds.
    const [stored] = await deps.db.query<Record<string, unknown>>(
      "select recipient, subject, text_body, html_body, attachments from plaza.outbox where id = $1",
      [outboxId],
    );
    message = {
      to: stored.recipient as string,
      subject: stored.subject as string,
      text: stored.text_body as string,
      html: (stored.html_body as string | null) ?? "",
      attachments: decodeAttachments(stored.attachments),
    };
  }
  try {
    const sent = await sendMail(deps.config.smtpUrl, { from: deps.config.mailFrom, ...message });
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
