/** What the chat API returns: rooms, members and messages, and how rows become them. */
import { isoOrNull } from "../dates.ts";

/** A room kind. */
export type RoomKind = "public" | "private" | "dm" | "order";
/** A member's role in a room. */
export type RoomRole = "owner" | "moderator" | "member";

/** A message as the API and the realtime events show it (built in SQL: `public.chat_message_json`). */
export interface MessageView {
  id: number;
  room_id: string;
  author: { id: string; name: string } | null;
  kind: "text" | "location" | "system";
  body: string;
  data: Record<string, unknown> | null;
  client_id: string | null;
  mentions: string[];
  reply_to: { id: number; author_name: string; body: string; deleted: boolean } | null;
  attachments: unknown[];
  reactions: { emoji: string; count: number; user_ids: string[] }[];
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

/** A member of a room; `last_read_id` is null for people who do not share read receipts. */
export interface MemberView {
  id: string;
  name: string;
  role: RoomRole;
  last_read_id: number | null;
  muted_until: string | null;
  joined_at: string;
}

/** A room as its viewer sees it. */
export interface RoomView {
  id: string;
  kind: RoomKind;
  name: string;
  topic: string;
  created_at: string;
  member_count: number;
  joined: boolean;
  role: RoomRole | null;
  muted_until: string | null;
  unread_count: number;
  last_read_id: number;
  last_message: MessageView | null;
  dm_user: { id: string; name: string } | null;
  members?: MemberView[];
}

/** Unread counts stop here ("999+"). */
export const UNREAD_CAP = 1000;

/** The columns {@link toRoomView} reads, for `public.rooms r` left-joined with the caller's `rm` row. */
export const ROOM_COLUMNS = `r.id, r.kind, r.name, r.topic, r.created_at, r.member_count,
  rm.user_id is not null as joined, rm.role, rm.muted_until, coalesce(rm.last_read_id, 0) as last_read_id,
  case when rm.user_id is null then 0 else (
    select count(*)::int from (
      select 1 from public.messages m
      where m.room_id = r.id and m.id > rm.last_read_id and m.kind <> 'system' and m.deleted_at is null
        and m.user_id is distinct from rm.user_id
      limit ${UNREAD_CAP}) u
  ) end as unread_count,
  case when rm.user_id is null then null else (
    select public.chat_message_json(lm) from public.messages lm where lm.id = r.last_message_id
  ) end as last_message,
  case when r.kind = 'dm' then (
    select jsonb_build_object('id', p.id, 'name', p.name)
    from public.room_members o join public.profiles p on p.id = o.user_id
    where o.room_id = r.id and o.user_id <> rm.user_id limit 1
  ) end as dm_user`;

/** Row -> room view. */
export function toRoomView(r: Record<string, unknown>): RoomView {
  const dmUser = (r.dm_user as RoomView["dm_user"]) ?? null;
  return {
    id: r.id as string,
    kind: r.kind as RoomKind,
    name: r.kind === "dm" && dmUser ? dmUser.name : r.name as string,
    topic: r.topic as string,
    created_at: isoOrNull(r.created_at)!,
    member_count: Number(r.member_count),
    joined: Boolean(r.joined),
    role: (r.role as RoomRole | null) ?? null,
    muted_until: isoOrNull(r.muted_until),
    unread_count: Number(r.unread_count ?? 0),
    last_read_id: Number(r.last_read_id ?? 0),
    last_message: (r.last_message as MessageView | null) ?? null,
    dm_user: dmUser,
  };
}

/** Row -> member view. */
export function toMemberView(r: Record<string, unknown>): MemberView {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as RoomRole,
    last_read_id: r.last_read_id === null || r.last_read_id === undefined ? null : Number(r.last_read_id),
    muted_until: isoOrNull(r.muted_until),
    joined_at: isoOrNull(r.joined_at)!,
  };
}
