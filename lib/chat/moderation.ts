/**
 * Reports of messages: members report what they can read (one open report per person and
 * message); admins see the queue and dismiss a report, delete the message or mute its author.
 */
import { isoOrNull } from "../dates.ts";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import { conflict, notFound, unprocessable } from "../errors.ts";
import type { MessageView } from "./views.ts";

/** A report as the admin queue shows it. */
export interface ReportView {
  id: number;
  status: "open" | "dismissed" | "actioned";
  reason: string;
  created_at: string;
  reporter: { id: string; name: string };
  message: MessageView;
  room: { id: string; name: string; kind: string };
  resolution: string | null;
  resolved_at: string | null;
  /** Open reports of the same message (the queue shows each message once per report). */
  open_reports_for_message: number;
}

/** Reports a message the caller can read; reporting it again while open returns the same report. */
export async function reportMessage(
  db: Db,
  claims: Claims,
  messageId: number,
  reason: string,
): Promise<{ id: number; created: boolean }> {
  return await asUser(db, claims, async (tx) => {
    const [m] = await tx.query<{ user_id: string | null; kind: string; deleted: boolean }>(
      "select user_id, kind, deleted_at is not null as deleted from public.messages where id = $1",
      [messageId],
    );
    if (!m) throw notFound("No such message.");
    if (m.kind === "system") throw unprocessable("System messages cannot be reported.");
    if (m.user_id === claims.sub) throw unprocessable("You cannot report your own message.");
    if (m.deleted) throw conflict("The message was already deleted.", "message_deleted");
    const [open] = await tx.query<{ id: string | number }>(
      "select id from public.message_reports where message_id = $1 and reporter_id = auth.uid() and status = 'open'",
      [messageId],
    );
    if (open) return { id: Number(open.id), created: false };
    const [row] = await tx.query<{ id: string | number }>(
      `insert into public.message_reports (message_id, reporter_id, reason) values ($1, auth.uid(), $2)
       on conflict (message_id, reporter_id) where status = 'open' do nothing returning id`,
      [messageId, reason],
    );
    if (row) return { id: Number(row.id), created: true };
    const [again] = await tx.query<{ id: string | number }>(
      "select id from public.message_reports where message_id = $1 and reporter_id = auth.uid() and status = 'open'",
      [messageId],
    );
    return { id: Number(again.id), created: false };
  });
}

/** The report queue (admins; RLS lets only them read others' reports), newest first. */
export async function listReports(
  db: Db,
  claims: Claims,
  opts: { status: "open" | "dismissed" | "actioned" | "all"; before?: number; limit: number },
): Promise<{ reports: ReportView[]; next_before: number | null }> {
  return await asUser(db, claims, async (tx) => {
    const rows = await tx.query<Record<string, unknown>>(
      `select rep.id, rep.status, rep.reason, rep.created_at, rep.resolution, rep.resolved_at,
         rep.reporter_id, coalesce(p.name, 'Deleted account') as reporter_name,
         public.chat_message_json(m) as message, r.id as room_id, r.name as room_name, r.kind as room_kind,
         (select count(*)::int from public.message_reports o where o.message_id = rep.message_id
            and o.status = 'open') as open_for_message
       from public.message_reports rep
       join public.messages m on m.id = rep.message_id
       join public.rooms r on r.id = m.room_id
       left join public.profiles p on p.id = rep.reporter_id
       where ($1 = 'all' or rep.status = $1) and ($2::bigint is null or rep.id < $2)
       order by rep.id desc limit $3`,
      [opts.status, opts.before ?? null, opts.limit + 1],
    );
    const reports = rows.slice(0, opts.limit).map((r): ReportView => ({
      id: Number(r.id),
      status: r.status as ReportView["status"],
      reason: r.reason as string,
      created_at: isoOrNull(r.created_at)!,
      reporter: { id: r.reporter_id as string, name: r.reporter_name as string },
      message: r.message as MessageView,
      room: { id: r.room_id as string, name: r.room_name as string, kind: r.room_kind as string },
      resolution: (r.resolution as string | null) ?? null,
      resolved_at: isoOrNull(r.resolved_at),
      open_reports_for_message: Number(r.open_for_message),
    }));
    return { reports, next_before: rows.length > opts.limit ? reports[reports.length - 1].id : null };
  });
}

/** What an admin does with a report. */
export type ReportAction =
  | { action: "dismiss" }
  | { action: "delete_message" }
  | { action: "mute_author"; minutes: number };

/**
 * Resolves a report as an admin. Deleting the message or muting its author resolves every open
 * report of that message; dismissing resolves this one.
 */
export async function resolveReport(
  db: Db,
  claims: Claims,
  reportId: number,
  action: ReportAction,
): Promise<{ id: number; status: string; resolution: string }> {
  return await asUser(db, claims, async (tx) => {
    const [rep] = await tx.query<
      { message_id: string | number; status: string; room_id: string; author: string | null }
    >(
      `select rep.message_id, rep.status, m.room_id, m.user_id as author
       from public.message_reports rep join public.messages m on m.id = rep.message_id
       where rep.id = $1 for update of rep`,
      [reportId],
    );
    if (!rep) throw notFound("No such report.");
    if (rep.status !== "open") throw conflict("The report was already resolved.", "already_resolved");
    let resolution: string;
    if (action.action === "dismiss") {
      resolution = "dismissed";
    } else if (action.action === "delete_message") {
      await tx.query("select 1 from public.chat_delete_message($1)", [rep.message_id]);
      resolution = "message deleted";
    } else {
      if (!rep.author) throw conflict("The author's account no longer exists.", "no_author");
      await tx.query("select public.chat_mute($1, $2, now() + make_interval(mins => $3::int))", [
        rep.room_id,
        rep.author,
        action.minutes,
      ]);
      resolution = `author muted for ${action.minutes} min`;
    }
    const status = action.action === "dismiss" ? "dismissed" : "actioned";
    // Dismissing settles this report; acting on the message settles every open report of it.
    await tx.query(
      `update public.message_reports set status = $2, resolution = $3, resolved_by = auth.uid(), resolved_at = now()
       where id = $1 or ($5 and message_id = $4 and status = 'open')`,
      [reportId, status, resolution, rep.message_id, action.action !== "dismiss"],
    );
    return { id: reportId, status, resolution };
  });
}
