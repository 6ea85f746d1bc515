/**
 * Messages as the caller: history pages, posting (idempotent by client_id), edits, deletion,
 * reactions, read positions and search. Realtime events come from the database triggers of
 * migration 0011, so only committed changes are broadcast; the unread counts of the other members
 * and mention notifications follow in lib/chat/fanout.ts.
 */
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { AppError, conflict, forbidden, notFound, unprocessable } from "../errors.ts";
import { requireMembership } from "./rooms.ts";
import { type MessageView, UNREAD_CAP } from "./views.ts";

/** Longest message body. */
export const MAX_BODY = 4000;
/** Different reactions one person may leave on one message. */
export const MAX_REACTIONS_PER_PERSON = 20;

/** What a new message carries. */
export interface NewMessage {
  body: string;
  clientId: string;
  replyTo?: number;
  kind: "text" | "location";
  data?: { lat: number; lng: number } | null;
  /** The author's ready uploads (docs/media.md); the database keeps a snapshot of each. */
  attachments?: { media_id: string }[];
}

/** The attachment trigger's refusal as a 422 that says which upload is wrong. */
function attachmentError(err: unknown): never {
  const e = err as { code?: string; constraint?: string; constraint_name?: string; message?: string };
  if (e?.code === "23514" && (e.constraint ?? e.constraint_name) === "messages_attachments") {
    throw unprocessable("An attachment is not one of your ready uploads.", [
      {
        path: "attachments",
        message: "Attach your own uploads once they are ready (at most 10, each once).",
      },
    ]);
  }
  throw err;
}

/** The result of posting: the message, whether it is new, and who else to tell. */
export interface Posted {
  message: MessageView;
  created: boolean;
  room: { id: string; kind: string; member_count: number };
}

async function one<T>(tx: Queryable, sql: string, params: unknown[]): Promise<T | undefined> {
  const [row] = await tx.query<{ j: T }>(sql, params);
  return row?.j;
}

/** One page of a room's history: `before` (or neither) newest first, `after` oldest first. */
export async function listMessages(
  db: Db,
  claims: Claims,
  roomId: string,
  page: { before?: number; after?: number; limit: number },
): Promise<{ messages: MessageView[]; has_more: boolean }> {
  return await asUser(db, claims, async (tx) => {
    await requireMembership(tx, roomId);
    const rows = page.after !== undefined
      ? await tx.query<{ j: MessageView }>(
        `select public.chat_message_json(m) as j from public.messages m
         where m.room_id = $1 and m.id > $2 order by m.id limit $3`,
        [roomId, page.after, page.limit + 1],
      )
      : await tx.query<{ j: MessageView }>(
        `select public.chat_message_json(m) as j from public.messages m
         where m.room_id = $1 and ($2::bigint is null or m.id < $2) order by m.id desc limit $3`,
        [roomId, page.before ?? null, page.limit + 1],
      );
    return { messages: rows.slice(0, page.limit).map((r) => r.j), has_more: rows.length > page.limit };
  });
}

