/**
 * The `/chat` page: the room list with unread badges and public rooms to join, and the open room
 * with its history (older pages load upward), an optimistic composer, replies, edits, deletions,
 * reactions, typing, presence and read receipts, live over the private `room:<id>` channel.
 * Badges follow `chat_unread` on `user:<id>`. After a reconnect it fetches what it missed by id.
 * API and events: docs/chat.md. Merge and receipt rules: lib/client/chat_state.ts.
 */
import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef } from "preact/hooks";
import type { RealtimeChannel } from "@supabase/realtime-js";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";
import {
  canDelete,
  type ChatMessage,
  type ChatReaction,
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
  type Typing,
  TYPING_MAX_MEMBERS,
  typingText,
  unreadLabel,
} from "@/lib/client/chat_state.ts";
import {
  AttachButton,
  type Attachment,
  attachmentsLabel,
  AttachmentTray,
  MessageAttachments,
  pasteFiles,
  useDropZone,
  useTray,
} from "@/lib/client/chat_attachments.tsx";

/** Props: the realtime config, who is chatting, their app role and the room in the URL. */
export interface ChatAppProps {
  [key: string]: unknown;
  supabaseUrl: string;
  supabaseAnonKey: string;
  me: { id: string; name: string };
  appRole: string;
  roomId: string | null;
}

type Page = { messages: ChatMessage[]; has_more: boolean };

type Extras = typeof import("@/lib/client/chat_extras.tsx");

const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

async function api<T>(path: string, method = "GET", body?: object): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body && JSON.stringify(body),
  });
  const json = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error(json?.error?.message ?? `Request failed (${res.status}).`);
  return json;
}

const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const preview = (m: ChatMessage, me: string) =>
  (m.author ? `${m.author.id === me ? "You" : m.author.name}: ` : "") +
  (m.deleted_at ? "deleted a message" : m.body || attachmentsLabel(m.attachments));
const isMuted = (r: ChatRoom | null) => !!r?.muted_until && Date.parse(r.muted_until) > Date.now();
const members = (n: number) => `${n} member${n === 1 ? "" : "s"}`;
const button = (label: string, text: ComponentChildren, onClick: () => void, cls?: string) => (
  <button type="button" class={cls} aria-label={label} onClick={onClick}>{text}</button>
);

