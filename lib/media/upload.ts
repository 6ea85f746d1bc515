/**
 * Uploading: one file in the multipart field `file`, streamed to storage as it arrives (never held
 * whole), its type decided by magic bytes before anything is stored, its structure checked as it
 * streams (size, pixel count, truncation, polyglots), then one media row. Whatever goes wrong, no
 * row is half-written and nothing stays in storage: the object is deleted, and a crash in between is
 * covered by the upload's `plaza.storage_garbage` entry, which the sweeper honours after an hour.
 */
import { asUser, type Claims } from "../db/as_user.ts";
import { AppError } from "../errors.ts";
import type { Platform } from "../platform.ts";
import { Inspector, isProblem } from "./inspect.ts";
import { type MediaView, withUrls } from "./media.ts";
import { boundaryOf, parseMultipart, type Part, sanitizeFilename } from "./multipart.ts";
import type { MediaType } from "./sniff.ts";

/** The job that renders an image's variants. */
export const PROCESS_JOB = "media-process";
/** Multipart framing allowed on top of the file itself. */
const FRAMING_BYTES = 64 * 1024;
/** Bytes read before the type is decided. */
const SNIFF_BYTES = 4096;

const tooLarge = (limit: number) =>
  new AppError(413, "file_too_large", `The file is larger than ${formatBytes(limit)}.`, { limit });
const quotaExceeded = (quota: number, used: number) =>
  new AppError(
    413,
    "quota_exceeded",
    `This upload would take you past your storage quota of ${formatBytes(quota)}. Delete something first.`,
    { quota, used },
  );
const badMultipart = (message: string) => new AppError(400, "bad_multipart", message);

