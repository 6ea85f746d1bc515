/**
 * The cover image field of the event form (docs/media.md, "event covers"): shows the current cover,
 * uploads a new image (choose or drop; progress, then waits until it is processed) or removes it. It
 * writes the media id into the hidden `cover_media_id` input the form posts ("" removes the cover).
 * Without JavaScript the hidden input keeps the existing value: changing a cover needs JavaScript.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { type Media, UploadError, uploadFile, waitReady } from "@/lib/client/upload.ts";

/** The cover as the picker shows it. */
export interface CoverPreview {
  id: string;
  url: string;
  width: number | null;
  height: number | null;
  color: string | null;
}

/** Props: the field's value (a media id or "") and, when known, the cover it names. */
export interface CoverPickerProps {
  [key: string]: unknown;
  value: string;
  current: CoverPreview | null;
  error?: string;
}

const IMAGES = "image/jpeg,image/png,image/gif,image/webp";

/** The cover picker. */
export default function CoverPicker(props: CoverPickerProps) {
  const value = useSignal(props.value);
  const cover = useSignal<CoverPreview | null>(props.current?.id === props.value ? props.current : null);
  const state = useSignal<"idle" | "uploading" | "processing">("idle");
  const progress = useSignal(0);
  const problem = useSignal("");
  const dragging = useSignal(false);
  const live = useSignal(false);
  const input = useRef<HTMLInputElement>(null);
  const box = useRef<HTMLElement>(null);
  const job = useRef<{ stop(): void } | null>(null);
  const field = useRef<HTMLFieldSetElement>(null);
  const busyNow = useRef(false);

  const show = (m: Media) => {
    const url = m.urls?.medium ?? m.urls?.full ?? m.urls?.thumb;
    if (url) cover.value = { id: m.id, url, width: m.width, height: m.height, color: m.color };
  };

  useEffect(() => {
    live.value = true;
    // A form re-rendered after a validation error names an image we have no URL for yet.
    if (props.value && !cover.value) {
      fetch(`/api/v1/media/${props.value}`).then((r) => r.ok ? r.json() : null).then(
        (m) => m && show(m),
        () => {},
      );
    }
    // Posting while the image is still on its way would save the old cover: wait for it.
    const form = field.current?.form;
    const guard = (e: SubmitEvent) => {
      if (!busyNow.current) return;
      e.preventDefault();
      problem.value = "Wait until the cover image is ready, then save.";
    };
    form?.addEventListener("submit", guard);
    return () => {
      job.current?.stop();
      form?.removeEventListener("submit", guard);
    };
  }, []);

  // The placeholder's colour and shape, set from script (CSP: no inline style attributes).
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const c = cover.value;
    el.style.backgroundColor = c?.color ?? "";
    el.style.aspectRatio = c?.width && c.height ? String(c.width / c.height) : "";
  }, [cover.value]);

  const start = (file: File | undefined) => {
    if (!file) return;
    problem.value = "";
    if (!file.type.startsWith("image/")) {
      problem.value = "Choose an image (JPEG, PNG, GIF or WebP).";
      return;
    }
    job.current?.stop();
    const abort = new AbortController();
    const handle = uploadFile(file, {
      onProgress: (loaded, total) => progress.value = total ? loaded / total : 0,
    });
    job.current = {
      stop: () => {
        handle.cancel();
        abort.abort();
      },
    };
    state.value = "uploading";
    progress.value = 0;
    handle.promise
      .then((m) => {
        if (m.kind !== "image") throw new UploadError("not_image", "Choose an image (not a PDF or video).");
        state.value = "processing";
        return m.status === "ready" ? m : waitReady(m.id, { signal: abort.signal });
      })
      .then((m) => {
        if (m.status !== "ready") {
          throw new UploadError("failed", m.failure ?? "This image could not be processed.");
        }
        value.value = m.id;
        show(m);
        state.value = "idle";
      })
      .catch((e) => {
        state.value = "idle";
        if (abort.signal.aborted || (e instanceof UploadError && e.code === "cancelled")) return;
        problem.value = (e as Error).message;
      });
  };

  const busy = state.value !== "idle";
  busyNow.current = busy;
  const c = cover.value;
  const error = problem.value || props.error;
  return (
    <fieldset
      class={`cover-picker${dragging.value ? " dragging" : ""}${error ? " invalid" : ""}`}
      id="f-cover_media_id"
      ref={field}
      data-testid="cover-picker"
      data-busy={busy ? "true" : undefined}
      onDragOver={(e) => {
        if (!live.value || !e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        dragging.value = true;
      }}
      onDragLeave={(e) => {
        if (!(e.currentTarget as Node).contains(e.relatedTarget as Node | null)) dragging.value = false;
      }}
      onDrop={(e) => {
        if (!live.value || !e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        dragging.value = false;
        start(e.dataTransfer.files[0]);
      }}
    >
      <legend>Cover image</legend>
      <input type="hidden" name="cover_media_id" value={value.value} />
      {c && value.value === c.id
        ? (
          <figure class="cover-picker-preview cover-ph" ref={box}>
            <img
              src={c.url}
              alt="The event's cover"
              width={c.width ?? undefined}
              height={c.height ?? undefined}
              data-testid="cover-preview"
            />
          </figure>
        )
        : value.value
        ? <p class="hint">An image is chosen.</p>
        : <p class="hint">No cover. {live.value ? "Drop an image here or choose one." : ""}</p>}
      {busy && (
        <p class="cover-picker-progress" role="status" data-testid="cover-status">
          {state.value === "uploading" ? `Uploading ${Math.round(progress.value * 100)}%` : "Processing…"}
          {state.value === "uploading" && <progress max={1} value={progress.value} aria-hidden="true" />}
        </p>
      )}
      {error && <p class="field-error" role="alert" id="f-cover_media_id-error">{error}</p>}
      {live.value
        ? (
          <p class="row cover-picker-actions">
            <button type="button" class="small" disabled={busy} onClick={() => input.current?.click()}>
              {value.value ? "Replace image…" : "Choose image…"}
            </button>
            {busy && (
              <button
                type="button"
                class="small link-button"
                onClick={() => {
                  job.current?.stop();
                  state.value = "idle";
                }}
              >
                Cancel upload
              </button>
            )}
            {value.value && !busy && (
              <button
                type="button"
                class="small link-button"
                data-testid="cover-remove"
                onClick={() => {
                  value.value = "";
                  cover.value = null;
                }}
              >
                Remove cover
              </button>
            )}
            <input
              ref={input}
              type="file"
              accept={IMAGES}
              hidden
              data-testid="cover-input"
              onChange={(e) => {
                start(e.currentTarget.files?.[0]);
                e.currentTarget.value = "";
              }}
            />
          </p>
        )
        : <p class="hint">Adding or changing the cover needs JavaScript.</p>}
    </fieldset>
  );
}