/** The chat app. */
export default function ChatApp(props: ChatAppProps) {
  const me = props.me;
  const rooms = useSignal<ChatRoom[] | null>(null);
  const roomId = useSignal(props.roomId);
  const room = useSignal<ChatRoom | null>(null);
  const msgs = useSignal<ListedMessage[]>([]);
  const loaded = useSignal(false);
  const older = useSignal(false);
  const conn = useSignal<"connecting" | "online" | "reconnecting">("connecting");
  const online = useSignal<{ id: string; name: string }[]>([]);
  const typing = useSignal<Typing>({});
  // The message the composer replies to or edits.
  const target = useSignal<{ m: ListedMessage; edit?: boolean } | null>(null);
  const selected = useSignal(0);
  const picker = useSignal(0);
  const confirming = useSignal(0);
  const panel = useSignal("");
  const draft = useSignal("");
  const problem = useSignal("");
  const visible = useSignal(true);
  const joins = useSignal(0);
  // Search, reports and settings load on first use (lib/client/chat_extras.tsx).
  const extras = useSignal<Extras | null>(null);
  const q = useSignal("");
  const reporting = useSignal(0);
  const leaving = useSignal("");
  const log = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  // Files on their way into the next message (lib/client/chat_attachments.tsx).
  const tray = useTray();
  // What changes without rendering.
  const x = useMemo(() => ({
    ch: null as RealtimeChannel | null,
    readSent: 0,
    typedAt: 0,
    anchor: 0,
    stick: true,
    busy: false,
    timer: undefined as ReturnType<typeof setTimeout> | undefined,
  }), []);

  const flash = (e: Error) => problem.value = e.message;
  const need = () => {
    if (!extras.value) import("@/lib/client/chat_extras.tsx").then((m) => extras.value = m, flash);
  };
  const loadRooms = () => api<{ rooms: ChatRoom[] }>("/rooms").then((r) => rooms.value = r.rooms, flash);
  const setRoom = (id: string, patch: Partial<ChatRoom>) => {
    if (rooms.value) rooms.value = rooms.value.map((r) => r.id === id ? { ...r, ...patch } : r);
    if (room.value?.id === id) room.value = { ...room.value, ...patch };
  };
  const page = (id: string, query = "") => api<Page>(`/rooms/${id}/messages?limit=50${query && `&${query}`}`);
  const merge = (id: string, incoming: ChatMessage[]) => {
    if (roomId.value === id) msgs.value = mergeMessages(msgs.value, incoming);
  };
  const go = (id: string | null, push = true) => {
    if (id === roomId.value) return;
    if (push) history.pushState(null, "", `/chat${id ? `/${id}` : ""}`);
    roomId.value = id;
  };

  // Once: the room list, the user channel, back and forward, visibility.
  useEffect(() => {
    loadRooms();
    const { client } = realtimeClient(props);
    const topic = `user:${me.id}`;
    const attached = new WeakSet<RealtimeChannel>();
    const attach = (ch: RealtimeChannel) => {
      attached.add(ch);
      ch.on("broadcast", { event: "chat_unread" }, ({ payload }) => {
        if (!rooms.value?.some((r) => r.id === payload.room_id)) return loadRooms();
        setRoom(payload.room_id, { unread_count: payload.unread_count });
        // Previews and order, for the rooms that are not open; a burst refetches once.
        clearTimeout(x.timer);
        if (payload.room_id !== roomId.value) x.timer = setTimeout(loadRooms, 1500);
      });
      ch.on("broadcast", { event: "chat_rooms" }, ({ payload }) => {
        loadRooms();
        if (payload.change === "left" && payload.room_id === roomId.value) go(null);
      });
    };
    // The bell joins `user:<id>` as well, and the client keeps one channel per topic: listen on the
    // bell's channel (and on the new one it joins after a close) rather than joining it twice.
    let leave: (() => void) | undefined;
    const watch = () => {
      const ch = client.getChannels().find((c) => c.topic === `realtime:${topic}`);
      if (ch && !attached.has(ch)) attach(ch);
      else if (!ch && !leave && !document.querySelector('[data-island="NotificationBell"]')) {
        leave = joinChannel(client, topic, { setup: attach });
      }
    };
    watch();
    const watcher = setInterval(watch, 1000);
    const onPop = () => {
      go(location.pathname.split("/")[2] || null, false);
    };
    const onVisible = () => visible.value = document.visibilityState === "visible";
    addEventListener("popstate", onPop);
    document.addEventListener("visibilitychange", onVisible);
    onVisible();
    return () => {
      clearInterval(watcher);
      leave?.();
      removeEventListener("popstate", onPop);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  // The open room: details, the newest page, and its channel.
  useEffect(() => {
    const id = roomId.value;
    room.value = target.value = x.ch = null;
    msgs.value = [];
    loaded.value = older.value = false;
    conn.value = "connecting";
    online.value = [];
    typing.value = {};
    selected.value =
      picker.value =
      confirming.value =
      reporting.value =
        0;
    problem.value = "";
    x.stick = true;
    tray.clear();
    if (!id) return;
    let gone = false;
    let leave: (() => void) | undefined;
    const { client } = realtimeClient(props);
    const refresh = () => api<ChatRoom>(`/rooms/${id}`).then((r) => !gone && (room.value = r), () => {});
    const catchUp = async () => {
      for (let more = true; more && !gone;) {
        const r = await page(id, `after=${idRange(msgs.value)[1]}`);
        merge(id, r.messages);
        more = r.has_more && r.messages.length > 0;
      }
    };
    const subscribe = async () => {
      // A channel we just left stays listed until the server confirms; joining now would reuse it.
      for (let i = 0; i < 100 && client.getChannels().some((c) => c.topic === `realtime:room:${id}`); i++) {
        await new Promise((ok) => setTimeout(ok, 100));
      }
      if (gone) return;
      let subscribedBefore = false;
      leave = joinChannel(client, `room:${id}`, {
        config: { presence: { key: me.id } },
        setup(ch) {
          x.ch = ch;
          ch.on("broadcast", { event: "message" }, ({ payload }) => {
            const m = payload as ChatMessage;
            if (gone || m.room_id !== id) return;
            merge(id, [m]);
            const list = rooms.value ?? [];
            const i = list.findIndex((r) => r.id === id);
            if (i >= 0) rooms.value = [{ ...list[i], last_message: m }, ...list.filter((_, j) => j !== i)];
          });
          ch.on("broadcast", { event: "message_updated" }, ({ payload }) => merge(id, [payload]));
          ch.on("broadcast", { event: "read" }, ({ payload }) => {
            const r = room.value;
            if (gone || !r?.members) return;
            room.value = {
              ...r,
              members: r.members.map((m) =>
                m.id === payload.user_id && payload.last_read_id > (m.last_read_id ?? 0)
                  ? { ...m, last_read_id: payload.last_read_id }
                  : m
              ),
            };
          });
          ch.on("broadcast", { event: "members" }, ({ payload }) => {
            setRoom(id, { member_count: payload.member_count });
            refresh();
          });
          ch.on("broadcast", { event: "typing" }, ({ payload }) => {
            if (gone || payload.user_id === me.id) return;
            const { [payload.user_id]: _, ...rest } = typing.value;
            typing.value = payload.typing
              ? { ...rest, [payload.user_id]: { name: String(payload.name), at: Date.now() } }
              : rest;
          });
          ch.on("presence", { event: "sync" }, () => {
            // The server stamps user_id into each meta from the tracker's token: that is who it is.
            const byUser = new Map<string, string>();
            for (const metas of Object.values(ch.presenceState<{ name?: string; user_id?: string }>())) {
              for (const m of metas) if (m.user_id) byUser.set(m.user_id, m.name ?? "Someone");
            }
            online.value = [...byUser].map(([id, name]) => ({ id, name }))
              .sort((a, b) => a.name.localeCompare(b.name));
          });
        },
        onStatus(status, ch) {
          if (gone) return;
          if (status !== "SUBSCRIBED") {
            conn.value = subscribedBefore ? "reconnecting" : "connecting";
            return;
          }
          conn.value = "online";
          // Muted members may read, but not show presence (nor type, react or post).
          if (!isMuted(room.value)) ch.track({ name: me.name });
          // What was posted while we were away, or between the first page and this join.
          if (loaded.value) catchUp().catch(() => {});
          if (subscribedBefore) {
            loadRooms();
            refresh();
          }
          subscribedBefore = true;
        },
      });
    };
    api<ChatRoom>(`/rooms/${id}`).then(async (r) => {
      if (gone) return;
      room.value = r;
      x.readSent = r.last_read_id ?? 0;
      if (!r.joined) return;
      subscribe();
      const first = await page(id);
      if (gone) return;
      merge(id, first.messages);
      older.value = first.has_more;
      loaded.value = true;
    }).catch((e) => !gone && flash(e));
    return () => {
      gone = true;
      leave?.();
    };
  }, [roomId.value, joins.value]);

  // Typing entries expire after 6 s without news.
  const someoneTyping = Object.keys(typing.value).length > 0;
  useEffect(() => {
    if (!someoneTyping) return;
    const t = setInterval(() => typing.value = pruneTyping(typing.value, Date.now()), 1000);
    return () => clearInterval(t);
  }, [someoneTyping]);

  // Read receipts: the newest message, once the room is on screen, only forward, debounced.
  const newest = idRange(msgs.value)[1];
  useEffect(() => {
    const id = roomId.value;
    if (!id || !loaded.value || !visible.value || newest <= x.readSent) return;
    const t = setTimeout(() => {
      const before = x.readSent;
      x.readSent = newest;
      api<{ room_id: string; unread_count: number }>(`/rooms/${id}/read`, "POST", { message_id: newest })
        .then((r) => setRoom(r.room_id, { unread_count: r.unread_count }), () => x.readSent = before);
    }, 500);
    return () => clearTimeout(t);
  }, [newest, loaded.value, visible.value]);

  // Keep the reading position: at the bottom for new messages, in place when older ones arrive above.
  useLayoutEffect(() => {
    const el = log.current;
    if (!el) return;
    if (x.anchor) el.scrollTop = el.scrollHeight - x.anchor;
    else if (x.stick) el.scrollTop = el.scrollHeight;
    x.anchor = 0;
  }, [msgs.value, room.value, loaded.value]);

  const loadOlder = async () => {
    const id = roomId.value;
    const oldest = idRange(msgs.value)[0];
    if (!id || !oldest || x.busy) return;
    x.busy = true;
    try {
      const r = await page(id, `before=${oldest}`);
      const el = log.current;
      if (el) x.anchor = el.scrollHeight - el.scrollTop;
      merge(id, r.messages);
      older.value = r.has_more;
    } catch (e) {
      flash(e as Error);
    }
    x.busy = false;
  };

  const r = room.value;
  const muted = isMuted(r);
  const drop = useDropZone(tray, !!r?.joined && !muted);
  const typingAllowed = !!r && r.member_count <= TYPING_MAX_MEMBERS && !muted;
  const sendTyping = (on: boolean) => {
    const now = Date.now();
    if (!x.ch || conn.value !== "online" || !typingAllowed || (on ? now - x.typedAt < 3000 : !x.typedAt)) {
      return;
    }
    x.typedAt = on ? now : 0;
    x.ch.send({ type: "broadcast", event: "typing", payload: { user_id: me.id, name: me.name, typing: on } })
      .catch(() => {});
  };

  const post = (m: ListedMessage) =>
    api<ChatMessage>(`/rooms/${m.room_id}/messages`, "POST", {
      body: m.body,
      client_id: m.client_id,
      ...(m.reply_to && { reply_to: m.reply_to.id }),
      ...(m.attachments.length &&
        { attachments: (m.attachments as Attachment[]).map((a) => ({ media_id: a.media_id })) }),
    }).then((saved) => merge(m.room_id, [saved]), (e) => {
      if (roomId.value === m.room_id) {
        msgs.value = patchPending(msgs.value, m.client_id!, { status: "failed", error: e.message });
      }
    });
  const change = (request: Promise<ChatMessage>) =>
    request.then((u) => {
      merge(u.room_id, [u]);
      confirming.value = 0;
    }, (e) => {
      flash(e);
      throw e;
    });
  const send = () => {
    const body = draft.value.trim();
    const t = target.value;
    const files = t?.edit ? [] : tray.ready();
    if ((!body && !files.length) || !r || (!t?.edit && tray.busy())) return;
    if (t?.edit && !body) return;
    if (!t?.edit) tray.clear(false);
    draft.value = "";
    target.value = null;
    x.stick = true;
    sendTyping(false);
    if (t?.edit) {
      // A failed edit goes back into the composer.
      return change(api(`/messages/${t.m.id}`, "PATCH", { body })).catch(() => {
        draft.value = body;
        target.value = t;
      });
    }
    const q = t?.m;
    const m: ListedMessage = {
      id: 0,
      room_id: r.id,
      author: me,
      kind: "text",
      body,
      data: null,
      client_id: newClientId(),
      reply_to: q
        ? { id: q.id, author_name: q.author?.name ?? "", body: q.body.slice(0, 140), deleted: false }
        : null,
      mentions: [],
      attachments: files,
      reactions: [],
      created_at: new Date().toISOString(),
      edited_at: null,
      deleted_at: null,
      status: "sending",
    };
    msgs.value = [...msgs.value, m];
    post(m);
  };
  const aim = (m: ListedMessage, edit?: boolean) => {
    target.value = { m, edit };
    if (edit) draft.value = m.body;
    composer.current?.focus();
  };
  const react = (m: ListedMessage, emoji: string) => {
    picker.value = 0;
    const mine = reacted(m, emoji, me.id);
    api<{ message_id: number; reactions: ChatReaction[] }>(
      `/messages/${m.id}/reactions${mine ? `/${encodeURIComponent(emoji)}` : ""}`,
      mine ? "DELETE" : "POST",
      mine ? undefined : { emoji },
    ).then((res) => {
      msgs.value = msgs.value.map((x) => x.id === res.message_id ? { ...x, reactions: res.reactions } : x);
    }, flash);
  };
  const openRoom = (made: Promise<ChatRoom>) =>
    made.then((room) => {
      panel.value = "";
      loadRooms();
      if (room.id === roomId.value) joins.value++;
      else go(room.id);
    }, flash);

  const joined = rooms.value?.filter((x) => x.joined) ?? [];
  const browse = rooms.value?.filter((x) => !x.joined) ?? [];
  const others = r?.members?.filter((m) => m.id !== me.id) ?? [];
  const seen = r?.members && seenBy(msgs.value, r.members, me.id);
  const typingLine = typingAllowed ? typingText(Object.values(typing.value).map((t) => t.name).sort()) : "";

  const renderMessage = (m: ListedMessage, i: number, list: ListedMessage[]) => {
    const time = <time dateTime={m.created_at}>{clock(m.created_at)}</time>;
    if (m.kind === "system") {
      return (
        <li key={m.id} class="chat-system" data-testid="chat-message" data-id={m.id}>{m.body} {time}</li>
      );
    }
    const prev = list[i - 1];
    const mine = m.author?.id === me.id;
    const head = !prev || prev.kind === "system" || prev.author?.id !== m.author?.id ||
      Date.parse(m.created_at) - Date.parse(prev.created_at) > 300_000;
    const link = m.kind === "location" && mapLink(m.data);
    const live = m.id > 0 && !m.deleted_at;
    return (
      // Keyed by client_id, so our message keeps its element when the server's copy replaces it.
      <li
        key={m.client_id ?? m.id}
        class={`chat-msg${mine ? " mine" : ""}${head ? " head" : ""}${
          live && selected.value === m.id ? " sel" : ""
        }`}
        data-testid="chat-message"
        data-id={m.id || undefined}
        data-client-id={m.client_id}
        data-status={m.status}
        onClick={(e) => {
          const li = e.currentTarget;
          if (live && !(e.target as Element).closest("a,button,form")) {
            selected.value = selected.value === m.id ? 0 : m.id;
            // On phones the actions open below the message: keep them in view.
            setTimeout(() => li.scrollIntoView({ block: "nearest" }));
          }
        }}
      >
        {head && (
          <p class="chat-meta">
            <strong>{mine ? "You" : m.author?.name}</strong> {time}
          </p>
        )}
        <div class="chat-bubble">
          {m.reply_to && (
            <blockquote class="chat-quote">
              <strong>{m.reply_to.author_name}</strong> {m.reply_to.deleted ? "(deleted)" : m.reply_to.body}
            </blockquote>
          )}
          {!m.deleted_at && m.attachments.length > 0 && (
            <MessageAttachments attachments={m.attachments as Attachment[]} />
          )}
          <p class={m.body || m.deleted_at || m.edited_at ? "chat-body" : "chat-body empty"}>
            {m.deleted_at
              ? <em class="muted">This message was deleted</em>
              : link
              ? <a href={link} target="_blank" rel="noopener noreferrer">📍 {m.body || "Location"}</a>
              : m.body}
            {m.edited_at && !m.deleted_at && <span class="muted">(edited)</span>}
          </p>
        </div>
        {m.status === "sending" && <p class="chat-note">Sending…</p>}
        {m.status === "failed" && (
          <p class="chat-note error" role="alert">
            Not sent: {m.error} {button("Retry", "Retry", () => {
              msgs.value = patchPending(msgs.value, m.client_id!, { status: "sending" });
              post(m);
            }, "small")}
          </p>
        )}
        {live && m.reactions.length > 0 && (
          <div class="chat-reactions">
            {m.reactions.map((x) => (
              <button
                type="button"
                class="chat-chip"
                aria-pressed={x.user_ids.includes(me.id)}
                aria-label={`${x.emoji} ${x.count}`}
                data-emoji={x.emoji}
                onClick={() => react(m, x.emoji)}
              >
                {x.emoji} {x.count}
              </button>
            ))}
          </div>
        )}
        {live && (
          <div class="chat-actions" role="group" aria-label="Message actions">
            {!muted && button("Reply", "↩", () => aim(m))}
            {!muted && button("React", "☺", () => picker.value = picker.value === m.id ? 0 : m.id)}
            {mine && !muted && m.kind === "text" && button("Edit", "✎", () => aim(m, true))}
            {canDelete(m, me.id, r?.role ?? null, props.appRole) && (confirming.value === m.id
              ? button(
                "Confirm delete",
                "Delete?",
                () => change(api(`/messages/${m.id}`, "DELETE")).catch(() => {}),
                "danger",
              )
              : button("Delete", "🗑", () => confirming.value = m.id))}
            {!mine && button("Report", "⚑", () => {
              reporting.value = m.id;
              need();
            })}
          </div>
        )}
        {live && reporting.value === m.id && extras.value && (
          <extras.value.Report
            api={api}
            id={m.id}
            close={() => reporting.value = 0}
          />
        )}
        {live && picker.value === m.id && (
          <div class="chat-picker" role="group" aria-label="Reactions">
            {EMOJI.map((emoji) => button(`React with ${emoji}`, emoji, () => react(m, emoji)))}
          </div>
        )}
        {seen && seen.id === m.id && (
          <p class="chat-seen" data-testid="seen-by">Seen by {seen.names.join(", ")}</p>
        )}
      </li>
    );
  };

  return (
    <div class="chat" data-view={roomId.value ? "room" : "list"}>
      <section class="chat-side" aria-label="Conversations">
        <div class="chat-side-head">
          <h1>Chat</h1>
          {button("New room", "New room", () => {
            panel.value = panel.value === "room" ? "" : "room";
            need();
          }, "small")}
          {button(
            "New message",
            "New message",
            () => {
              panel.value = panel.value === "dm" ? "" : "dm";
              need();
            },
            "small",
          )}
        </div>
        {panel.value && extras.value && (
          <extras.value.NewConversation
            kind={panel.value}
            api={api}
            open={openRoom}
            others={others}
            fail={(m) => problem.value = m}
            isUuid={isUuid}
          />
        )}
        <form role="search" class="chat-search" onSubmit={(e) => e.preventDefault()}>
          <input
            type="search"
            name="q"
            maxLength={200}
            placeholder="Search messages"
            aria-label="Search messages"
            autoComplete="off"
            data-testid="chat-search"
            value={q.value}
            onFocus={need}
            onInput={(e) => q.value = e.currentTarget.value}
            onKeyDown={(e) => e.key === "Escape" && (q.value = "")}
          />
        </form>
        {q.value.trim()
          ? extras.value && (
            <extras.value.Search
              api={api}
              q={q.value.trim()}
              roomId={roomId.value}
              open={(m) => go(m.room_id)}
            />
          )
          : (
            <>
              {!rooms.value && <p class="muted">Loading…</p>}
              {rooms.value && !joined.length && <p class="muted">No conversations yet: join a room below.</p>}
              <ul class="chat-rooms">
                {joined.map((x) => {
                  const unread = unreadLabel(x.id === roomId.value && visible.value ? 0 : x.unread_count);
                  return (
                    <li key={x.id}>
                      <a
                        href={`/chat/${x.id}`}
                        class="chat-room"
                        data-testid="room-item"
                        data-room-id={x.id}
                        aria-current={x.id === roomId.value ? "page" : undefined}
                        onClick={(e) => {
                          if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
                          e.preventDefault();
                          go(x.id);
                        }}
                      >
                        <span class="chat-room-name">
                          {x.kind === "private" ? "🔒 " : x.kind !== "dm" && "# "}
                          {roomTitle(x)}
                        </span>
                        {unread && (
                          <span class="chat-unread" data-testid="room-unread" aria-label={`${unread} unread`}>
                            {unread}
                          </span>
                        )}
                        {x.last_message && (
                          <span class="chat-room-last">{preview(x.last_message, me.id)}</span>
                        )}
                      </a>
                    </li>
                  );
                })}
              </ul>
              {browse.length > 0 && (
                <details class="chat-browse" open={!joined.length}>
                  <summary>Browse public rooms ({browse.length})</summary>
                  <ul class="chat-rooms">
                    {browse.map((x) => (
                      <li key={x.id} class="chat-room" data-testid="public-room" data-room-id={x.id}>
                        <span class="chat-room-name"># {x.name}</span>
                        {button(`Join ${x.name}`, "Join", () =>
                          openRoom(api(`/rooms/${x.id}/join`, "POST")), "small")}
                        <span class="chat-room-last">
                          {members(x.member_count)}
                          {x.topic && ` · ${x.topic}`}
                        </span>
                      </li>
                    ))}
                  </ul>
                </details>
              )}
            </>
          )}
        <details class="chat-settings" onToggle={need}>
          <summary>Settings</summary>
          {extras.value ? <extras.value.Settings api={api} /> : <p class="muted">Loading…</p>}
        </details>
      </section>

      <section
        class={drop.dragging ? "chat-main chat-drop" : "chat-main"}
        aria-label={r ? roomTitle(r) : "Conversation"}
        data-testid="chat-drop"
        {...drop.props}
      >
        {problem.value && (
          <p
            class="alert"
            role="alert"
            onClick={() => problem.value = ""}
          >
            {problem.value}
          </p>
        )}
        {!roomId.value && <p class="chat-pick muted">Pick a conversation, or start one.</p>}
        {roomId.value && (
          <>
            <header class="chat-head">
              {button("Back to conversations", "←", () => go(null), "chat-back")}
              <div class="chat-title">
                <h2>{r ? roomTitle(r) : "…"}</h2>
                {r && <p class="muted">{r.topic || members(r.member_count)}</p>}
              </div>
              {r?.joined && (r.kind === "public" || r.kind === "private") && (leaving.value === r.id
                ? (
                  <>
                    {button("Confirm leaving the room", "Leave?", () =>
                      api(`/rooms/${r.id}/members/${me.id}`, "DELETE").then(() => {
                        go(null);
                        loadRooms();
                      }, flash), "small danger")}
                    {button("Stay in the room", "Stay", () => leaving.value = "", "small link-button")}
                  </>
                )
                : button("Leave room", "Leave", () => leaving.value = r.id, "small link-button"))}
              {online.value.length > 0 && (
                <ul
                  class="chat-online"
                  data-testid="chat-online"
                  aria-label={`${online.value.length} online`}
                >
                  {online.value.map((p) => (
                    <li data-user-id={p.id}>
                      <span class="dot" aria-hidden="true"></span>
                      {p.id === me.id ? "You" : p.name}
                    </li>
                  ))}
                </ul>
              )}
            </header>
            {conn.value === "reconnecting" && (
              <p class="chat-banner" role="status" data-testid="chat-reconnecting">Reconnecting…</p>
            )}
            {r && !r.joined && (
              <p class="chat-pick">
                {r.kind === "public"
                  ? button(
                    `Join ${r.name}`,
                    `Join ${r.name}`,
                    () => openRoom(api(`/rooms/${r.id}/join`, "POST")),
                  )
                  : "This room is for its members."}
              </p>
            )}
            <div
              class="chat-log"
              ref={log}
              role="log"
              aria-live="polite"
              aria-label="Messages"
              data-testid="chat-messages"
              onScroll={() => {
                const el = log.current!;
                x.stick = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
                if (el.scrollTop < 150 && older.value) {
                  loadOlder();
                }
              }}
            >
              {older.value &&
                button("Load older messages", "Load older messages", loadOlder, "link-button chat-older")}
              <ol class="chat-list">
                {loaded.value && !msgs.value.length && (
                  <li class="chat-system">No messages yet. Say hello!</li>
                )}
                {msgs.value.map(renderMessage)}
              </ol>
            </div>
            <p class="chat-typing" data-testid="typing" aria-live="polite">{typingLine}</p>
            {r?.joined && (
              <form
                class="chat-composer"
                onSubmit={(e) => {
                  e.preventDefault();
                  send();
                }}
              >
                {target.value && (
                  <p class="chat-target">
                    <span>
                      {target.value.edit ? "Editing" : (
                        <>
                          Replying to <strong>{target.value.m.author?.name}</strong>
                        </>
                      )}: {target.value.m.body.slice(0, 140)}
                    </span>
                    {button(target.value.edit ? "Cancel editing" : "Cancel reply", "✕", () => {
                      if (target.value?.edit) draft.value = "";
                      target.value = null;
                    }, "link-button")}
                  </p>
                )}
                <AttachmentTray tray={tray} />
                <AttachButton tray={tray} disabled={muted || !!target.value?.edit} />
                <textarea
                  ref={composer}
                  rows={1}
                  maxLength={4000}
                  enterkeyhint="send"
                  aria-label={`Message ${roomTitle(r)}`}
                  placeholder={muted ? `You are muted until ${clock(r.muted_until!)}` : "Write a message…"}
                  disabled={muted}
                  data-testid="composer"
                  value={draft.value}
                  onInput={(e) => {
                    draft.value = e.currentTarget.value;
                    if (draft.value) {
                      sendTyping(true);
                    }
                  }}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                      e.preventDefault();
                      send();
                    }
                  }}
                  onBlur={() => sendTyping(false)}
                  onPaste={pasteFiles(tray)}
                />
                <button
                  type="submit"
                  data-testid="send"
                  disabled={muted || tray.busy() ||
                    (!draft.value.trim() && (!!target.value?.edit || !tray.ready().length))}
                >
                  Send
                </button>
              </form>
            )}
          </>
        )}
      </section>
    </div>
  );
}
