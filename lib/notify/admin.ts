/** Admin reads of the outbox and the delivery log (server-side; routes check the admin first). */
import type { Db } from "../db/port.ts";
import { isoOrNull } from "../dates.ts";

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
  created_at: string;
  sent_at: string | null;
}

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
  created_at: isoOrNull(r.created_at)!,
  sent_at: isoOrNull(r.sent_at),
});

/** Newest outbox messages, optionally of one channel. */
export async function listOutbox(
  db: Db,
  opts: { channel?: "email" | "sms"; before?: number; limit: number },
): Promise<OutboxView[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select * from plaza.outbox where ($1::text is null or channel = $1) and ($2::bigint is null or id < $2)
     order by id desc limit $3`,
    [opts.channel ?? null, opts.before ?? null, opts.limit],
  );
  return rows.map(toOutbox);
}

/** One outbox message. */
export async function getOutboxMessage(db: Db, id: number): Promise<OutboxView | null> {
  const [row] = await db.query<Record<string, unknown>>("select * from plaza.outbox where id = $1", [id]);
  return row ? toOutbox(row) : null;
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
