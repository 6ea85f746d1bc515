/**
 * Rooms and their members, always as the caller (RLS decides what they see and change): list,
 * create, rename, join, add and remove people, mute, roles, DMs, chat settings.
 */
import { isoOrNull } from "../dates.ts";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { forbidden, notFound, unprocessable } from "../errors.ts";
import {
  type MemberView,
  ROOM_COLUMNS,
  type RoomKind,
  type RoomRole,
  type RoomView,
  toMemberView,
  toRoomView,
} from "./views.ts";

/** Members listed with a room. */
export const MEMBERS_SHOWN = 500;
/** Public rooms the caller has not joined, listed after their own. */
export const PUBLIC_ROOMS_SHOWN = 100;

const FROM_ROOMS = `public.rooms r
  left join public.room_members rm on rm.room_id = r.id and rm.user_id = (select auth.uid())`;

/** The caller's view of one room, or null when they may not see it. */
export async function roomFor(tx: Queryable, roomId: string): Promise<RoomView | null> {
  const [row] = await tx.query(`select ${ROOM_COLUMNS} from ${FROM_ROOMS} where r.id = $1`, [roomId]);
  return row ? toRoomView(row) : null;
}

/** The room, or 404. */
export async function requireRoom(tx: Queryable, roomId: string): Promise<RoomView> {
  const room = await roomFor(tx, roomId);
  if (!room) throw notFound("No such room.");
  return room;
}

/** The caller's membership of a room (what posting and reading need, without counts or JSON). */
export interface Membership {
  id: string;
  kind: RoomKind;
  member_count: number;
  role: RoomRole;
  muted_until: string | null;
}

/** The caller's membership: 404 when the room is invisible to them, 403 when visible but not joined. */
export async function requireMembership(tx: Queryable, roomId: string): Promise<Membership> {
  const [row] = await tx.query<Record<string, unknown>>(
    `select r.id, r.kind, r.member_count, rm.role, rm.muted_until from ${FROM_ROOMS} where r.id = $1`,
    [roomId],
  );
  if (!row) throw notFound("No such room.");
  if (!row.role) throw forbidden("Join the room first.", "not_a_member");
  return {
    id: row.id as string,
    kind: row.kind as RoomKind,
    member_count: Number(row.member_count),
    role: row.role as RoomRole,
    muted_until: isoOrNull(row.muted_until),
  };
}

/** Rooms the caller belongs to (latest activity first), then public rooms they have not joined. */
export async function listRooms(db: Db, claims: Claims): Promise<RoomView[]> {
  return await asUser(db, claims, async (tx) => {
    const mine = await tx.query(
      `select ${ROOM_COLUMNS} from ${FROM_ROOMS}
       where rm.user_id is not null
       order by coalesce(r.last_message_at, r.created_at) desc, r.id limit 2000`,
    );
    const others = await tx.query(
      `select ${ROOM_COLUMNS} from ${FROM_ROOMS}
       where r.kind = 'public' and rm.user_id is null
       order by r.last_message_at desc nulls last, r.created_at desc limit $1`,
      [PUBLIC_ROOMS_SHOWN],
    );
    return [...mine, ...others].map(toRoomView);
  });
}

/** The members of a room the caller belongs to, earliest first. */
export async function listMembers(
  tx: Queryable,
  roomId: string,
  limit = MEMBERS_SHOWN,
): Promise<MemberView[]> {
  const rows = await tx.query(
    `select rm.user_id as id, p.name, rm.role, rm.muted_until, rm.joined_at,
       case when public.chat_shares_receipts(rm.user_id) then rm.last_read_id end as last_read_id
     from public.room_members rm join public.profiles p on p.id = rm.user_id
     where rm.room_id = $1 order by rm.joined_at, rm.user_id limit $2`,
    [roomId, limit],
  );
  return rows.map(toMemberView);
}

/** One room with its members (for members) or without (public rooms not joined). */
export async function getRoom(db: Db, claims: Claims, roomId: string): Promise<RoomView> {
  return await asUser(db, claims, async (tx) => {
    const room = await requireRoom(tx, roomId);
    return room.joined ? { ...room, members: await listMembers(tx, roomId) } : room;
  });
}

/** Creates a public or private room; the caller becomes its owner. */
export async function createRoom(
  db: Db,
  claims: Claims,
  input: { name: string; kind: "public" | "private"; topic?: string },
): Promise<RoomView> {
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ id: string }>(
      `insert into public.rooms (kind, name, topic, created_by) values ($1, $2, $3, auth.uid()) returning id`,
      [input.kind, input.name, input.topic ?? ""],
    );
    return { ...(await requireRoom(tx, row.id)), members: await listMembers(tx, row.id) };
  });
}

/** Renames a room or changes its topic (owner, moderators, admins). */
export async function updateRoom(
  db: Db,
  claims: Claims,
  roomId: string,
  input: { name?: string; topic?: string },
): Promise<RoomView> {
  return await asUser(db, claims, async (tx) => {
    const room = await requireRoom(tx, roomId);
    if (room.kind === "dm" || room.kind === "order") throw forbidden("This room cannot be renamed.");
    const rows = await tx.query(
      `update public.rooms set name = coalesce($2, name), topic = coalesce($3, topic) where id = $1 returning id`,
      [roomId, input.name ?? null, input.topic ?? null],
    );
    if (!rows.length) throw forbidden("Only the room's owner and moderators may change it.");
    return await requireRoom(tx, roomId);
  });
}

