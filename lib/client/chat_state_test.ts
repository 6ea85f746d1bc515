import assert from "node:assert/strict";
import {
  canDelete,
  type ChatMember,
  type ChatMessage,
  type ChatRoom,
  idRange,
  isUuid,
  type ListedMessage,
  mapLink,
  mergeMessages,
  newClientId,
  patchPending,
  pruneTyping,
  reacted,
  roomTitle,
  seenBy,
  typingText,
  unreadLabel,
} from "./chat_state.ts";
import { excerpt } from "./chat_extras.tsx";

const ADA = "00000000-0000-4000-8000-00000000000a";
const BO = "00000000-0000-4000-8000-00000000000b";
const CY = "00000000-0000-4000-8000-00000000000c";

function makeMessage(id: number, over: Partial<ListedMessage> = {}): ListedMessage {
  return {
    id,
    room_id: "r",
    author: { id: ADA, name: "Ada" },
    kind: "text",
    body: `message ${id}`,
    data: null,
    client_id: `c${id}`,
    reply_to: null,
    mentions: [],
    attachments: [],
    reactions: [],
    created_at: "2025-01-01T00:00:00Z",
    edited_at: null,
    deleted_at: null,
    ...over,
  };
}

const member = (id: string, name: string, last_read_id: number | null): ChatMember => ({
  id,
  name,
  role: "member",
  last_read_id,
  joined_at: "2025-01-01T00:00:00Z",
  muted_until: null,
});

const ids = (list: ChatMessage[]) => list.map((m) => m.id);

Deno.test("[chat_state] merge orders by id and drops duplicates", () => {
  const list = mergeMessages([makeMessage(5), makeMessage(7)], [
    makeMessage(6),
    makeMessage(7),
    makeMessage(3),
  ]);
  assert.deepEqual(ids(list), [3, 5, 6, 7]);
  assert.deepEqual(ids(mergeMessages(list, [makeMessage(8), makeMessage(8)])), [3, 5, 6, 7, 8]);
});

Deno.test("[chat_state] a catch-up page after a gap fills it without doubling", () => {
  const live = mergeMessages([makeMessage(1), makeMessage(2)], [makeMessage(6)]);
  const caught = mergeMessages(live, [3, 4, 5, 6].map((id) => makeMessage(id)));
  assert.deepEqual(ids(caught), [1, 2, 3, 4, 5, 6]);
});

Deno.test("[chat_state] the server message replaces our pending post with the same client_id", () => {
  const pending = makeMessage(0, { client_id: "mine", status: "sending" });
  const other = makeMessage(0, { client_id: "later", status: "sending" });
  const list = mergeMessages([makeMessage(1), pending, other], [makeMessage(2, { client_id: "mine" })]);
  assert.deepEqual(list.map((m) => [m.id, m.client_id, m.status]), [
    [1, "c1", undefined],
    [2, "mine", undefined],
    [0, "later", "sending"],
  ]);
  // The POST's answer after the realtime copy: still one message.
  assert.deepEqual(ids(mergeMessages(list, [makeMessage(2, { client_id: "mine" })])), [1, 2, 0]);
});

Deno.test("[chat_state] merge keeps a deletion and the later edit over stale copies", () => {
  const deleted = makeMessage(4, { body: "", deleted_at: "2025-01-01T00:02:00Z" });
  assert.equal(mergeMessages([deleted], [makeMessage(4)])[0].deleted_at, deleted.deleted_at);
  const edited = makeMessage(4, { body: "new", edited_at: "2025-01-01T00:01:00Z" });
  assert.equal(mergeMessages([edited], [makeMessage(4)])[0].body, "new");
  const reactions = [{ emoji: "👍", count: 1, user_ids: [BO] }];
  assert.deepEqual(mergeMessages([edited], [{ ...edited, reactions }])[0].reactions, reactions);
  assert.equal(mergeMessages([makeMessage(4)], [deleted])[0].body, "");
});

Deno.test("[chat_state] merge with nothing new returns the same list", () => {
  const list = [makeMessage(1)];
  assert.equal(mergeMessages(list, []), list);
});

Deno.test("[chat_state] patchPending marks a failed post and leaves server messages alone", () => {
  const list = [makeMessage(1, { client_id: "x" }), makeMessage(0, { client_id: "x", status: "sending" })];
  const out = patchPending(list, "x", { status: "failed", error: "Offline" });
  assert.equal(out[0].status, undefined);
  assert.deepEqual([out[1].status, out[1].error], ["failed", "Offline"]);
});

Deno.test("[chat_state] idRange ignores pending posts", () => {
  assert.deepEqual(idRange([]), [0, 0]);
  assert.deepEqual(idRange([makeMessage(3), makeMessage(9), makeMessage(0)]), [3, 9]);
});

