/**
 * Attachments in chat (docs/media.md, "Chat attachments"): the composer's tray of pending uploads
 * (attach button, drop and paste feed it; each item uploads, then waits until processed) and the grid
 * of a message's attachments (thumbnails with their dominant colour while loading, file chips for PDFs
 * and videos, the lightbox for images). URLs come from `GET /api/v1/media/urls` in batches, are
 * cached by id and fetched again once they expire.
 */
import { type Signal, signal, useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { Lightbox } from "./lightbox.tsx";
import { ACCEPT, formatBytes, type Media, signedUrls, UploadError, uploadFile, waitReady } from "./upload.ts";

/** What a message stores for each attachment (a snapshot taken when it was posted). */
export interface Attachment {
  media_id: string;
  kind: "image" | "pdf" | "video";
  mime: string;
  filename: string;
  bytes: number;
  width: number | null;
  height: number | null;
  color: string | null;
}

/** At most this many attachments per message (the server's rule). */
export const MAX_ATTACHMENTS = 10;

// ---------------------------------------------------------------------------------------------
// The composer's tray.

/** One file on its way into a message. */
export interface PendingUpload {
  key: string;
  name: string;
  size: number;
  /** An object URL for images (revoked when the item leaves the tray). */
  preview: string | null;
  state: "uploading" | "processing" | "ready" | "failed";
  /** 0–1 while uploading. */
  progress: number;
  error?: string;
  media?: Media;
  stop(): void;
}

/** The tray's state and actions. */
export interface Tray {
  items: Signal<PendingUpload[]>;
  /** A message about the tray as a whole ("Up to 10 files…"). */
  note: Signal<string>;
  add(files: Iterable<File>): void;
  remove(key: string): void;
  /** Empties the tray (after sending, or when the room changes), cancelling what is in flight. */
  clear(cancel?: boolean): void;
  /** Something is still uploading or processing. */
  busy(): boolean;
  /** Attachments ready to send (failed ones are left out). */
  ready(): Attachment[];
}

let counter = 0;

/** The tray of pending attachments, one per composer. */
export function useTray(): Tray {
  const items = useSignal<PendingUpload[]>([]);
  const note = useSignal("");
  const ref = useRef<Tray | null>(null);
  if (!ref.current) {
    const patch = (key: string, p: Partial<PendingUpload>) =>
      items.value = items.value.map((i) => i.key === key ? { ...i, ...p } : i);
    const drop = (i: PendingUpload, cancel: boolean) => {
      if (cancel && (i.state === "uploading" || i.state === "processing")) i.stop();
      if (i.preview) URL.revokeObjectURL(i.preview);
    };
    const start = (file: File) => {
      const key = `u${++counter}`;
      const abort = new AbortController();
      const handle = uploadFile(file, {
        onProgress: (loaded, total) => patch(key, { progress: total ? loaded / total : 0 }),
      });
      const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
      items.value = [...items.value, {
        key,
        name: file.name || "pasted image",
        size: file.size,
        preview,
        state: "uploading",
        progress: 0,
        stop: () => {
          handle.cancel();
          abort.abort();
        },
      }];
      handle.promise
        .then((m) => {
          if (m.status === "ready") return m;
          patch(key, { state: "processing", progress: 1, media: m });
          return waitReady(m.id, { signal: abort.signal });
        })
        .then((m) => {
          if (m.status === "ready") patch(key, { state: "ready", media: m });
          else patch(key, { state: "failed", error: m.failure ?? "This file could not be processed." });
        }, (e) => {
          if (abort.signal.aborted || (e instanceof UploadError && e.code === "cancelled")) return;
          patch(key, { state: "failed", error: (e as Error).message });
        });
    };
    ref.current = {
      items,
      note,
      add(files) {
        note.value = "";
        for (const f of files) {
          if (items.value.length >= MAX_ATTACHMENTS) {
            note.value = `Up to ${MAX_ATTACHMENTS} files per message.`;
            break;
          }
          start(f);
        }
      },
      remove(key) {
        const i = items.value.find((x) => x.key === key);
        if (i) drop(i, true);
        items.value = items.value.filter((x) => x.key !== key);
        note.value = "";
      },
      clear(cancel = true) {
        for (const i of items.value) drop(i, cancel);
        items.value = [];
        note.value = "";
      },
      busy: () => items.value.some((i) => i.state === "uploading" || i.state === "processing"),
      ready: () =>
        items.value.filter((i) => i.state === "ready" && i.media).map(({ media: m }) => ({
          media_id: m!.id,
          kind: m!.kind,
          mime: m!.mime,
          filename: m!.filename,
          bytes: m!.bytes,
          width: m!.width,
          height: m!.height,
          color: m!.color,
        })),
    };
  }
  return ref.current;
}

/** Files among a drag's or a paste's items. */
export function filesOf(data: DataTransfer | null): File[] {
  return data ? [...data.files] : [];
}

/** Whether a drag carries files (not text or a link from the page). */
export const dragsFiles = (e: DragEvent) => !!e.dataTransfer?.types.includes("Files");

/**
 * Drop-zone handlers for an element: highlights it (`dragging`) while files are over it and hands
 * dropped files to the tray. Returns the props to spread on the element.
 */
export function useDropZone(tray: Tray, enabled: boolean) {
  const dragging = useSignal(false);
  const depth = useRef(0);
  // A file dropped beside the zone would make the browser open it and leave the chat.
  useEffect(() => {
    const guard = (e: DragEvent) => dragsFiles(e) && e.preventDefault();
    addEventListener("dragover", guard);
    addEventListener("drop", guard);
    return () => {
      removeEventListener("dragover", guard);
      removeEventListener("drop", guard);
    };
  }, []);
  const props = {
    onDragEnter: (e: DragEvent) => {
      if (!enabled || !dragsFiles(e)) return;
      e.preventDefault();
      depth.current++;
      dragging.value = true;
    },
    onDragOver: (e: DragEvent) => {
      if (!enabled || !dragsFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
      dragging.value = true;
    },
    onDragLeave: (e: DragEvent) => {
      if (!enabled || !dragsFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (!depth.current) dragging.value = false;
    },
    onDrop: (e: DragEvent) => {
      depth.current = 0;
      dragging.value = false;
      if (!enabled || !dragsFiles(e)) return;
      e.preventDefault();
      tray.add(filesOf(e.dataTransfer));
    },
  };
  return { dragging: dragging.value, props };
}

/** Paste handler for the composer: pasted images (screenshots) go to the tray; text pastes as usual. */
export function pasteFiles(tray: Tray) {
  return (e: ClipboardEvent) => {
    const files = filesOf(e.clipboardData).filter((f) => f.type.startsWith("image/"));
    if (!files.length) return;
    e.preventDefault();
    tray.add(files.map((f) => f.name ? f : new File([f], `pasted.${f.type.split("/")[1] ?? "png"}`, f)));
  };
}

/** The paperclip: a file picker for the tray. */
export function AttachButton({ tray, disabled }: { tray: Tray; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        class="chat-attach"
        aria-label="Attach files"
        title="Attach files"
        data-testid="attach"
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
          <path
            d="M21 11.5 12.6 19.9a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
          />
        </svg>
      </button>
      <input
        ref={input}
        type="file"
        multiple
        accept={ACCEPT}
        hidden
        data-testid="attach-input"
        onChange={(e) => {
          tray.add([...(e.currentTarget.files ?? [])]);
          e.currentTarget.value = "";
        }}
      />
    </>
  );
}

const stateText = (i: PendingUpload) =>
  i.state === "uploading"
    ? `Uploading ${Math.round(i.progress * 100)}%`
    : i.state === "processing"
    ? "Processing…"
    : i.state === "ready"
    ? "Ready"
    : i.error ?? "Failed";

/** The pending attachments above the composer. */
export function AttachmentTray({ tray }: { tray: Tray }) {
  const items = tray.items.value;
  if (!items.length && !tray.note.value) return null;
  return (
    <div class="chat-tray" data-testid="attachment-tray">
      {items.length > 0 && (
        <ul class="chat-tray-list" aria-label="Attachments">
          {items.map((i) => (
            <li key={i.key} class="chat-tray-item" data-state={i.state} data-testid="tray-item">
              {i.preview
                ? <img src={i.preview} alt="" class="chat-tray-thumb" />
                : (
                  <span class="chat-tray-thumb chat-tray-icon" aria-hidden="true">
                    {i.name.toLowerCase().endsWith(".pdf") ? "PDF" : "▶"}
                  </span>
                )}
              <span class="chat-tray-text">
                <span class="chat-tray-name" title={i.name}>{i.name}</span>
                <span
                  class={i.state === "failed" ? "chat-tray-state error" : "chat-tray-state"}
                  role={i.state === "failed" ? "alert" : undefined}
                  data-testid="tray-state"
                >
                  {stateText(i)}
                  {i.state !== "failed" && ` · ${formatBytes(i.size)}`}
                </span>
                {i.state === "uploading" && (
                  <progress max={1} value={i.progress} aria-label={`Uploading ${i.name}`} />
                )}
              </span>
              <button
                type="button"
                class="link-button chat-tray-remove"
                aria-label={`${
                  i.state === "uploading" || i.state === "processing" ? "Cancel" : "Remove"
                } ${i.name}`}
                onClick={() =>
                  tray.remove(i.key)}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      {tray.busy() && (
        <p class="chat-tray-note" role="status" data-testid="tray-busy">
          Processing… Send is available once every file is ready.
        </p>
      )}
      {tray.note.value && <p class="chat-tray-note error" role="alert">{tray.note.value}</p>}
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// URLs, shared by every message on the page.

const urls = new Map<string, Media | null>();
const wanted = new Set<string>();
const inFlight = new Set<string>();
/** After a failed fetch, when each id may be tried again. */
const retryAt = new Map<string, number>();
/** Bumped when URLs arrive (components read it to re-render). */
const version = signal(0);
let timer: ReturnType<typeof setTimeout> | undefined;

const expired = (m: Media | null | undefined) =>
  !!m?.urls_expire_at && Date.parse(m.urls_expire_at) - 30_000 < Date.now();

function flush() {
  timer = undefined;
  const ids = [...wanted].filter((id) => !inFlight.has(id));
  wanted.clear();
  if (!ids.length) return;
  for (const id of ids) inFlight.add(id);
  signedUrls(ids).then((found) => {
    // Ids left out are ones the viewer may no longer see (hidden by a moderator, or deleted).
    for (const id of ids) {
      urls.set(id, found.get(id) ?? null);
      retryAt.delete(id);
    }
  }, () => {
    // A network error: try again a little later (on the next look after that).
    for (const id of ids) retryAt.set(id, Date.now() + 15_000);
    setTimeout(() => version.value++, 15_500);
  }).finally(() => {
    for (const id of ids) inFlight.delete(id);
    version.value++;
  });
}

/** The item with URLs for `id`: undefined while unknown, null when the viewer may not see it. */
function lookup(id: string): Media | null | undefined {
  const m = urls.get(id);
  if ((m === undefined || expired(m)) && !inFlight.has(id) && !((retryAt.get(id) ?? 0) > Date.now())) {
    wanted.add(id);
    timer ??= setTimeout(flush, 30);
  }
  return m;
}

// URLs last at least an hour; a tick each minute lets expired ones be fetched again.
let ticking = false;
function tick() {
  if (ticking) return;
  ticking = true;
  setInterval(() => {
    if ([...urls.values()].some(expired)) version.value++;
  }, 60_000);
}

// ---------------------------------------------------------------------------------------------
// A message's attachments.

/** Sets the placeholder colour and aspect ratio from script (CSP: no inline style attributes). */
function useBox(color: string | null, width: number | null, height: number | null) {
  const ref = useRef<HTMLElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (color) el.style.backgroundColor = color;
    if (width && height) el.style.aspectRatio = String(Math.min(Math.max(width / height, 0.5), 2.5));
  }, [color, width, height]);
  return ref;
}

function ImageTile(
  { a, media, onOpen }: { a: Attachment; media: Media | null | undefined; onOpen(): void },
) {
  const box = useBox(a.color, a.width, a.height);
  const src = media?.urls?.thumb;
  return (
    <button
      type="button"
      class="chat-att-image"
      ref={box as unknown as { current: HTMLButtonElement }}
      aria-label={`Open ${a.filename}`}
      data-testid="attachment-image"
      onClick={onOpen}
    >
      {src && (
        <img
          src={src}
          alt={a.filename}
          width={a.width ?? undefined}
          height={a.height ?? undefined}
          loading="lazy"
          decoding="async"
        />
      )}
    </button>
  );
}

function FileChip({ a, media }: { a: Attachment; media: Media | null | undefined }) {
  const href = media?.urls?.original;
  const text = (
    <>
      <span class="chat-file-icon" aria-hidden="true">{a.kind === "pdf" ? "PDF" : "▶"}</span>
      <span class="chat-file-name">{a.filename}</span>
      <span class="chat-file-size">{formatBytes(a.bytes)}</span>
    </>
  );
  return href
    ? (
      <a class="chat-file" href={href} download={a.filename} data-testid="attachment-file">
        {text}
      </a>
    )
    : <span class="chat-file" data-testid="attachment-file">{text}</span>;
}

/** The attachments of one message: images in a grid (the lightbox on click), files as chips. */
export function MessageAttachments({ attachments }: { attachments: Attachment[] }) {
  const open = useSignal(-1);
  version.value; // re-render when URLs arrive
  useEffect(tick, []);
  const seen = attachments.map((a) => [a, lookup(a.media_id)] as const);
  const shown = seen.filter(([, m]) => m !== null && !m?.hidden);
  const images = shown.filter(([a]) => a.kind === "image");
  const removed = seen.length - shown.length;
  return (
    <div class="chat-atts" data-testid="attachments">
      {images.length > 0 && (
        <div class={`chat-att-grid n${Math.min(images.length, 3)}`}>
          {images.map(([a, m], i) => (
            <ImageTile
              key={a.media_id}
              a={a}
              media={m}
              onOpen={() => open.value = i}
            />
          ))}
        </div>
      )}
      {shown.filter(([a]) => a.kind !== "image").map(([a, m]) => (
        <FileChip
          key={a.media_id}
          a={a}
          media={m}
        />
      ))}
      {removed > 0 && (
        <p class="chat-att-removed" data-testid="attachment-removed">
          {removed > 1 ? `${removed} attachments removed by a moderator` : "Removed by a moderator"}
        </p>
      )}
      {open.value >= 0 && open.value < images.length && (
        <Lightbox
          items={images.map(([a, m]) => ({
            src: m?.urls?.full ?? m?.urls?.medium ?? m?.urls?.thumb ?? "",
            alt: a.filename,
            width: a.width,
            height: a.height,
            color: a.color,
            downloadUrl: m?.urls?.full,
          }))}
          index={open.value}
          onIndex={(i) => open.value = i}
          onClose={() => open.value = -1}
        />
      )}
    </div>
  );
}

/** A room-list preview for a message without text. */
export function attachmentsLabel(attachments: unknown[]): string {
  const list = attachments as Attachment[];
  if (!list.length) return "";
  const images = list.filter((a) => a.kind === "image").length;
  if (images === list.length) return images === 1 ? "Photo" : `${images} photos`;
  return list.length === 1 ? list[0].filename : `${list.length} files`;
}