/** Posts a message; the same client_id again returns the first message and creates nothing. */
export async function postMessage(
  db: Db,
  claims: Claims,
  roomId: string,
  input: NewMessage,
): Promise<Posted> {
  return await asUser(db, claims, async (tx) => {
    const room = await requireMembership(tx, roomId);
    // The author as a parameter, not auth.uid(): then the (user_id, client_id) index serves it.
    const byClientId = () =>
      one<MessageView>(
        tx,
        `select public.chat_message_json(m) as j from public.messages m where m.user_id = $1 and m.client_id = $2`,
        [claims.sub, input.clientId],
      );
    const previous = await byClientId();
    const posted = (message: MessageView, created: boolean): Posted => {
      if (message.room_id !== roomId) {
        throw conflict("This client_id was already used for a message in another room.", "client_id_reused");
      }
      return { message, created, room: { id: room.id, kind: room.kind, member_count: room.member_count } };
    };
    if (previous) return posted(previous, false);
    if (room.muted_until && Date.parse(room.muted_until) > Date.now()) {
      throw new AppError(403, "muted", "You are muted in this room.", { muted_until: room.muted_until });
    }
    if (input.replyTo !== undefined) {
      const [target] = await tx.query("select 1 from public.messages where id = $1 and room_id = $2", [
        input.replyTo,
        roomId,
      ]);
      if (!target) {
        throw unprocessable("reply_to is not a message of this room.", [
          { path: "reply_to", message: "Not a message of this room." },
        ]);
      }
    }
    const message = await one<MessageView>(
      tx,
      `insert into public.messages as m (room_id, user_id, client_id, kind, body, data, reply_to, attachments)
       values ($1, auth.uid(), $2, $3, $4, $5::text::jsonb, $6, $7::text::jsonb)
       on conflict (user_id, client_id) where client_id is not null do nothing
       returning public.chat_message_json(m) as j`,
      [
        roomId,
        input.clientId,
        input.kind,
        input.body,
        input.data ? JSON.stringify(input.data) : null,
        input.replyTo ?? null,
        JSON.stringify(input.attachments ?? []),
      ],
    ).catch(attachmentError);
    if (message) return posted(message, true);
    // A concurrent request with the same client_id won the race.
    const winner = await byClientId();
    if (!winner) throw conflict("The message could not be saved; try again.", "retry");
    return posted(winner, false);
  });
}

interface MessageRow {
  id: number;
  room_id: string;
  user_id: string | null;
  kind: string;
  deleted: boolean;
}

async function requireMessage(tx: Queryable, id: number): Promise<MessageRow> {
  const [row] = await tx.query<MessageRow>(
    `select id, room_id, user_id, kind, deleted_at is not null as deleted from public.messages where id = $1`,
    [id],
  );
  if (!row) throw notFound("No such message.");
  return row;
}

/** Edits the caller's own message. */
export async function editMessage(db: Db, claims: Claims, id: number, body: string): Promise<MessageView> {
  return await asUser(db, claims, async (tx) => {
    const row = await requireMessage(tx, id);
    if (row.user_id !== claims.sub || row.kind === "system") {
      throw forbidden("Only the author may edit a message.");
    }
    if (row.deleted) throw conflict("The message was deleted.", "message_deleted");
    const message = await one<MessageView>(
      tx,
      `update public.messages as m set body = $2 where m.id = $1 returning public.chat_message_json(m) as j`,
      [id, body],
    );
    if (!message) throw forbidden("You can no longer edit this message.");
    return message;
  });
}

/** Deletes a message (author, room owner or moderators, admins), leaving a tombstone. */
export async function deleteMessage(db: Db, claims: Claims, id: number): Promise<MessageView> {
  return await asUser(db, claims, async (tx) => {
    // The tombstone from the function's own row (an admin may not read the room); its reactions
    // were just deleted, which this statement's snapshot cannot see yet.
    const message = await one<MessageView>(
      tx,
      `select public.chat_message_json(d) || jsonb_build_object('reactions', '[]'::jsonb) as j
       from public.chat_delete_message($1) d`,
      [id],
    );
    if (!message) throw notFound("No such message.");
    return message;
  });
}

/** Adds or takes back the caller's reaction; returns the message's reactions. */
export async function setReaction(
  db: Db,
  claims: Claims,
  id: number,
  emoji: string,
  on: boolean,
): Promise<{ message_id: number; reactions: MessageView["reactions"] }> {
  return await asUser(db, claims, async (tx) => {
    const row = await requireMessage(tx, id);
    if (on) {
      if (row.deleted) throw conflict("The message was deleted.", "message_deleted");
      if (row.kind === "system") throw unprocessable("System messages take no reactions.");
      const [mine] = await tx.query<{ n: number }>(
        "select count(*)::int as n from public.message_reactions where message_id = $1 and user_id = auth.uid()",
        [id],
      );
      const [can] = await tx.query<{ ok: boolean }>("select public.chat_can_post($1) as ok", [row.room_id]);
      if (!can?.ok) throw forbidden("You are muted in this room.", "muted");
      const added = await tx.query(
        `insert into public.message_reactions (message_id, user_id, emoji) values ($1, auth.uid(), $2)
         on conflict do nothing returning emoji`,
        [id, emoji],
      );
      if (added.length && Number(mine.n) >= MAX_REACTIONS_PER_PERSON) {
        throw unprocessable(`At most ${MAX_REACTIONS_PER_PERSON} different reactions per message.`);
      }
    } else {
      await tx.query(
        "delete from public.message_reactions where message_id = $1 and user_id = auth.uid() and emoji = $2",
        [
          id,
          emoji,
        ],
      );
    }
    const reactions = await one<MessageView["reactions"]>(
      tx,
      "select public.chat_message_json(m) -> 'reactions' as j from public.messages m where m.id = $1",
      [id],
    );
    return { message_id: id, reactions: reactions ?? [] };
  });
}

