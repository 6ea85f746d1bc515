/**
 * Browser-side uploads shared by the uploader, the media library, chat and the event form:
 * `uploadFile` posts one file with progress and cancel (XMLHttpRequest: fetch cannot report upload
 * progress), `waitReady` follows an image until its variants exist, `signedUrls` fetches URLs for
 * items shared with the viewer. Errors carry the API's `code` and a message meant for people.
 */

/** A media item as the API returns it (docs/media.md). */
export interface Media {
  id: string;
  owner_id: string;
  kind: "image" | "pdf" | "video";
  mime: string;
  status: "processing" | "ready" | "failed";
  failure: string | null;
  filename: string;
  bytes: number;
  width: number | null;
  height: number | null;
  color: string | null;
  hidden: boolean;
  created_at: string;
  urls: Partial<Record<"thumb" | "medium" | "full" | "original", string>> | null;
  urls_expire_at: string | null;
}

/** What went wrong, in the API's terms. */
export class UploadError extends Error {
  constructor(readonly code: string, message: string, readonly status = 0) {
    super(message);
  }
}

/** An upload in flight. */
export interface UploadHandle {
  /** Resolves with the created item (status `processing` for images). */
  promise: Promise<Media>;
  cancel(): void;
}

/** Types the server accepts (it decides by content; this only filters the file picker). */
export const ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf,video/mp4,video/webm";

function errorFrom(status: number, text: string): UploadError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) return new UploadError(body.error.code ?? "error", body.error.message, status);
  } catch { /* not JSON */ }
  if (status === 413) return new UploadError("file_too_large", "The file is too large.", status);
  return new UploadError("error", `The upload failed (HTTP ${status || "network error"}).`, status);
}

/** Uploads one file; `onProgress(loaded, total)` follows the bytes sent. */
export function uploadFile(
  file: File,
  opts: { onProgress?: (loaded: number, total: number) => void; idempotencyKey?: string } = {},
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<Media>((resolve, reject) => {
    xhr.open("POST", "/api/v1/media");
    xhr.responseType = "text";
    if (opts.idempotencyKey) xhr.setRequestHeader("Idempotency-Key", opts.idempotencyKey);
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 200 || xhr.status === 201) resolve(JSON.parse(xhr.responseText) as Media);
      else reject(errorFrom(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new UploadError("network", "The connection dropped; try again."));
    xhr.onabort = () => reject(new UploadError("cancelled", "Cancelled."));
    const data = new FormData();
    data.append("file", file, file.name);
    xhr.send(data);
  });
  return { promise, cancel: () => xhr.abort() };
}

/** Polls an item until it is ready or failed (images take a moment); gives up after `timeoutMs`. */
export async function waitReady(
  id: string,
  opts: { signal?: AbortSignal; timeoutMs?: number; intervalMs?: number } = {},
): Promise<Media> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let delay = opts.intervalMs ?? 400;
  while (true) {
    const res = await fetch(`/api/v1/media/${id}`, { signal: opts.signal });
    if (!res.ok) throw errorFrom(res.status, await res.text());
    const media = await res.json() as Media;
    if (media.status !== "processing") return media;
    if (Date.now() > deadline) {
      throw new UploadError("timeout", "Processing is taking long; check the library later.");
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 3000);
  }
}

/** URLs for items shared with the viewer, by id (ids they may not see are left out). */
export async function signedUrls(ids: string[]): Promise<Map<string, Media>> {
  const out = new Map<string, Media>();
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const res = await fetch(`/api/v1/media/urls?ids=${chunk.map(encodeURIComponent).join(",")}`);
    if (!res.ok) throw errorFrom(res.status, await res.text());
    const body = await res.json() as { items: Media[] };
    for (const item of body.items) out.set(item.id, item);
  }
  return out;
}

/** "2.4 MB". */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
