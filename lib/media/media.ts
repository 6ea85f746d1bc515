/**
 * Media items as the caller (RLS decides what they see): views with URLs, the library list,
 * signed URLs for items shared with the caller, deletion (storage follows), reports.
 * Uploading lives in ./upload.ts, processing in ./process.ts, moderation in ./moderation.ts.
 */
import { b64url, fromB64url } from "../auth/jwt.ts";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Queryable } from "../db/port.ts";
import { AppError, conflict, notFound } from "../errors.ts";
import type { Platform } from "../platform.ts";
import { expiryFor, mediaPaths, type VariantKey } from "./urls.ts";

/** A media item as the API shows it (built in SQL by `public.media_json`, URLs added here). */
export interface MediaView {
  id: string;
  owner_id: string;
  kind: "image" | "pdf" | "video";
  mime: string;
  status: "processing" | "ready" | "failed";
  failure: string | null;
  filename: string;
  bytes: number;
  stored_bytes: number;
  width: number | null;
  height: number | null;
  color: string | null;
  variants: string[];
  hidden: boolean;
  hidden_reason: string | null;
  created_at: string;
  processed_at: string | null;
  /** Where the variants are, while the item is ready (signed unless the item is public). */
  urls: Partial<Record<VariantKey, string>> | null;
  /** When signed URLs stop working (ISO), or null for public and unsigned ones. */
  urls_expire_at: string | null;
}

/** Library page size. */
export const LIST_LIMIT = { default: 48, max: 100 };

/** Adds URLs to a row of `media_json`: signed for the caller, plain when the item is public. */
export async function withUrls(
  platform: Platform,
  row: Omit<MediaView, "urls" | "urls_expire_at">,
  isPublic = false,
): Promise<MediaView> {
  if (row.status !== "ready") return { ...row, urls: null, urls_expire_at: null };
  const exp = isPublic ? null : expiryFor(platform.config.media.urlTtlSeconds);
  return {
    ...row,
    urls: await mediaPaths(platform.mediaKey, row, exp),
    urls_expire_at: exp === null ? null : new Date(exp * 1000).toISOString(),
  };
}

async function oneView(tx: Queryable, sql: string, params: unknown[]) {
  const [row] = await tx.query<{ j: Omit<MediaView, "urls" | "urls_expire_at"> }>(sql, params);
  return row?.j;
}

/** One item the caller may see, or 404. */
export async function getMedia(platform: Platform, claims: Claims, id: string): Promise<MediaView> {
  const row = await asUser(
    platform.db,
    claims,
    (tx) => oneView(tx, "select public.media_json(m) as j from public.media m where m.id = $1", [id]),
  );
  if (!row) throw notFound("No such media.");
  return await withUrls(platform, row);
}

/** A keyset cursor over (created_at, id), newest first. */
function encodeCursor(createdAt: string, id: string): string {
  return b64url(new TextEncoder().encode(`${createdAt}|${id}`));
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const [at, id] = new TextDecoder().decode(fromB64url(cursor)).split("|");
    if (!Number.isFinite(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id ?? "")) throw new Error("bad cursor");
    return [at, id];
  } catch {
    throw new AppError(400, "bad_cursor", "The cursor is not one this API gave out.");
  }
}

/** The caller's own uploads, newest first. */
export async function listMedia(
  platform: Platform,
  claims: Claims,
  q: {
    kind?: "image" | "pdf" | "video";
    status?: "processing" | "ready" | "failed";
    before?: string;
    limit: number;
  },
): Promise<{ items: MediaView[]; next_cursor: string | null }> {
  const params: unknown[] = [claims.sub, q.limit + 1];
  const where = ["m.owner_id = $1"];
  if (q.kind) where.push(`m.kind = $${params.push(q.kind)}`);
  if (q.status) where.push(`m.status = $${params.push(q.status)}`);
  if (q.before) {
    const [at, id] = decodeCursor(q.before);
    where.push(`(m.created_at, m.id) < ($${params.push(at)}::timestamptz, $${params.push(id)}::uuid)`);
  }
  const rows = await asUser(
    platform.db,
    claims,
    (tx) =>
      tx.query<{ j: Omit<MediaView, "urls" | "urls_expire_at">; at: string }>(
        `select public.media_json(m) as j, m.created_at::text as at from public.media m
       where ${where.join(" and ")} order by m.created_at desc, m.id desc limit $2`,
        params,
      ),
  );
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: await Promise.all(page.map((r) => withUrls(platform, r.j))),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.at, last.j.id) : null,
  };
}