/** The caller's unread messages in a room (up to the cap). */
export async function unreadIn(tx: Queryable, roomId: string, userId: string): Promise<number> {
  const [row] = await tx.query<{ n: number }>(
    `select count(*)::int as n from (
       select 1 from public.messages m, public.room_members rm
       where rm.room_id = $1 and rm.user_id = $2 and m.room_id = $1 and m.id > rm.last_read_id
         and m.kind <> 'system' and m.deleted_at is null and m.user_id is distinct from $2
       limit ${UNREAD_CAP}) u`,
    [roomId, userId],
  );
  return Number(row?.n ?? 0);
}

/** Moves the caller's read position forward to a message of the room. */
export async function markRoomRead(
  db: Db,
  claims: Claims,
  roomId: string,
  messageId: number,
): Promise<{ room_id: string; last_read_id: number; unread_count: number; moved: boolean }> {
  return await asUser(db, claims, async (tx) => {
    await requireMembership(tx, roomId);
    const [target] = await tx.query("select 1 from public.messages where id = $1 and room_id = $2", [
      messageId,
      roomId,
    ]);
    if (!target) {
      throw unprocessable("message_id is not a message of this room.", [
        { path: "message_id", message: "Not a message of this room." },
      ]);
    }
    const moved = await tx.query<{ last_read_id: string | number }>(
      `update public.room_members set last_read_id = $2
       where room_id = $1 and user_id = auth.uid() and last_read_id < $2 returning last_read_id`,
      [roomId, messageId],
    );
    const [row] = await tx.query<{ last_read_id: string | number }>(
      "select last_read_id from public.room_members where room_id = $1 and user_id = auth.uid()",
      [roomId],
    );
    return {
      room_id: roomId,
      last_read_id: Number(row.last_read_id),
      unread_count: await unreadIn(tx, roomId, claims.sub),
      moved: moved.length > 0,
    };
  });
}

/** Full-text search in the rooms the caller belongs to, newest first. */
export async function searchMessages(
  db: Db,
  claims: Claims,
  query: { q: string; roomId?: string; before?: number; limit: number },
): Promise<{ messages: (MessageView & { room_name: string })[]; has_more: boolean }> {
  return await asUser(db, claims, async (tx) => {
    if (query.roomId) await requireMembership(tx, query.roomId);
    const rows = await tx.query<{ j: MessageView & { room_name: string } }>(
      `select public.chat_message_json(m) || jsonb_build_object('room_name', r.name) as j
       from public.messages m join public.rooms r on r.id = m.room_id
       where m.search @@ websearch_to_tsquery('english', $1) and m.deleted_at is null and m.kind <> 'system'
         and m.room_id in (select public.chat_my_room_ids())
         and ($2::uuid is null or m.room_id = $2) and ($3::bigint is null or m.id < $3)
       order by m.id desc limit $4`,
      [query.q, query.roomId ?? null, query.before ?? null, query.limit + 1],
    );
    return { messages: rows.slice(0, query.limit).map((r) => r.j), has_more: rows.length > query.limit };
  });
}

/** Posts a system message (joins are posted by triggers; the orders module posts status changes). */
export async function postSystemMessage(
  tx: Queryable,
  roomId: string,
  body: string,
  data: Record<string, unknown>,
): Promise<number> {
  const [row] = await tx.query<{ id: string | number }>(
    "select public.chat_system_message($1, $2, $3::text::jsonb) as id",
    [roomId, [...body].slice(0, MAX_BODY).join(""), JSON.stringify(data)],
  );
  return Number(row.id);
}
