/** The in-app inbox, read as the user (RLS): keyset pages, unread count, mark read. */
import type { Claims } from "../db/as_user.ts";
import { asUser } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import { NOTIFICATION_COLUMNS, type NotificationView, toNotificationView } from "./notify.ts";

/** One page of the caller's notifications, newest first. */
export async function listNotifications(
  db: Db,
  claims: Claims,
  opts: { before?: number; limit: number; unreadOnly?: boolean },
): Promise<{ notifications: NotificationView[]; unread: number; next_before: number | null }> {
  return await asUser(db, claims, async (tx) => {
    const rows = await tx.query<Record<string, unknown>>(
      `select ${NOTIFICATION_COLUMNS} from public.notifications
       where user_id = auth.uid() and ($1::bigint is null or id < $1) and (not $2 or read_at is null)
       order by id desc limit $3`,
      [opts.before ?? null, opts.unreadOnly ?? false, opts.limit + 1],
    );
    const [count] = await tx.query<{ n: number }>(
      "select count(*)::int as n from public.notifications where user_id = auth.uid() and read_at is null",
    );
    const page = rows.slice(0, opts.limit).map(toNotificationView);
    return {
      notifications: page,
      unread: Number(count.n),
      next_before: rows.length > opts.limit ? page[page.length - 1].id : null,
    };
  });
}

/** Marks some or all of the caller's notifications read; returns the ids changed and the unread count. */
export async function markRead(
  db: Db,
  claims: Claims,
  which: { ids: number[] } | { all: true },
): Promise<{ marked: number[]; unread: number }> {
  return await asUser(db, claims, async (tx) => {
    const rows = "all" in which
      ? await tx.query<{ id: string | number }>(
        "update public.notifications set read_at = now() where user_id = auth.uid() and read_at is null returning id",
      )
      : await tx.query<{ id: string | number }>(
        `update public.notifications set read_at = now()
         where user_id = auth.uid() and read_at is null and id = any($1::bigint[]) returning id`,
        [which.ids],
      );
    const [count] = await tx.query<{ n: number }>(
      "select count(*)::int as n from public.notifications where user_id = auth.uid() and read_at is null",
    );
    return { marked: rows.map((r) => Number(r.id)), unread: Number(count.n) };
  });
}