Deno.test("[chat_state] seen-by names who read my latest read message, never me", () => {
  const list = [
    makeMessage(1),
    makeMessage(2, { author: { id: BO, name: "Bo" } }),
    makeMessage(3),
    makeMessage(4),
    makeMessage(0, { status: "sending" }),
  ];
  const members = [member(ADA, "Ada", 4), member(BO, "Bo", 3), member(CY, "Cy", 3)];
  assert.deepEqual(seenBy(list, members, ADA), { id: 3, names: ["Bo", "Cy"] });
  members[2].last_read_id = 4;
  assert.deepEqual(seenBy(list, members, ADA), { id: 4, names: ["Cy"] });
  assert.equal(seenBy(list, [member(ADA, "Ada", 4), member(BO, "Bo", null)], ADA), null);
  assert.equal(seenBy(list, members, CY), null);
});

Deno.test("[chat_state] typing line for one, two and several people", () => {
  assert.equal(typingText([]), "");
  assert.equal(typingText(["Ada"]), "Ada is typing…");
  assert.equal(typingText(["Ada", "Bo"]), "Ada and Bo are typing…");
  assert.equal(typingText(["Ada", "Bo", "Cy"]), "Several people are typing…");
});

Deno.test("[chat_state] typing entries expire after six seconds", () => {
  const typing = { [ADA]: { name: "Ada", at: 1000 }, [BO]: { name: "Bo", at: 5000 } };
  assert.equal(pruneTyping(typing, 6000), typing);
  assert.deepEqual(Object.keys(pruneTyping(typing, 7000)), [BO]);
  assert.deepEqual(pruneTyping(typing, 20_000), {});
});

Deno.test("[chat_state] unread badge caps at 999+", () => {
  assert.equal(unreadLabel(0), "");
  assert.equal(unreadLabel(7), "7");
  assert.equal(unreadLabel(999), "999");
  assert.equal(unreadLabel(1000), "999+");
});

Deno.test("[chat_state] a DM is titled by the other person", () => {
  const room = { name: "dm", dm_user: { id: BO, name: "Bo" } } as ChatRoom;
  assert.equal(roomTitle(room), "Bo");
  assert.equal(roomTitle({ ...room, name: "General", dm_user: null }), "General");
});

Deno.test("[chat_state] location links only for real coordinates", () => {
  assert.equal(
    mapLink({ lat: 52.5, lng: 13.4 }),
    "https://www.openstreetmap.org/?mlat=52.5&mlon=13.4#map=16/52.5/13.4",
  );
  assert.equal(mapLink({ lat: 95, lng: 0 }), null);
  assert.equal(mapLink({ lat: "x", lng: 1 }), null);
  assert.equal(mapLink(null), null);
});

Deno.test("[chat_state] delete rights: author, room owner and moderators, admins", () => {
  const m = makeMessage(1);
  assert.ok(canDelete(m, ADA, "member", "member"));
  assert.ok(!canDelete(m, BO, "member", "member"));
  assert.ok(canDelete(m, BO, "moderator", "member"));
  assert.ok(canDelete(m, BO, "owner", "member"));
  assert.ok(canDelete(m, BO, null, "admin"));
  assert.ok(!canDelete({ ...m, deleted_at: "2025-01-01T00:00:00Z" }, ADA, "owner", "admin"));
  assert.ok(!canDelete({ ...m, kind: "system", author: null }, BO, "owner", "admin"));
});

Deno.test("[chat_state] reacted tells my reactions apart", () => {
  const m = makeMessage(1, { reactions: [{ emoji: "👍", count: 2, user_ids: [ADA, BO] }] });
  assert.ok(reacted(m, "👍", BO));
  assert.ok(!reacted(m, "👍", CY));
  assert.ok(!reacted(m, "🎉", ADA));
});

Deno.test("[chat_state] client ids are fresh UUIDs", () => {
  const a = newClientId();
  assert.ok(isUuid(a));
  assert.notEqual(a, newClientId());
  assert.ok(!isUuid("not-a-uuid"));
  // Plain HTTP (no secure context) has no randomUUID.
  const original = crypto.randomUUID;
  Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true });
  try {
    const fallback = newClientId();
    assert.ok(isUuid(fallback), fallback);
    assert.match(fallback, /^.{14}4.{4}[89ab]/);
    assert.notEqual(fallback, newClientId());
  } finally {
    Object.defineProperty(crypto, "randomUUID", { value: original, configurable: true });
  }
});

Deno.test("[chat_state] excerpt keeps short bodies and cuts long ones around the search word", () => {
  assert.equal(excerpt("  hello\n world ", "hello"), "hello world");
  const long = `${"a ".repeat(100)}needle ${"b ".repeat(100)}`;
  const cut = excerpt(long, "needle", 60);
  assert.ok(cut.startsWith("…") && cut.endsWith("…"));
  assert.ok(cut.includes("needle"));
  assert.ok(excerpt(long, "zzz", 60).startsWith("a a"));
  assert.ok(excerpt(`${long}tail`, "tail", 60).endsWith("tail"));
});
