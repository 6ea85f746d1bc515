/**
 * The less used parts of the chat page, loaded by islands/ChatApp.tsx with `import()` on first use so
 * they stay out of the first download: message search, the report form and the read-receipts setting.
 * API: docs/chat.md.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { ChatMember, ChatMessage, ChatRoom } from "@/lib/client/chat_state.ts";

/** The island's JSON helper: throws the API's error message. */
export type Api = <T>(path: string, method?: string, body?: object) => Promise<T>;

type Found = ChatMessage & { room_name: string };

const when = (iso: string) =>
  new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** Up to `max` characters of `body` around the first word of `q` it contains, with "…" where cut. */
export function excerpt(body: string, q: string, max = 120): string {
  const text = body.replace(/\s+/g, " ").trim();
  if (text.length <= max) return text;
  const lower = text.toLowerCase();
  const at = q.toLowerCase().split(/\W+/).map((w) => w ? lower.indexOf(w) : -1).find((i) => i >= 0) ?? 0;
  const start = Math.max(0, Math.min(at - 30, text.length - max));
  return `${start ? "…" : ""}${text.slice(start, start + max).trim()}${start + max < text.length ? "…" : ""}`;
}

/** Search results for `q` (debounced), optionally only in the open room; `open` shows a result's room. */
export function Search(
  { api, q, roomId, open }: { api: Api; q: string; roomId: string | null; open: (m: Found) => void },
) {
  const here = useSignal(false);
  const found = useSignal<Found[] | null>(null);
  const error = useSignal("");
  const inRoom = here.value && roomId;
  useEffect(() => {
    let gone = false;
    const t = setTimeout(() => {
      const query = `q=${encodeURIComponent(q)}${inRoom ? `&room_id=${inRoom}` : ""}`;
      api<{ messages: Found[] }>(`/search/messages?${query}&limit=30`).then((r) => {
        if (gone) return;
        found.value = r.messages;
        error.value = "";
      }, (e) => !gone && (error.value = e.message));
    }, 300);
    return () => {
      gone = true;
      clearTimeout(t);
    };
  }, [q, inRoom]);
  return (
    <div class="chat-search-results">
      {roomId && (
        <label class="chat-check">
          <input
            type="checkbox"
            checked={here.value}
            onChange={(e) => here.value = e.currentTarget.checked}
          />
          In this room
        </label>
      )}
      {error.value && <p class="error" role="alert">{error.value}</p>}
      {!found.value && !error.value && <p class="muted">Searching…</p>}
      {found.value && !found.value.length && <p class="muted">No messages found.</p>}
      <ul class="chat-rooms" aria-label="Search results">
        {found.value?.map((m) => (
          <li key={m.id}>
            <a
              href={`/chat/${m.room_id}`}
              class="chat-room"
              data-testid="search-result"
              data-id={m.id}
              onClick={(e) => {
                if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
                e.preventDefault();
                open(m);
              }}
            >
              <span class="chat-room-name">
                # {m.room_name}
              </span>
              <time class="chat-room-time" dateTime={m.created_at}>{when(m.created_at)}</time>
              <span class="chat-room-last">
                {m.author && <strong>{m.author.name}:</strong>} {excerpt(m.body, q)}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Asks for a reason and reports message `id` to the moderators. */
export function Report({ api, id, close }: { api: Api; id: number; close: () => void }) {
  const state = useSignal<"" | "sending" | "sent">("");
  const error = useSignal("");
  if (state.value === "sent") {
    return <p class="chat-note" role="status">Reported. Moderators will look at it.</p>;
  }
  return (
    <form
      class="chat-report"
      aria-label="Report message"
      onSubmit={(e) => {
        e.preventDefault();
        const reason = String(new FormData(e.currentTarget).get("reason")).trim();
        state.value = "sending";
        api(`/messages/${id}/report`, "POST", { reason }).then(() => state.value = "sent", (e) => {
          state.value = "";
          error.value = e.message;
        });
      }}
    >
      <input
        name="reason"
        required
        maxLength={500}
        placeholder="Why? (spam, abuse…)"
        aria-label="Reason for the report"
        autoFocus
        onKeyDown={(e) => e.key === "Escape" && close()}
      />
      <button type="submit" class="small" disabled={state.value === "sending"}>Send</button>
      <button type="button" class="small link-button" onClick={close}>Cancel</button>
      {error.value && <p class="error" role="alert">{error.value}</p>}
    </form>
  );
}

/** The "Share read receipts" checkbox. */
export function Settings({ api }: { api: Api }) {
  const on = useSignal<boolean | null>(null);
  const error = useSignal("");
  useEffect(() => {
    api<{ read_receipts: boolean }>("/chat/settings").then(
      (s) => on.value = s.read_receipts,
      (e) => error.value = e.message,
    );
  }, []);
  return (
    <>
      <label class="chat-check">
        <input
          type="checkbox"
          checked={!!on.value}
          disabled={on.value === null}
          onChange={(e) => {
            const want = e.currentTarget.checked;
            on.value = want;
            api<{ read_receipts: boolean }>("/chat/settings", "PUT", { read_receipts: want }).then(
              (s) => on.value = s.read_receipts,
              (e) => {
                on.value = !want;
                error.value = e.message;
              },
            );
          }}
        />
        Share read receipts
      </label>
      {error.value && <p class="error" role="alert">{error.value}</p>}
    </>
  );
}

/** The "New room" (`kind` "room") or "New message" (a DM) form; `open` takes the room it makes. */
export function NewConversation({ kind, api, open, others, fail, isUuid }: {
  kind: string;
  api: Api;
  open: (made: Promise<ChatRoom>) => void;
  others: ChatMember[];
  fail: (message: string) => void;
  /** `isUuid` of chat_state.ts, passed in so that module stays out of this chunk. */
  isUuid: (s: string) => boolean;
}) {
  const submit = (e: Event, make: (f: FormData) => Promise<ChatRoom> | void) => {
    e.preventDefault();
    const made = make(new FormData(e.currentTarget as HTMLFormElement));
    if (made) open(made);
  };
  return kind === "room"
    ? (
      <form
        class="chat-form"
        aria-label="New room"
        onSubmit={(e) =>
          submit(e, (f) =>
            api("/rooms", "POST", {
              name: String(f.get("name")).trim(),
              kind: f.get("kind"),
              ...(f.get("topic") && { topic: f.get("topic") }),
            }))}
      >
        <label>
          Name <input name="name" required maxLength={80} />
        </label>
        <label>
          Topic <input name="topic" maxLength={250} />
        </label>
        <label>
          Who can join
          <select name="kind">
            <option value="public">Public: anyone</option>
            <option value="private">Private: invited people</option>
          </select>
        </label>
        <button type="submit">Create room</button>
      </form>
    )
    : (
      <form
        class="chat-form"
        aria-label="New message"
        onSubmit={(e) =>
          submit(e, (f) => {
            const id = String(f.get("user_id") || f.get("member")).trim();
            if (isUuid(id)) return api("/dms", "POST", { user_id: id });
            fail("Pick a member or enter a user id.");
          })}
      >
        {others.length > 0 && (
          <label>
            Someone in this room
            <select name="member">
              <option value="">Choose…</option>
              {others.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
            </select>
          </label>
        )}
        <label>
          {others.length ? "Or a user id" : "User id"} <input name="user_id" autoComplete="off" />
        </label>
        <button type="submit">Start conversation</button>
      </form>
    );
}