/** "25 MB", "1.5 GB". */
export function formatBytes(n: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[i]}`;
}

/** What the caller's uploads take now. */
async function usedBytes(platform: Platform, owner: string): Promise<number> {
  const [row] = await platform.db.query<{ used: string }>(
    "select coalesce(sum(stored_bytes), 0)::text as used from public.media where owner_id = $1",
    [owner],
  );
  return Number(row?.used ?? 0);
}

async function existing(platform: Platform, claims: Claims, clientId: string): Promise<MediaView | null> {
  const [row] = await asUser(
    platform.db,
    claims,
    (tx) =>
      tx.query<{ j: Omit<MediaView, "urls" | "urls_expire_at"> }>(
        "select public.media_json(m) as j from public.media m where m.owner_id = $1 and m.client_id = $2",
        [claims.sub, clientId],
      ),
  );
  return row ? await withUrls(platform, row.j) : null;
}

/** Reads the first bytes of the file part, enough to decide its type. */
async function readHead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  inspector: Inspector,
  limit: { bytes: number; error: () => AppError },
) {
  const chunks: Uint8Array[] = [];
  let done = false;
  while (inspector.bytes < SNIFF_BYTES) {
    const next = await reader.read();
    if (next.done) {
      done = true;
      break;
    }
    inspector.push(next.value);
    chunks.push(next.value);
    if (inspector.bytes > limit.bytes) throw limit.error();
  }
  return { chunks, done };
}

/** The rest of the part as a stream that counts, inspects and stops at the limit. */
function meteredStream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  head: { chunks: Uint8Array[]; done: boolean },
  inspector: Inspector,
  limit: { bytes: number; error: () => AppError },
): ReadableStream<Uint8Array> {
  let queued = head.chunks;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (queued.length) {
        controller.enqueue(queued.shift()!);
        return;
      }
      if (head.done) return controller.close();
      const next = await reader.read();
      if (next.done) return controller.close();
      inspector.push(next.value);
      if (inspector.bytes > limit.bytes) throw limit.error();
      controller.enqueue(next.value);
    },
    cancel(reason) {
      queued = [];
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** What an upload needs besides the request. */
export interface UploadInput {
  body: ReadableStream<Uint8Array> | null;
  contentType: string | null;
  contentLength: number | null;
  /** Idempotency-Key: the same key again returns the first upload. */
  clientId?: string;
}

/** Stores one uploaded file and creates its media row; images are queued for processing. */
export async function uploadMedia(
  platform: Platform,
  claims: Claims,
  input: UploadInput,
): Promise<{ media: MediaView; created: boolean }> {
  const { config } = platform;
  const limits = config.media;
  if (input.clientId) {
    const first = await existing(platform, claims, input.clientId);
    if (first) {
      await input.body?.cancel().catch(() => {});
      return { media: first, created: false };
    }
  }
  const boundary = boundaryOf(input.contentType);
  if (!input.body) throw badMultipart("The request has no body.");
  if (input.contentLength !== null && input.contentLength > limits.maxBytes + FRAMING_BYTES) {
    throw tooLarge(limits.maxBytes);
  }
  const used = await usedBytes(platform, claims.sub);
  if (used >= limits.quotaBytes) throw quotaExceeded(limits.quotaBytes, used);
  const room = Math.min(limits.maxBytes, limits.quotaBytes - used);

  const id = crypto.randomUUID();
  const prefix = `${id}/`;
  // Claimed before anything is written: if this process dies mid-upload, the sweeper cleans up.
  await platform.db.query(
    "insert into plaza.storage_garbage (prefix, not_before) values ($1, now() + interval '1 hour')",
    [prefix],
  );
  let key: string | null = null;
  let committed = false;
  try {
    const parts = parseMultipart(input.body, boundary, { maxParts: 2 });
    const first = await parts.next();
    if (first.done) throw badMultipart("The form has no file: send it in a field named file.");
    const part: Part = first.value;
    if (part.name !== "file" || part.filename === null) {
      await part.body.cancel().catch(() => {});
      throw badMultipart("Send exactly one file, in a field named file, and nothing else.");
    }
    const inspector = new Inspector({ maxPixels: limits.maxPixels });
    const reader = part.body.getReader();
    const overQuota = room < limits.maxBytes;
    const limit = {
      bytes: room,
      error: () => overQuota ? quotaExceeded(limits.quotaBytes, used) : tooLarge(limits.maxBytes),
    };
    const head = await readHead(reader, inspector, limit).catch(async (err) => {
      await reader.cancel().catch(() => {});
      throw err;
    });
    const early = inspector.bytes === 0 ? null : inspector.early();
    if (early) {
      await reader.cancel().catch(() => {});
      throw new AppError(early.status, early.code, early.message);
    }
    const type = inspector.type;
    if (inspector.bytes === 0 || !type) {
      const verdict = inspector.finish();
      throw isProblem(verdict)
        ? new AppError(verdict.status, verdict.code, verdict.message)
        : new AppError(415, "unsupported_type", "This kind of file is not supported.");
    }
    key = `${id}/original.${type.ext}`;
    const stream = meteredStream(reader, head, inspector, limit);
    const { bytes } = await platform.storage.put(key, stream, { contentType: type.mime });
    const extra = await parts.next();
    if (!extra.done) {
      await extra.value.body.cancel().catch(() => {});
      throw new AppError(400, "too_many_files", "Send one file per request.");
    }
    const verdict = inspector.finish();
    if (isProblem(verdict)) throw new AppError(verdict.status, verdict.code, verdict.message);
    const media = await insertMedia(platform, claims, {
      id,
      key,
      type,
      bytes,
      width: verdict.width,
      height: verdict.height,
      filename: sanitizeFilename(part.filename) || `upload.${type.ext}`,
      clientId: input.clientId,
    });
    committed = true;
    // If queueing fails, the row stays `processing` and the sweeper queues it again.
    if (media.status === "processing") {
      await queueProcessing(platform, id).catch((err) =>
        platform.log.warn("media processing not queued; the sweeper will", { id, err: String(err) })
      );
    }
    return { media: await withUrls(platform, media), created: true };
  } catch (err) {
    if (committed) throw err;
    await discard(platform, prefix, key);
    if (input.clientId && err instanceof AppError && err.code === "client_id_taken") {
      const first = await existing(platform, claims, input.clientId);
      if (first) return { media: first, created: false };
    }
    throw err;
  }
}

/** Removes a failed upload's object and its garbage claim (left for the sweeper if that fails). */
async function discard(platform: Platform, prefix: string, key: string | null): Promise<void> {
  try {
    if (key) await platform.storage.delete([key]);
    await platform.db.query(
      "delete from plaza.storage_garbage where prefix = $1 and not exists (select 1 from public.media where id = $2)",
      [prefix, prefix.slice(0, 36)],
    );
  } catch (err) {
    platform.log.warn("upload cleanup deferred to the sweeper", { prefix, err: String(err) });
  }
}

interface NewMedia {
  id: string;
  key: string;
  type: MediaType;
  bytes: number;
  width: number | null;
  height: number | null;
  filename: string;
  clientId?: string;
}

/** The row, under a per-owner lock so concurrent uploads cannot overrun the quota together. */
async function insertMedia(platform: Platform, claims: Claims, m: NewMedia) {
  const quota = platform.config.media.quotaBytes;
  // The server's own connection: the garbage claim lives in the server-only schema plaza.
  return await platform.db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtextextended('media-quota:' || $1, 0))", [claims.sub]);
    const [usage] = await tx.query<{ used: string }>(
      "select coalesce(sum(stored_bytes), 0)::text as used from public.media where owner_id = $1",
      [claims.sub],
    );
    const used = Number(usage?.used ?? 0);
    if (used + m.bytes > quota) throw quotaExceeded(quota, used);
    const ready = m.type.kind !== "image";
    const variants = ready
      ? { original: { key: m.key, mime: m.type.mime, bytes: m.bytes, width: null, height: null } }
      : {};
    const [row] = await tx.query<{ j: Omit<MediaView, "urls" | "urls_expire_at"> }>(
      `insert into public.media as m (id, owner_id, kind, mime, status, filename, bytes, stored_bytes, width, height,
         original_key, variants, client_id, processed_at)
       values ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11::text::jsonb, $12, case when $5 = 'ready' then now() end)
       on conflict (owner_id, client_id) where client_id is not null do nothing
       returning public.media_json(m) as j`,
      [
        m.id,
        claims.sub,
        m.type.kind,
        m.type.mime,
        ready ? "ready" : "processing",
        m.filename,
        m.bytes,
        m.width,
        m.height,
        m.key,
        JSON.stringify(variants),
        m.clientId ?? null,
      ],
    );
    if (!row) throw new AppError(409, "client_id_taken", "This Idempotency-Key was used for another upload.");
    await tx.query("delete from plaza.storage_garbage where prefix = $1", [`${m.id}/`]);
    return row.j;
  });
}

/** Queues the rendering of an image's variants (once per item). */
export async function queueProcessing(platform: Platform, id: string, attempt = 0): Promise<void> {
  await platform.jobs.enqueue(PROCESS_JOB, { media_id: id }, {
    dedupId: attempt ? `${PROCESS_JOB}:${id}:${attempt}` : `${PROCESS_JOB}:${id}`,
    retries: 4,
  });
}
