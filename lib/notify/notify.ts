/**
 * `notify(userId, …)`: writes the in-app notification (once per dedup key), broadcasts it with the
 * unread count on `user:<id>`, and queues its delivery on the other channels (lib/notify/deliver.ts).
 * Calling it again with the same dedup key notifies nobody twice but completes a delivery whose
 * queueing failed the first time.
 */
import { isoOrNull } from "../dates.ts";
import type { Db } from "../db/port.ts";
import type { Jobs } from "../jobs/port.ts";
import type { Logger } from "../log.ts";
import type { Publisher } from "../realtime/publisher.ts";
import { type Category, renderTemplate } from "./templates.ts";

/** What to notify about. */
export interface NotifyInput {
  category: Category;
  template: string;
  data?: unknown;
  /** The same key for the same user never notifies twice (`rsvp:<event>:promoted`). */
  dedupKey: string;
  /** Critical notifications pass quiet hours. */
  critical?: boolean;
}

/** What notify needs from the platform. */
export interface NotifyDeps {
  db: Db;
  publisher: Publisher;
  jobs: Jobs;
  log: Logger;
}

/** A notification as the API and the bell show it. */
export interface NotificationView {
  id: number;
  category: Category;
  template: string;
  title: string;
  body: string;
  url: string | null;
  data: unknown;
  critical: boolean;
  created_at: string;
  read_at: string | null;
}

/** The columns of {@link NotificationView}. */
export const NOTIFICATION_COLUMNS =
  "id, category, template, title, body, url, data, critical, created_at, read_at";

/** Row -> view. */
export function toNotificationView(r: Record<string, unknown>): NotificationView {
  return {
    id: Number(r.id),
    category: r.category as Category,
    template: r.template as string,
    title: r.title as string,
    body: r.body as string,
    url: (r.url as string | null) ?? null,
    data: r.data,
    critical: r.critical as boolean,
    created_at: isoOrNull(r.created_at)!,
    read_at: isoOrNull(r.read_at),
  };
}

/** The delivery job's name. */
export const DELIVER_JOB = "notify-deliver";

/** Unread notifications of `userId`. */
export async function unreadCount(db: { query: Db["query"] }, userId: string): Promise<number> {
  const [row] = await db.query<{ n: number | string }>(
    "select count(*)::int as n from public.notifications where user_id = $1 and read_at is null",
    [userId],
  );
  return Number(row?.n ?? 0);
}

/** Tells the user's open pages about a change (new notification or read state). */
export async function publishUnread(
  deps: Pick<NotifyDeps, "db" | "publisher" | "log">,
  userId: string,
  event: "notification" | "notifications_read",
  payload: Record<string, unknown>,
): Promise<void> {
  try {
    const unread = await unreadCount(deps.db, userId);
    await deps.publisher.broadcast([
      { topic: `user:${userId}`, event, payload: { ...payload, unread }, private: true },
    ]);
  } catch (err) {
    // The row is written; open pages catch up from the API on their next fetch.
    deps.log.warn("notification broadcast failed", { err, user_id: userId });
  }
}

/** Notifies one user; `created` is false when the dedup key was used before. */
export async function notify(
  deps: NotifyDeps,
  userId: string,
  input: NotifyInput,
): Promise<{ id: number; created: boolean }> {
  const rendered = renderTemplate(input.template, input.data);
  const inserted = await deps.db.query<Record<string, unknown>>(
    `insert into public.notifications (user_id, category, template, title, body, url, data, dedup_key, critical)
     values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9)
     on conflict (user_id, dedup_key) do nothing
     returning ${NOTIFICATION_COLUMNS}`,
    [
      userId,
      input.category,
      input.template,
      rendered.title,
      rendered.body,
      rendered.url,
      JSON.stringify(rendered.data ?? {}),
      input.dedupKey,
      input.critical ?? false,
    ],
  );
  let id: number;
  if (inserted.length) {
    const view = toNotificationView(inserted[0]);
    id = view.id;
    await publishUnread(deps, userId, "notification", { notification: view });
  } else {
    const [existing] = await deps.db.query<{ id: string | number }>(
      "select id from public.notifications where user_id = $1 and dedup_key = $2",
      [userId, input.dedupKey],
    );
    id = Number(existing.id);
  }
  // Deduplicated by id: a repeat call only fills in a queueing that failed before.
  await deps.jobs.enqueue(DELIVER_JOB, { notification_id: id, from: 0 }, { dedupId: `notify:${id}:0` });
  return { id, created: inserted.length > 0 };
}

/**
 * Notifies many users at once (announcements, event changes): one insert for all rows, then one
 * broadcast and one delivery job per created notification.
 */
export async function notifyMany(
  deps: NotifyDeps,
  userIds: string[],
  input: NotifyInput,
): Promise<{ created: number }> {
  const rendered = renderTemplate(input.template, input.data);
  let created = 0;
  // Every in-app row first (one insert per 1,000), with its broadcast: the bells update at once.
  for (let i = 0; i < userIds.length; i += 1000) {
    const rows = await deps.db.query<Record<string, unknown> & { user_id: string }>(
      `insert into public.notifications (user_id, category, template, title, body, url, data, dedup_key, critical)
       select u, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9 from unnest($1::uuid[]) as u
       on conflict (user_id, dedup_key) do nothing
       returning ${NOTIFICATION_COLUMNS}, user_id`,
      [
        userIds.slice(i, i + 1000),
        input.category,
        input.template,
        rendered.title,
        rendered.body,
        rendered.url,
        JSON.stringify(rendered.data ?? {}),
        input.dedupKey,
        input.critical ?? false,
      ],
    );
    created += rows.length;
    await deps.publisher.broadcast(rows.map((r) => ({
      topic: `user:${r.user_id}`,
      event: "notification",
      payload: { notification: toNotificationView(r) },
      private: true,
    }))).catch((err) => deps.log.warn("notification broadcast failed", { err }));
  }
  // Then the deliveries, for every row and not only the new ones: a repeat call completes queueing
  // that failed the first time (the dedup ids absorb the rest). Fifty at a time keeps QStash within
  // its limits.
  const all = await deps.db.query<{ id: string | number }>(
    "select id from public.notifications where dedup_key = $1 and user_id = any($2::uuid[])",
    [input.dedupKey, userIds],
  );
  for (let j = 0; j < all.length; j += 50) {
    await Promise.all(
      all.slice(j, j + 50).map((r) =>
        deps.jobs.enqueue(DELIVER_JOB, { notification_id: Number(r.id), from: 0 }, {
          dedupId: `notify:${r.id}:0`,
        })
      ),
    );
  }
  return { created };
}
