/**
 * The upload area of the media page: a drop zone and a "Choose files" button, one row per file with
 * its size, a progress bar and its state (uploading %, processing…, ready ✓, failed: reason), Cancel
 * while uploading and Remove once finished. At most three files upload at once; obvious refusals
 * (empty, too large) are caught before sending, with the API's wording. Each finished item is
 * announced with a `plaza:media-uploaded` event on `window` (detail: the Media) for the library.
 * Without JavaScript the page's `<noscript>` form uploads instead.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import {
  ACCEPT,
  type Media,
  UploadError,
  uploadFile,
  type UploadHandle,
  waitReady,
} from "@/lib/client/upload.ts";

/** Props: the server's per-file limit. */
export interface MediaUploaderProps {
  [key: string]: unknown;
  maxBytes: number;
}

/** The event the library listens for. */
export const UPLOADED_EVENT = "plaza:media-uploaded";

const CONCURRENCY = 3;

type RowState = "queued" | "uploading" | "processing" | "ready" | "failed";

interface Row {
  key: string;
  name: string;
  size: number;
  state: RowState;
  /** 0..1 while uploading. */
  progress: number;
  error: string;
}

/** Sizes as the server words them ("25 MB", "1.5 GB"), so refusals read the same either way. */
function serverBytes(n: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[i]}`;
}

/** Sizes in rows ("2.4 MB"). */
function rowBytes(n: number): string {
  return n < 1024 ? `${n} bytes` : serverBytes(n);
}

/** The refusal the server would give for a file we can judge here, or null. */
function precheck(file: File, maxBytes: number): string | null {
  if (file.size === 0) return "The file is empty.";
  if (file.size > maxBytes) return `The file is larger than ${serverBytes(maxBytes)}.`;
  return null;
}

function StatusText({ row }: { row: Row }) {
  switch (row.state) {
    case "queued":
      return <span class="upload-status">Waiting…</span>;
    case "uploading":
      return <span class="upload-status">Uploading {Math.round(row.progress * 100)}%</span>;
    case "processing":
      return <span class="upload-status">Processing…</span>;
    case "ready":
      return <span class="upload-status ok">Ready ✓</span>;
    default:
      return <span class="upload-status error" role="alert">Failed: {row.error}</span>;
  }
}

/** The uploader island. */
export default function MediaUploader({ maxBytes }: MediaUploaderProps) {
  const [rows, setRows] = useState<Row[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const queue = useRef<{ key: string; file: File }[]>([]);
  const handles = useRef(new Map<string, UploadHandle>());
  const watchers = useRef(new Map<string, AbortController>());
  const active = useRef(0);

  const update = (key: string, patch: Partial<Row>) =>
    setRows((rs) => rs.map((r) => r.key === key ? { ...r, ...patch } : r));

  const finish = (key: string, media: Media) => {
    if (media.status === "failed") {
      update(key, { state: "failed", error: media.failure ?? "The file could not be processed." });
    } else update(key, { state: "ready", progress: 1 });
    globalThis.dispatchEvent(new CustomEvent(UPLOADED_EVENT, { detail: media }));
  };

  const pump = () => {
    while (active.current < CONCURRENCY && queue.current.length) {
      const { key, file } = queue.current.shift()!;
      active.current++;
      update(key, { state: "uploading", progress: 0 });
      const handle = uploadFile(file, {
        onProgress: (loaded, total) => update(key, { progress: total ? loaded / total : 0 }),
      });
      handles.current.set(key, handle);
      handle.promise
        .then(async (media) => {
          if (media.status !== "processing") return finish(key, media);
          update(key, { state: "processing", progress: 1 });
          const ac = new AbortController();
          watchers.current.set(key, ac);
          try {
            finish(key, await waitReady(media.id, { signal: ac.signal }));
          } finally {
            watchers.current.delete(key);
          }
        })
        .catch((err: unknown) => {
          if (err instanceof DOMException && err.name === "AbortError") return;
          const message = err instanceof Error ? err.message : "The upload failed.";
          update(key, { state: "failed", error: message });
        })
        .finally(() => {
          handles.current.delete(key);
        });
      // The slot frees once the bytes are sent (processing happens on the server).
      handle.promise.catch(() => {}).finally(() => {
        active.current--;
        pump();
      });
    }
  };

  const add = (files: FileList | File[] | null) => {
    if (!files) return;
    const fresh: Row[] = [];
    for (const file of Array.from(files)) {
      const key = crypto.randomUUID();
      const refused = precheck(file, maxBytes);
      fresh.push({
        key,
        name: file.name,
        size: file.size,
        state: refused ? "failed" : "queued",
        progress: 0,
        error: refused ?? "",
      });
      if (!refused) queue.current.push({ key, file });
    }
    setRows((rs) => [...fresh, ...rs]);
    pump();
  };

  const cancel = (key: string) => {
    const queued = queue.current.findIndex((q) => q.key === key);
    if (queued >= 0) {
      queue.current.splice(queued, 1);
      update(key, { state: "failed", error: new UploadError("cancelled", "Cancelled.").message });
      return;
    }
    handles.current.get(key)?.cancel();
  };

  const remove = (key: string) => {
    watchers.current.get(key)?.abort();
    setRows((rs) => rs.filter((r) => r.key !== key));
  };

  useEffect(() => () => {
    for (const h of handles.current.values()) h.cancel();
    for (const w of watchers.current.values()) w.abort();
  }, []);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    add(e.dataTransfer?.files ?? null);
  };

  return (
    <section class="card uploader" aria-labelledby="upload-title" data-testid="media-uploader">
      <h2 id="upload-title">Upload</h2>
      <div
        class={dragging ? "dropzone dragging" : "dropzone"}
        onDragOver={(e) => {
          e.preventDefault();
          if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <p>Drop photos, PDFs or videos here, or</p>
        <button type="button" onClick={() => input.current?.click()}>Choose files</button>
        <input
          ref={input}
          class="sr-only"
          type="file"
          multiple
          accept={ACCEPT}
          aria-label="Choose files to upload"
          data-testid="file-input"
          tabIndex={-1}
          onChange={(e) => {
            add(e.currentTarget.files);
            e.currentTarget.value = "";
          }}
        />
        <p class="hint">JPEG, PNG, GIF, WebP, PDF, MP4 or WebM, up to {serverBytes(maxBytes)} each.</p>
      </div>
      {rows.length > 0 && (
        <ul class="upload-list" aria-live="polite" data-testid="upload-list">
          {rows.map((r) => (
            <li key={r.key} class={`upload-row ${r.state}`} data-testid="upload-row">
              <div class="upload-head">
                <span class="upload-name" title={r.name}>{r.name}</span>
                <span class="upload-size">{rowBytes(r.size)}</span>
              </div>
              <progress
                max={1}
                value={r.state === "uploading" ? r.progress : r.state === "queued" ? 0 : 1}
                aria-label={`Upload of ${r.name}`}
                class={r.state === "processing" ? "indeterminate" : undefined}
              />
              <div class="upload-foot">
                <StatusText row={r} />
                {r.state === "uploading" || r.state === "queued"
                  ? (
                    <button type="button" class="small secondary" onClick={() => cancel(r.key)}>
                      Cancel<span class="sr-only">{` ${r.name}`}</span>
                    </button>
                  )
                  : r.state !== "processing" && (
                    <button
                      type="button"
                      class="small secondary"
                      onClick={() => remove(r.key)}
                    >
                      Remove<span class="sr-only">{` ${r.name}`}</span>
                    </button>
                  )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
