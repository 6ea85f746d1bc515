/** Admin reads of the outbox and the delivery log (server-side; routes check the admin first). */
import type { Db } from "../db/port.ts";
import { isoOrNull } from "../dates.ts";
import { isContentType, safeFilename } from "./smtp.ts";

/** An attachment as the admin pages list it (without its bytes). */
export interface AttachmentInfo {
  filename: string;
  content_type: string;
  bytes: number;
}

/** An outbox message. */
export interface OutboxView {
  id: number;
  channel: "email" | "sms";
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  status: "stored" | "sent" | "failed";
  provider_id: string | null;
  error: string | null;
  notification_id: number | null;
  dedup_key: string | null;
  attachments: AttachmentInfo[];
  created_at: string;
  sent_at: string | null;
}

/** The outbox columns the admin reads: attachments as name, type and size only, never their data. */
const COLUMNS = `o.id, o.channel, o.recipient, o.subject, o.text_body, o.html_body, o.status, o.provider_id,
  o.error, o.notification_id, o.dedup_key, o.created_at, o.sent_at,
  (select coalesce(jsonb_agg(jsonb_build_object('filename', a.value->>'filename',
     'content_type', a.value->>'content_type', 'bytes', a.value->'bytes') order by a.n), '[]'::jsonb)
   from jsonb_array_elements(o.attachments) with ordinality as a(value, n))::text as attachments`;

const toAttachments = (raw: unknown): AttachmentInfo[] => {
  const list = typeof raw === "string" ? JSON.parse(raw) : raw;
  return Array.isArray(list)
    ? list.map((a: Record<string, unknown>) => ({
      filename: String(a.filename ?? ""),
      content_type: String(a.content_type ?? ""),
      bytes: Number(a.bytes ?? 0),
    }))
    : [];
};

const toOutbox = (r: Record<string, unknown>): OutboxView => ({
  id: Number(r.id),
  channel: r.channel as OutboxView["channel"],
  recipient: r.recipient as string,
  subject: r.subject as string,
  text_body: r.text_body as string,
  html_body: (r.html_body as string | null) ?? null,
  status: r.status as OutboxView["status"],
  provider_id: (r.provider_id as string | null) ?? null,
  error: (r.error as string | null) ?? null,
  notification_id: r.notification_id === null ? null : Number(r.notification_id),
  dedup_key: (r.dedup_key as string | null) ?? null,
  attachments: toAttachments(r.attachments),
  created_at: isoOrNull(r.created_at)!,
  sent_at: isoOrNull(r.sent_at),
});

/** Newest outbox messages, optionally of one channel. */
export async function listOutbox(
  db: Db,
  opts: { channel?: "email" | "sms"; before?: number; limit: number },
): Promise<OutboxView[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select ${COLUMNS} from plaza.outbox o
     where ($1::text is null or o.channel = $1) and ($2::bigint is null or o.id < $2)
     order by o.id desc limit $3`,
    [opts.channel ?? null, opts.before ?? null, opts.limit],
  );
  return rows.map(toOutbox);
}

/** One outbox message. */
export async function getOutboxMessage(db: Db, id: number): Promise<OutboxView | null> {
  const [row] = await db.query<Record<string, unknown>>(
    `select ${COLUMNS} from plaza.outbox o where o.id = $1`,
    [id],
  );
  return row ? toOutbox(row) : null;
}

/**
 * An HTTP `Content-Disposition: attachment` (RFC 6266) for a file name: a sanitized ASCII
 * `filename="…"` fallback, plus `filename*=UTF-8''…` when the name is not plain ASCII.
 */
export function attachmentDisposition(filename: string): string {
  const name = safeFilename(filename);
  const ascii = name.replace(/[^\x20-\x7e]/gu, "_");
  if (ascii === name) return `attachment; filename="${ascii}"`;
  const ext = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${ext}`;
}

/** One attachment of an outbox message with its bytes, or null when there is no such one. */
export async function getOutboxAttachment(
  db: Db,
  id: number,
  index: number,
): Promise<{ filename: string; contentType: string; content: Uint8Array<ArrayBuffer> } | null> {
  // A negative index would count from the end in `->`: only 0, 1, 2… name an attachment.
  if (!Number.isSafeInteger(index) || index < 0 || index > 1_000_000) return null;
  const [row] = await db.query<{ a: string | null }>(
    "select (attachments -> $2::int)::text as a from plaza.outbox where id = $1",
    [id, index],
  );
  if (!row?.a) return null;
  const a = JSON.parse(row.a) as Record<string, unknown> | null;
  if (!a || typeof a !== "object" || typeof a.data !== "string") return null;
  const type = String(a.content_type ?? "");
  return {
    filename: safeFilename(String(a.filename ?? "")),
    contentType: isContentType(type) ? type : "application/octet-stream",
    content: Uint8Array.fromBase64(a.data),
  };
}

/** Newest delivery attempts with their notification's title. */
export async function listDeliveries(db: Db, opts: { before?: number; limit: number }) {
  const rows = await db.query<Record<string, unknown>>(
    `select d.*, n.title from plaza.deliveries d left join public.notifications n on n.id = d.notification_id
     where ($1::bigint is null or d.id < $1) order by d.id desc limit $2`,
    [opts.before ?? null, opts.limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    notification_id: r.notification_id === null ? null : Number(r.notification_id),
    title: (r.title as string | null) ?? "",
    channel: r.channel as string,
    provider: r.provider as string,
    provider_id: (r.provider_id as string | null) ?? null,
    status: r.status as string,
    cost_micros: r.cost_micros === null ? null : Number(r.cost_micros),
    cost_unit: (r.cost_unit as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    created_at: isoOrNull(r.created_at)!,
  }));
}
