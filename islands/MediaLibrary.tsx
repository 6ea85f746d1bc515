/**
 * The caller's uploads on the media page: a grid or a list (the choice is remembered in
 * localStorage), kind filters that are plain links (`?kind=image`), "Load more" by cursor (a link to
 * `?before=` without JavaScript), thumbnails with the dominant colour as placeholder, processing and
 * failed badges, delete (a plain form to `/media/:id/delete`, confirmed and sent through the API when
 * hydrated), the lightbox for images and downloads for PDFs and videos. New uploads arrive through
 * the uploader's `plaza:media-uploaded` window event.
 */
import type { Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Lightbox, type LightboxItem } from "@/lib/client/lightbox.tsx";
import { formatBytes, type Media, waitReady } from "@/lib/client/upload.ts";

/** Props: the first page as the server read it, and the kind filter in force. */
export interface MediaLibraryProps {
  [key: string]: unknown;
  initial: { items: Media[]; next_cursor: string | null };
  kind: string | null;
}

type View = "grid" | "list";
const VIEW_KEY = "plaza.media.view";
const UPLOADED_EVENT = "plaza:media-uploaded";

const KINDS: [string | null, string][] = [[null, "All"], ["image", "Images"], ["pdf", "PDFs"], [
  "video",
  "Videos",
]];
const KIND_LABEL: Record<Media["kind"], string> = { image: "Image", pdf: "PDF", video: "Video" };

const kindQuery = (kind: string | null) => kind ? `?kind=${kind}` : "";
const day = (iso: string) => iso.slice(0, 10);

/** A thumbnail's size: 320 px on the long side, never upscaled (what the server renders). */
function thumbSize(m: Media): { width?: number; height?: number } {
  if (!m.width || !m.height) return {};
  const scale = Math.min(1, 320 / Math.max(m.width, m.height));
  return {
    width: Math.max(1, Math.round(m.width * scale)),
    height: Math.max(1, Math.round(m.height * scale)),
  };
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    credentials: "same-origin",
    ...init,
    headers: { accept: "application/json" },
  });
  if (res.status === 204) return undefined as T;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `Something went wrong (HTTP ${res.status}).`);
  return body as T;
}

/** The thumbnail area of one item: its colour until the image arrives. */
function Thumb({ m, onOpen }: { m: Media; onOpen: () => void }) {
  const box = useRef<HTMLElement>(null);
  useEffect(() => {
    if (box.current) box.current.style.backgroundColor = m.color ?? "";
  }, [m.color]);
  const thumb = m.urls?.thumb;
  if (m.kind === "image" && thumb) {
    return (
      <a
        href={m.urls?.full ?? thumb}
        class="media-thumb"
        ref={box as Ref<HTMLAnchorElement>}
        onClick={(e) => {
          e.preventDefault();
          onOpen();
        }}
        aria-label={`View ${m.filename}`}
      >
        <img src={thumb} alt="" loading="lazy" decoding="async" {...thumbSize(m)} />
      </a>
    );
  }
  const label = m.status === "processing" ? "…" : m.status === "failed" ? "!" : KIND_LABEL[m.kind];
  if (m.urls?.original) {
    return (
      <a
        href={m.urls.original}
        download={m.filename}
        class={`media-thumb file ${m.kind}`}
        ref={box as Ref<HTMLAnchorElement>}
        aria-label={`Download ${m.filename}`}
      >
        <span aria-hidden="true">{label}</span>
      </a>
    );
  }
  return (
    <span class={`media-thumb file ${m.kind} ${m.status}`} ref={box as Ref<HTMLSpanElement>}>
      <span aria-hidden="true">{label}</span>
    </span>
  );
}

