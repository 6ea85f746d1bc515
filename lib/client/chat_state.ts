/**
 * Pure helpers for the chat island (`islands/ChatApp.tsx`): the API's shapes (docs/chat.md), the
 * message list merge (by id, ordered by id, optimistic posts replaced by their server message via
 * `client_id`), read receipts, the typing line and badge labels. No DOM, no network: unit tested.
 */

import type { MemberView, MessageView, RoomView } from "../chat/views.ts";

/** Someone as a message or a DM shows them. */
export type ChatPerson = NonNullable<MessageView["author"]>;
/** One emoji on a message, with who reacted. */
export type ChatReaction = MessageView["reactions"][number];
/** A message as the API sends it (lib/chat/views.ts). */
export type ChatMessage = MessageView;

/**
 * A message in the room view: a server message, or one of ours on its way (`id` 0, `status`
 * "sending", or "failed" with the reason).
 */
export interface ListedMessage extends ChatMessage {
  status?: "sending" | "failed";
  error?: string;
}

/** A member of a room, as `GET /rooms/:id` lists them. */
export type ChatMember = MemberView;
/** A room as `GET /rooms` lists it (with `members` from `GET /rooms/:id`). */
export type ChatRoom = RoomView;

/** Rooms above this size neither send nor show typing. */
export const TYPING_MAX_MEMBERS = 100;

/** The name a room goes by: the other person for a DM. */
export const roomTitle = (room: ChatRoom): string => room.dm_user?.name ?? room.name;

/** The badge text for an unread count: "" for none, "999+" from 1,000. */
export const unreadLabel = (n: number): string => n <= 0 ? "" : n > 999 ? "999+" : String(n);

/** Keeps the version of a message that reflects the later change (a deletion wins, then the later edit). */
function fresher(old: ListedMessage, next: ChatMessage): ListedMessage {
  if (old.deleted_at && !next.deleted_at) return old;
  if (old.edited_at && (!next.edited_at || next.edited_at < old.edited_at) && !next.deleted_at) return old;
  return next;
}

/**
 * Merges server messages into the list: one entry per id, ordered by id, then our messages still on
 * their way (in the order they were written) unless the server already has them by `client_id`.
 */
export function mergeMessages(list: ListedMessage[], incoming: ChatMessage[]): ListedMessage[] {
  if (!incoming.length) return list;
  const byId = new Map<number, ListedMessage>();
  const pending: ListedMessage[] = [];
  for (const m of list) m.id > 0 ? byId.set(m.id, m) : pending.push(m);
  for (const m of incoming) {
    const old = byId.get(m.id);
    byId.set(m.id, old ? fresher(old, m) : m);
  }
  const known = [...byId.values()].sort((a, b) => a.id - b.id);
  const arrived = new Set(known.map((m) => m.client_id));
  return [...known, ...pending.filter((m) => !arrived.has(m.client_id))];
}

/** Replaces our pending message `clientId` with `patch` applied (for "failed" and retries). */
export const patchPending = (list: ListedMessage[], clientId: string, patch: Partial<ListedMessage>) =>
  list.map((m) => m.id === 0 && m.client_id === clientId ? { ...m, ...patch } : m);

/** The oldest and newest server ids in the list (0 when there are none). */
export function idRange(list: ListedMessage[]): [number, number] {
  const ids = list.filter((m) => m.id > 0);
  return ids.length ? [ids[0].id, ids[ids.length - 1].id] : [0, 0];
}

/**
 * The "Seen by" receipt: the latest of my messages someone else has read, with who read it (in
 * member order). Null when nobody has read any of mine.
 */
export function seenBy(
  list: ListedMessage[],
  members: ChatMember[],
  me: string,
): { id: number; names: string[] } | null {
  const others = members.filter((m) => m.id !== me && m.last_read_id !== null);
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (m.id <= 0 || m.author?.id !== me || m.deleted_at) continue;
    const names = others.filter((o) => o.last_read_id! >= m.id).map((o) => o.name);
    if (names.length) return { id: m.id, names };
  }
  return null;
}

/** The typing line for the names of who is typing: "" for nobody. */
export function typingText(names: string[]): string {
  if (!names.length) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

/** Who is typing: user id to name and when we last heard it. */
export type Typing = Record<string, { name: string; at: number }>;

/** Drops typing entries older than `ttl` ms; returns the same object when nothing expired. */
export function pruneTyping(typing: Typing, now: number, ttl = 6000): Typing {
  const keep = Object.entries(typing).filter(([, t]) => now - t.at < ttl);
  return keep.length === Object.keys(typing).length ? typing : Object.fromEntries(keep);
}

/** The OpenStreetMap link for a location message, or null when its data is not a place. */
export function mapLink(data: ChatMessage["data"]): string | null {
  const lat = Number(data?.lat), lng = Number(data?.lng);
  return Math.abs(lat) <= 90 && Math.abs(lng) <= 180
    ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=16/${lat}/${lng}`
    : null;
}

/** Whether `me` may delete `m`: their own, or anyone's as the room's owner or a moderator, or as an admin. */
export const canDelete = (m: ChatMessage, me: string, roomRole: string | null, appRole: string) =>
  !m.deleted_at && m.kind !== "system" &&
  (m.author?.id === me || roomRole === "owner" || roomRole === "moderator" || appRole === "admin");

/** Whether the reaction `emoji` on `m` is one of mine. */
export const reacted = (m: ChatMessage, emoji: string, me: string) =>
  m.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(me));

/** A fresh idempotency key (`crypto.randomUUID` needs a secure context, which plain HTTP is not). */
export const newClientId = (): string =>
  crypto.randomUUID?.() ??
    "10000000-1000-4000-8000-100000000000".replace(
      /[018]/g,
      (c) => (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16),
    );

/** Whether `s` is a UUID (room and user ids). */
export const isUuid = (s: string) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
