/**
 * The compact chat beside an order's map (islands/OrderTracker.tsx): the order room's latest
 * messages (`GET /api/v1/rooms/:id/messages`), live ones from `message` on `room:<id>`, a catch-up
 * with `?after=` after each (re)join, and a one-line composer. Status changes arrive as system
 * messages. docs/chat.md has the API.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { RealtimeClient } from "@supabase/realtime-js";
import { type ChatMessage, idRange, type ListedMessage, mergeMessages, newClientId } from "./chat_state.ts";
import { joinChannel } from "./realtime.ts";
import { clock } from "./order_track.ts";

/** Props: the order's room, who is reading, and the page's realtime client (null before hydration). */
export interface OrderChatProps {
  roomId: string;
  me: { id: string; name: string };
  client: RealtimeClient | null;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    credentials: "same-origin",
    ...init,
    headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}) },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `Something went wrong (HTTP ${res.status}).`);
  return body as T;
}

type Page = { messages: ChatMessage[]; has_more: boolean };

/** The order chat. */
export function OrderChat({ roomId, me, client }: OrderChatProps) {
  const messages = useSignal<ListedMessage[]>([]);
  const loaded = useSignal(false);
  const error = useSignal("");
  const draft = useSignal("");
  const list = useRef<HTMLOListElement>(null);

  const add = (incoming: ChatMessage[]) => {
    messages.value = mergeMessages(messages.value, incoming);
  };

  /** Everything after the newest message we have (or the latest page the first time). */
  const catchUp = async () => {
    try {
      const [, last] = idRange(messages.value);
      if (!last) {
        const page = await call<Page>(`/rooms/${roomId}/messages?limit=50`);
        add(page.messages);
      } else {
        for (let after = last, i = 0; i < 20; i++) {
          const page = await call<Page>(`/rooms/${roomId}/messages?after=${after}&limit=100`);
          add(page.messages);
          if (!page.has_more || !page.messages.length) break;
          after = page.messages.at(-1)!.id;
        }
      }
      loaded.value = true;
    } catch (err) {
      error.value = (err as Error).message;
    }
  };

  useEffect(() => {
    if (!client) return;
    catchUp();
    return joinChannel(client, `room:${roomId}`, {
      setup(ch) {
        ch.on("broadcast", { event: "message" }, ({ payload }) => add([payload as ChatMessage]));
      },
      onStatus: (s) => s === "SUBSCRIBED" && catchUp(),
    });
  }, [client, roomId]);

  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.value.length]);

  const send = async (e: SubmitEvent) => {
    e.preventDefault();
    const body = draft.value.trim();
    if (!body) return;
    const client_id = newClientId();
    const now = new Date().toISOString();
    const pending: ListedMessage = {
      id: 0,
      room_id: roomId,
      author: { id: me.id, name: me.name },
      kind: "text",
      body,
      data: null,
      client_id,
      mentions: [],
      reply_to: null,
      attachments: [],
      reactions: [],
      created_at: now,
      edited_at: null,
      deleted_at: null,
      status: "sending",
    };
    messages.value = [...messages.value, pending];
    draft.value = "";
    error.value = "";
    try {
      const m = await call<ChatMessage>(`/rooms/${roomId}/messages`, {
        method: "POST",
        body: JSON.stringify({ body, client_id }),
      });
      add([m]);
    } catch (err) {
      messages.value = messages.value.filter((m) => !(m.id === 0 && m.client_id === client_id));
      draft.value = body;
      error.value = (err as Error).message;
    }
  };

  return (
    <section class="order-chat card" aria-label="Order chat" data-testid="order-chat">
      <h2>Chat</h2>
      <ol class="order-chat-list" ref={list} aria-live="polite">
        {!loaded.value && <li class="chat-system">Loading messages…</li>}
        {loaded.value && !messages.value.length && <li class="chat-system">No messages yet.</li>}
        {messages.value.map((m) =>
          m.kind === "system"
            ? (
              <li key={m.id || m.client_id} class="order-chat-system" data-testid="order-chat-message">
                {m.body} <time>{clock(m.created_at)}</time>
              </li>
            )
            : (
              <li
                key={m.id || m.client_id}
                class={m.author?.id === me.id ? "order-chat-msg mine" : "order-chat-msg"}
                data-testid="order-chat-message"
              >
                <span class="order-chat-author">{m.author?.id === me.id ? "You" : m.author?.name}</span>
                <span class="order-chat-body">{m.deleted_at ? "(deleted)" : m.body}</span>
                <time>{m.id ? clock(m.created_at) : "sending…"}</time>
              </li>
            )
        )}
      </ol>
      {error.value && <p class="alert" role="alert">{error.value}</p>}
      <form class="order-chat-form" onSubmit={send}>
        <label class="sr-only" for={`order-chat-${roomId}`}>Message</label>
        <input
          id={`order-chat-${roomId}`}
          value={draft.value}
          maxLength={4000}
          placeholder="Message"
          autocomplete="off"
          data-testid="order-chat-input"
          onInput={(e) => draft.value = e.currentTarget.value}
        />
        <button type="submit" class="small">Send</button>
      </form>
    </section>
  );
}