/** The library island. */
export default function MediaLibrary({ initial, kind: initialKind }: MediaLibraryProps) {
  const [items, setItems] = useState<Media[]>(initial.items);
  const [cursor, setCursor] = useState<string | null>(initial.next_cursor);
  const [kind, setKind] = useState<string | null>(initialKind);
  const [view, setView] = useState<View>("grid");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<number | null>(null);
  const kindRef = useRef(kind);
  kindRef.current = kind;

  const put = (m: Media) =>
    setItems((list) => {
      const at = list.findIndex((x) => x.id === m.id);
      if (at >= 0) return list.map((x) => x.id === m.id ? m : x);
      return kindRef.current && kindRef.current !== m.kind ? list : [m, ...list];
    });

  useEffect(() => {
    const saved = localStorage.getItem(VIEW_KEY);
    if (saved === "grid" || saved === "list") setView(saved);
    const onUploaded = (e: Event) => put((e as CustomEvent<Media>).detail);
    globalThis.addEventListener(UPLOADED_EVENT, onUploaded);
    // Items still processing when the page was rendered: follow them.
    const ac = new AbortController();
    for (const m of initial.items) {
      if (m.status === "processing") waitReady(m.id, { signal: ac.signal }).then(put, () => {});
    }
    return () => {
      globalThis.removeEventListener(UPLOADED_EVENT, onUploaded);
      ac.abort();
    };
  }, []);

  const chooseView = (v: View) => {
    setView(v);
    try {
      localStorage.setItem(VIEW_KEY, v);
    } catch { /* private mode */ }
  };

  const load = async (k: string | null, before: string | null) => {
    setBusy(true);
    setError("");
    try {
      const q = new URLSearchParams();
      if (k) q.set("kind", k);
      if (before) q.set("before", before);
      const page = await api<{ items: Media[]; next_cursor: string | null }>(`/api/v1/media?${q}`);
      setItems((list) =>
        before ? [...list, ...page.items.filter((m) => !list.some((x) => x.id === m.id))] : page.items
      );
      setCursor(page.next_cursor);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const filter = (e: MouseEvent, k: string | null) => {
    e.preventDefault();
    if (k === kind) return;
    setKind(k);
    history.replaceState(null, "", `/media${kindQuery(k)}`);
    load(k, null);
  };

  const remove = async (e: SubmitEvent, m: Media) => {
    e.preventDefault();
    if (!confirm(`Delete ${m.filename}? It disappears from every chat and event that uses it.`)) return;
    setError("");
    try {
      await api(`/api/v1/media/${m.id}`, { method: "DELETE" });
      setItems((list) => list.filter((x) => x.id !== m.id));
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const images = items.filter((m) => m.kind === "image" && m.urls?.thumb);
  const slides: LightboxItem[] = images.map((m) => ({
    src: m.urls?.full ?? m.urls?.medium ?? m.urls!.thumb!,
    alt: m.filename,
    width: m.width,
    height: m.height,
    color: m.color,
    downloadUrl: m.urls?.full,
  }));
  const moreHref = cursor
    ? `/media?${new URLSearchParams({ ...(kind ? { kind } : {}), before: cursor })}`
    : null;

  return (
    <section class="card media-library" aria-labelledby="library-title" data-testid="media-library">
      <div class="row spread">
        <h2 id="library-title">Your uploads</h2>
        <div class="view-toggle" role="group" aria-label="View">
          <button
            type="button"
            class={view === "grid" ? "small" : "small secondary"}
            aria-pressed={view === "grid"}
            onClick={() => chooseView("grid")}
          >
            Grid
          </button>
          <button
            type="button"
            class={view === "list" ? "small" : "small secondary"}
            aria-pressed={view === "list"}
            onClick={() => chooseView("list")}
          >
            List
          </button>
        </div>
      </div>
      <nav class="tabs" aria-label="Filter by kind">
        {KINDS.map(([k, label]) => (
          <a
            key={label}
            href={`/media${kindQuery(k)}`}
            aria-current={k === kind ? "page" : undefined}
            onClick={(e) => filter(e, k)}
          >
            {label}
          </a>
        ))}
      </nav>
      {error && <p class="alert" role="alert">{error}</p>}
      {items.length === 0
        ? (
          <p class="muted" data-testid="media-empty">
            {kind
              ? "Nothing of this kind yet."
              : "Nothing uploaded yet. Your photos, PDFs and videos appear here."}
          </p>
        )
        : (
          <ul class={`media-items ${view}`} data-testid="media-items" data-view={view}>
            {items.map((m) => {
              const slide = images.indexOf(m);
              return (
                <li key={m.id} class="media-item" data-testid="media-item" data-status={m.status}>
                  <Thumb m={m} onOpen={() => setOpen(slide)} />
                  <div class="media-info">
                    <span class="media-name" title={m.filename}>{m.filename}</span>
                    <span class="media-meta">
                      {KIND_LABEL[m.kind]} · {formatBytes(m.bytes)}
                      {m.width && m.height ? ` · ${m.width}×${m.height}` : ""} · {day(m.created_at)}
                    </span>
                    <span class="media-badges">
                      {m.status === "processing" && <span class="media-badge processing">Processing…</span>}
                      {m.status === "failed" && (
                        <span class="media-badge failed" title={m.failure ?? undefined}>
                          Failed{m.failure ? `: ${m.failure}` : ""}
                        </span>
                      )}
                      {m.hidden && <span class="media-badge failed">Hidden by a moderator</span>}
                    </span>
                  </div>
                  <form
                    method="post"
                    action={`/media/${m.id}/delete`}
                    class="media-actions"
                    onSubmit={(e) => remove(e, m)}
                  >
                    <button type="submit" class="small danger">
                      Delete<span class="sr-only">{` ${m.filename}`}</span>
                    </button>
                  </form>
                </li>
              );
            })}
          </ul>
        )}
      {moreHref && (
        <p class="media-more">
          <a
            class="button secondary"
            href={moreHref}
            aria-disabled={busy ? "true" : undefined}
            onClick={(e) => {
              e.preventDefault();
              if (!busy) load(kind, cursor);
            }}
          >
            {busy ? "Loading…" : "Load more"}
          </a>
        </p>
      )}
      {open !== null && slides.length > 0 && (
        <Lightbox
          items={slides}
          index={Math.min(open, slides.length - 1)}
          onIndex={setOpen}
          onClose={() => setOpen(null)}
        />
      )}
    </section>
  );
}
