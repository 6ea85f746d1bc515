/**
 * The bell in the header: the unread count, live over the private `user:<id>` channel (new
 * notifications and reads on other tabs or devices), and a panel with the latest notifications.
 * After a reconnect it re-reads the count, so nothing missed while offline is lost.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";

/** Props: the realtime config and whose bell it is. */
export interface NotificationBellProps {
  [key: string]: unknown;
  supabaseUrl: string;
  supabaseAnonKey: string;
  userId: string;
}

interface Item {
  id: number;
  title: string;
  body: string;
  url: string | null;
  created_at: string;
  read_at: string | null;
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, {
    credentials: "same-origin",
    ...init,
    headers: { accept: "application/json", "content-type": "application/json", ...init?.headers },
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return await res.json() as T;
}

const ago = (iso: string) => {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
};

/**
 * A browser's push subscription belongs to whoever signed in last on it: once per browser session,
 * hand the existing subscription to the server for this user (the server moves it to them).
 */
function bindPushToThisUser(userId: string) {
  try {
    if (!("serviceWorker" in navigator) || typeof Notification === "undefined") return;
    if (Notification.permission !== "granted" || sessionStorage.getItem("plaza-push-user") === userId) return;
    navigator.serviceWorker.getRegistration("/")
      .then((reg) => reg?.pushManager.getSubscription())
      .then(async (sub) => {
        if (!sub) return;
        const res = await fetch("/api/v1/push/subscriptions", {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ subscription: sub.toJSON() }),
        });
        if (res.ok) sessionStorage.setItem("plaza-push-user", userId);
      })
      .catch(() => {});
  } catch {
    // storage or service workers unavailable: nothing to bind
  }
}

/** The notification bell. */
export default function NotificationBell({ supabaseUrl, supabaseAnonKey, userId }: NotificationBellProps) {
  const unread = useSignal<number | null>(null);
  const open = useSignal(false);
  const items = useSignal<Item[] | null>(null);
  const error = useSignal("");
  const root = useRef<HTMLDivElement>(null);

  const refreshCount = () =>
    api<{ unread: number }>("/api/v1/notifications/unread").then((r) => unread.value = r.unread).catch(
      () => {},
    );
  const loadItems = () =>
    api<{ notifications: Item[]; unread: number }>("/api/v1/notifications?limit=8")
      .then((r) => {
        items.value = r.notifications;
        unread.value = r.unread;
        error.value = "";
      })
      .catch(() => error.value = "Could not load notifications.");

  useEffect(() => {
    refreshCount();
    bindPushToThisUser(userId);
    const { client } = realtimeClient({ supabaseUrl, supabaseAnonKey });
    const leave = joinChannel(client, `user:${userId}`, {
      setup(ch) {
        ch.on("broadcast", { event: "notification" }, ({ payload }) => {
          unread.value = payload.unread ?? (unread.value ?? 0) + 1;
          const n = payload.notification as Item | undefined;
          if (n && items.value) items.value = [{ ...n, read_at: null }, ...items.value].slice(0, 8);
        });
        ch.on("broadcast", { event: "notifications_read" }, ({ payload }) => {
          unread.value = payload.unread;
          const ids = new Set<number>(payload.ids ?? []);
          if (items.value) {
            items.value = items.value.map((i) =>
              ids.has(i.id) ? { ...i, read_at: new Date().toISOString() } : i
            );
          }
        });
      },
      // Whatever happened while we were away.
      onStatus: (status) => status === "SUBSCRIBED" && refreshCount(),
    });
    const onDoc = (e: MouseEvent) => {
      if (open.value && root.current && !root.current.contains(e.target as Node)) open.value = false;
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") open.value = false;
    };
    document.addEventListener("click", onDoc);
    document.addEventListener("keydown", onKey);
    return () => {
      leave();
      document.removeEventListener("click", onDoc);
      document.removeEventListener("keydown", onKey);
    };
  }, []);

  const toggle = () => {
    open.value = !open.value;
    if (open.value) loadItems();
  };
  const markAll = async () => {
    await api("/api/v1/notifications/read", { method: "POST", body: JSON.stringify({ all: true }) }).catch(
      () => {},
    );
    loadItems();
  };
  const openItem = async (item: Item) => {
    if (!item.read_at) {
      await api("/api/v1/notifications/read", { method: "POST", body: JSON.stringify({ ids: [item.id] }) })
        .catch(() => {});
    }
    location.href = item.url ?? "/notifications";
  };

  const count = unread.value ?? 0;
  return (
    <div class="bell" ref={root} data-testid="notification-bell">
      <button
        type="button"
        class="bell-button"
        aria-expanded={open.value}
        aria-controls="bell-panel"
        aria-label={count ? `Notifications, ${count} unread` : "Notifications"}
        onClick={toggle}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        {count > 0 && <span class="bell-count" data-testid="bell-count">{count > 99 ? "99+" : count}</span>}
      </button>
      {open.value && (
        <div id="bell-panel" class="bell-panel" role="dialog" aria-label="Notifications">
          <div class="bell-head">
            <strong>Notifications</strong>
            {count > 0 && <button type="button" class="link-button" onClick={markAll}>Mark all read</button>}
          </div>
          {error.value && <p class="error" role="alert">{error.value}</p>}
          {items.value === null && !error.value && <p class="muted">Loading…</p>}
          {items.value?.length === 0 && <p class="muted">Nothing yet. You're all caught up.</p>}
          <ul class="bell-list">
            {items.value?.map((item) => (
              <li key={item.id} class={item.read_at ? "read" : "unread"}>
                <button type="button" class="bell-item" onClick={() => openItem(item)}>
                  <span class="bell-title">{item.title}</span>
                  {item.body && <span class="bell-body">{item.body}</span>}
                  <time dateTime={item.created_at}>{ago(item.created_at)}</time>
                </button>
              </li>
            ))}
          </ul>
          <div class="bell-foot">
            <a href="/notifications">All notifications</a>
            <a href="/settings/notifications">Settings</a>
          </div>
        </div>
      )}
    </div>
  );
}