/** Signed URLs for items the caller may see (shared in their rooms, covering events they see, theirs). */
export async function mediaUrls(platform: Platform, claims: Claims | null, ids: string[]) {
  if (!claims || ids.length === 0) return [];
  const rows = await asUser(
    platform.db,
    claims,
    (tx) =>
      tx.query<{ j: Omit<MediaView, "urls" | "urls_expire_at"> }>(
        "select public.media_json(m) as j from public.media m where m.id = any($1::uuid[])",
        [ids],
      ),
  );
  const views = await Promise.all(rows.map((r) => withUrls(platform, r.j)));
  return views.map((v) => ({
    id: v.id,
    status: v.status,
    hidden: v.hidden,
    kind: v.kind,
    width: v.width,
    height: v.height,
    color: v.color,
    urls: v.hidden && v.owner_id !== claims.sub ? null : v.urls,
    urls_expire_at: v.urls_expire_at,
  }));
}

/** Storage keys a live media row still points at (none when the row is gone). */
export async function referencedKeys(platform: Platform, id: string): Promise<Set<string>> {
  const [row] = await platform.db.query<
    { original_key: string | null; variants: Record<string, { key: string }> }
  >(
    "select original_key, variants from public.media where id = $1",
    [id],
  );
  const keys = new Set<string>();
  if (row?.original_key) keys.add(row.original_key);
  for (const v of Object.values(row?.variants ?? {})) keys.add(v.key);
  return keys;
}

/** Deletes every key under `<id>/` that the item's row (if any) does not point at. */
export async function removeUnreferenced(platform: Platform, id: string): Promise<number> {
  const keys = await platform.storage.list(`${id}/`);
  const keep = await referencedKeys(platform, id);
  const gone = keys.filter((k) => !keep.has(k));
  if (gone.length) await platform.storage.delete(gone);
  return gone.length;
}

/**
 * Removes what storage holds under prefixes whose time has come: deleted media (due at once),
 * uploads that never became media and renders that never finished (due an hour after they began).
 * Only keys no live row points at are removed, so a late claim never takes a live item's files.
 * Deletes are idempotent, so two sweepers racing over one prefix do no harm.
 */
export async function purgeGarbage(platform: Platform, prefixes?: string[], limit = 100): Promise<number> {
  const due = await platform.db.query<{ prefix: string }>(
    prefixes
      ? "select prefix from plaza.storage_garbage where prefix = any($1::text[]) and not_before <= now()"
      : "select prefix from plaza.storage_garbage where not_before <= now() order by not_before limit $1",
    [prefixes ?? limit],
  );
  let removed = 0;
  for (const { prefix } of due) {
    removed += await removeUnreferenced(platform, prefix.slice(0, 36));
    await platform.db.query("delete from plaza.storage_garbage where prefix = $1 and not_before <= now()", [
      prefix,
    ]);
  }
  return removed;
}

/** Deletes an item (its owner, or an admin) and every stored variant. */
export async function deleteMedia(platform: Platform, claims: Claims, id: string): Promise<void> {
  const deleted = await asUser(platform.db, claims, async (tx) => {
    const [seen] = await tx.query<{ owner_id: string }>("select owner_id from public.media where id = $1", [
      id,
    ]);
    if (!seen) return null;
    return await tx.query("delete from public.media where id = $1 returning id", [id]);
  });
  if (deleted === null) throw notFound("No such media.");
  if (deleted.length === 0) {
    throw new AppError(403, "forbidden", "Only the owner or an admin can delete this.");
  }
  await purgeGarbage(platform, [`${id}/`]).catch((err) =>
    platform.log.warn("media storage cleanup deferred", { id, err: String(err) })
  );
}

/** Reports an item the caller can see and does not own; once per person. */
export async function reportMedia(platform: Platform, claims: Claims, id: string, reason: string) {
  return await asUser(platform.db, claims, async (tx) => {
    const [seen] = await tx.query<{ owner_id: string }>("select owner_id from public.media where id = $1", [
      id,
    ]);
    if (!seen) throw notFound("No such media.");
    if (seen.owner_id === claims.sub) {
      throw new AppError(422, "own_media", "You cannot report your own upload; delete it instead.");
    }
    const [row] = await tx.query<{ id: number; created_at: string }>(
      `insert into public.media_reports (media_id, reporter_id, reason) values ($1, auth.uid(), $2)
       on conflict (media_id, reporter_id) do nothing returning id, created_at`,
      [id, reason],
    );
    if (!row) throw conflict("You already reported this.", "already_reported");
    return { id: row.id, media_id: id, reason };
  });
}
