/**
 * What follows a chat change once it is committed: the other members' unread counts on their
 * `user:<id>` topics, the `chat-notify` job for DMs and mentions, and, after a read, the caller's
 * own count (for their other tabs) and their chat notifications of that room marked read.
 */
import { asService } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import type { Jobs } from "../jobs/port.ts";
import type { Logger } from "../log.ts";
import { notify, publishUnread } from "../notify/notify.ts";
import type { Publisher } from "../realtime/publisher.ts";
import type { Posted } from "./messages.ts";
import { UNREAD_CAP } from "./views.ts";

/** The job that notifies DM recipients and mentioned people who have not read the message. */
export const CHAT_NOTIFY_JOB = "chat-notify";
/** Rooms up to this size get live unread counts on every member's user topic. */
export const UNREAD_FANOUT_MAX_MEMBERS = 500;
/** Messages per broadcast call (Supabase's REST broadcast takes 100). */
const BATCH = 100;

/** What the fan-out needs from the platform. */
export interface FanoutDeps {
  db: Db;
  publisher: Publisher;
  jobs: Jobs;
  log: Logger;
  config: { chatNotifyDelaySeconds: number };
}

/** Tells the other members about a new message and queues notifications; never throws. */
export async function afterPost(deps: FanoutDeps, posted: Posted): Promise<void> {
  if (!posted.created) return;
  const { message, room } = posted;
  try {
    if (room.kind === "dm" || message.mentions.length) {
      await deps.jobs.enqueue(CHAT_NOTIFY_JOB, { message_id: message.id }, {
        delaySeconds: deps.config.chatNotifyDelaySeconds,
        dedupId: `chat-notify:${message.id}`,
      });
    }
  } catch (err) {
    deps.log.error("queueing chat notifications failed", { err, message_id: message.id });
  }
  if (room.member_count > UNREAD_FANOUT_MAX_MEMBERS) return;
  try {
    const rows = await deps.db.query<{ user_id: string; n: number }>(
      `select rm.user_id, (
         select count(*)::int from (
           select 1 from public.messages m
           where m.room_id = rm.room_id and m.id > rm.last_read_id and m.kind <> 'system'
             and m.deleted_at is null and m.user_id is distinct from rm.user_id
           limit ${UNREAD_CAP}) u) as n
       from public.room_members rm where rm.room_id = $1 and rm.user_id is distinct from $2`,
      [room.id, message.author?.id ?? null],
    );
    const messages = rows.map((r) => ({
      topic: `user:${r.user_id}`,
      event: "chat_unread",
      payload: { room_id: room.id, unread_count: Number(r.n), message_id: message.id },
      private: true,
    }));
    for (let i = 0; i < messages.length; i += BATCH) {
      await deps.publisher.broadcast(messages.slice(i, i + BATCH));
    }
  } catch (err) {
    // Counts are a convenience: the room list refetches them whenever it loads.
    deps.log.warn("chat unread fan-out failed", { err, room_id: room.id });
  }
}

/** After the caller read a room: their other tabs' count, and that room's chat notifications read. */
export async function afterRead(
  deps: Omit<FanoutDeps, "jobs" | "config">,
  userId: string,
  read: { room_id: string; last_read_id: number; unread_count: number },
): Promise<void> {
  try {
    await deps.publisher.broadcast([{
      topic: `user:${userId}`,
      event: "chat_unread",
      payload: { room_id: read.room_id, unread_count: read.unread_count, message_id: read.last_read_id },
      private: true,
    }]);
    const marked = await deps.db.query<{ id: string | number }>(
      `update public.notifications set read_at = now()
       where user_id = $1 and category = 'chat' and read_at is null and data ->> 'room_id' = $2
         and (data ->> 'message_id')::bigint <= $3
       returning id`,
      [userId, read.room_id, read.last_read_id],
    );
    if (marked.length) {
      await publishUnread(deps, userId, "notifications_read", { ids: marked.map((r) => Number(r.id)) });
    }
  } catch (err) {
    deps.log.warn("chat read follow-up failed", { err, room_id: read.room_id });
  }
}

/**
 * The `chat-notify` job: notifies the DM's other member, or the mentioned members, who are still
 * in the room and have not read up to the message. One notification per room until they read it
 * (the dedup key carries their read position), so a burst of DMs notifies once.
 */
export async function notifyChatMessage(deps: Omit<FanoutDeps, "config">, messageId: number): Promise<void> {
  const recipients = await asService(deps.db, (tx) =>
    tx.query<{
      user_id: string;
      last_read_id: string | number;
      room_id: string;
      room_kind: string;
      room_name: string;
      author_name: string;
      body: string;
    }>(
      `select rm.user_id, rm.last_read_id, r.id as room_id, r.kind as room_kind, r.name as room_name,
         coalesce(p.name, 'Someone') as author_name, m.body
       from public.messages m
       join public.rooms r on r.id = m.room_id
       join public.room_members rm on rm.room_id = m.room_id
       left join public.profiles p on p.id = m.user_id
       where m.id = $1 and m.deleted_at is null and m.kind <> 'system'
         and rm.user_id is distinct from m.user_id and rm.last_read_id < m.id
         and (r.kind = 'dm' or rm.user_id = any(m.mentions))`,
      [messageId],
    ));
  for (const r of recipients) {
    const chars = [...r.body]; // whole code points: half an emoji is not valid text
    const excerpt = chars.length > 200 ? `${chars.slice(0, 199).join("")}…` : r.body;
    const dm = r.room_kind === "dm";
    await notify(deps, r.user_id, {
      category: "chat",
      template: dm ? "chat.dm" : "chat.mention",
      data: dm ? { room_id: r.room_id, message_id: messageId, author_name: r.author_name, excerpt } : {
        room_id: r.room_id,
        room_name: r.room_name,
        message_id: messageId,
        author_name: r.author_name,
        excerpt,
      },
      dedupKey: `chat:${r.room_id}:${r.last_read_id}`,
    });
  }
}