/** Joins a public room; joining again changes nothing. */
export async function joinRoom(db: Db, claims: Claims, roomId: string): Promise<RoomView> {
  return await asUser(db, claims, async (tx) => {
    const room = await requireRoom(tx, roomId);
    if (room.joined) return room;
    if (room.kind !== "public") throw forbidden("Only public rooms can be joined; ask a member to add you.");
    await tx.query(
      `insert into public.room_members (room_id, user_id) values ($1, auth.uid()) on conflict do nothing`,
      [roomId],
    );
    return await requireRoom(tx, roomId);
  });
}

/**
 * Adds someone (owner and moderators; admins), or changes an existing member's role (owner,
 * admins). `created` is false when they were already a member.
 */
export async function addMember(
  db: Db,
  claims: Claims,
  roomId: string,
  input: { userId: string; role: Exclude<RoomRole, "owner"> },
): Promise<{ member: MemberView; created: boolean }> {
  return await asUser(db, claims, async (tx) => {
    const room = await requireMembershipOrAdmin(tx, roomId);
    if (room.kind === "dm" || room.kind === "order") throw forbidden("People cannot be added to this room.");
    const [person] = await tx.query("select 1 from public.profiles where id = $1", [input.userId]);
    if (!person) throw unprocessable("No such person.", [{ path: "user_id", message: "No such person." }]);
    const [existing] = await tx.query<{ role: RoomRole }>(
      "select role from public.room_members where room_id = $1 and user_id = $2",
      [roomId, input.userId],
    );
    if (existing) {
      if (existing.role !== input.role) {
        await tx.query("select public.chat_set_role($1, $2, $3)", [roomId, input.userId, input.role]);
      }
      return { member: await memberOf(tx, roomId, input.userId), created: false };
    }
    const inserted = await tx.query(
      `insert into public.room_members (room_id, user_id, role) values ($1, $2, $3)
       on conflict do nothing returning user_id`,
      [roomId, input.userId, input.role],
    );
    return { member: await memberOf(tx, roomId, input.userId), created: inserted.length > 0 };
  });
}

async function requireMembershipOrAdmin(tx: Queryable, roomId: string): Promise<RoomView> {
  const room = await requireRoom(tx, roomId);
  if (!room.joined) {
    const [admin] = await tx.query<{ ok: boolean }>("select public.is_admin() as ok");
    if (!admin?.ok) throw forbidden("Join the room first.", "not_a_member");
  }
  return room;
}

async function memberOf(tx: Queryable, roomId: string, userId: string): Promise<MemberView> {
  const [row] = await tx.query(
    `select rm.user_id as id, p.name, rm.role, rm.muted_until, rm.joined_at,
       case when public.chat_shares_receipts(rm.user_id) then rm.last_read_id end as last_read_id
     from public.room_members rm join public.profiles p on p.id = rm.user_id
     where rm.room_id = $1 and rm.user_id = $2`,
    [roomId, userId],
  );
  if (!row) throw notFound("No such member.");
  return toMemberView(row);
}

/** Leaves a room (yourself) or removes someone (owner, moderators, admins). */
export async function removeMember(db: Db, claims: Claims, roomId: string, userId: string): Promise<void> {
  await asUser(db, claims, async (tx) => {
    const room = await requireMembershipOrAdmin(tx, roomId);
    if (room.kind === "dm" || room.kind === "order") throw forbidden("Nobody leaves this room.");
    const [target] = await tx.query("select 1 from public.room_members where room_id = $1 and user_id = $2", [
      roomId,
      userId,
    ]);
    if (!target) throw notFound("That person is not a member.");
    const removed = await tx.query(
      "delete from public.room_members where room_id = $1 and user_id = $2 returning user_id",
      [roomId, userId],
    );
    if (!removed.length) throw forbidden("Only the room's owner and moderators may remove people.");
  });
}

/** Mutes a member until a time (null unmutes): room owner and moderators, admins. */
export async function muteMember(
  db: Db,
  claims: Claims,
  roomId: string,
  userId: string,
  minutes: number,
): Promise<MemberView> {
  return await asUser(db, claims, async (tx) => {
    await requireMembershipOrAdmin(tx, roomId);
    await tx.query(
      "select public.chat_mute($1, $2, case when $3::int > 0 then now() + make_interval(mins => $3::int) end)",
      [roomId, userId, minutes],
    );
    return await memberOf(tx, roomId, userId);
  });
}

/** The one DM room of the caller and another person; `created` the first time. */
export async function openDm(
  db: Db,
  claims: Claims,
  otherUserId: string,
): Promise<{ room: RoomView; created: boolean }> {
  if (otherUserId === claims.sub) {
    throw unprocessable("A direct message needs another person.", [
      { path: "user_id", message: "That is you." },
    ]);
  }
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ room_id: string; created: boolean }>(
      "select room_id, created from public.chat_open_dm($1)",
      [otherUserId],
    );
    const room = await requireRoom(tx, row.room_id);
    return { room: { ...room, members: await listMembers(tx, row.room_id) }, created: row.created };
  });
}

/** Whether others see the caller's read position. */
export async function loadChatSettings(db: Db, claims: Claims): Promise<{ read_receipts: boolean }> {
  return await asUser(db, claims, async (tx) => {
    const [row] = await tx.query<{ read_receipts: boolean }>(
      "select read_receipts from public.chat_settings where user_id = auth.uid()",
    );
    return { read_receipts: row?.read_receipts ?? true };
  });
}

/** Saves the caller's chat settings. */
export async function saveChatSettings(
  db: Db,
  claims: Claims,
  settings: { read_receipts: boolean },
): Promise<{ read_receipts: boolean }> {
  return await asUser(db, claims, async (tx) => {
    await tx.query(
      `insert into public.chat_settings (user_id, read_receipts) values (auth.uid(), $1)
       on conflict (user_id) do update set read_receipts = excluded.read_receipts, updated_at = now()`,
      [settings.read_receipts],
    );
    return settings;
  });
}
