/**
 * Processing an image (the `media-process` job): ask the media edge function to render the
 * variants, then record them, drop the original (it may carry GPS metadata) and let the owner know
 * over `user:<id>` (the status trigger broadcasts). A damaged image ends `failed` with a reason and
 * nothing left in storage. Transient failures throw, so the job is retried. The sweeper re-queues
 * items the pipeline lost and fails the ones that stay stuck.
 */
import type { Platform } from "../platform.ts";
import type { RenderResponse } from "./function.ts";
import { purgeGarbage, removeUnreferenced } from "./media.ts";
import { queueProcessing } from "./upload.ts";

/** Items still processing after this long are queued again (once); after STUCK_FAIL they fail. */
const STUCK_RETRY = "5 minutes";
const STUCK_FAIL = "30 minutes";

interface Pending {
  id: string;
  owner_id: string;
  mime: string;
  original_key: string | null;
  width: number | null;
  height: number | null;
  status: string;
}

async function fail(platform: Platform, item: Pending, reason: string): Promise<void> {
  const updated = await platform.db.query(
    `update public.media set status = 'failed', failure = left($2, 300), original_key = null, stored_bytes = 0,
       variants = '{}'::jsonb, processed_at = now()
     where id = $1 and status = 'processing' returning id`,
    [item.id, reason],
  );
  if (updated.length === 0) return;
  await removeUnreferenced(platform, item.id);
  await platform.db.query("delete from plaza.storage_garbage where prefix = $1", [`${item.id}/`]);
}

/** Renders and records one item's variants; does nothing for items that are not processing. */
export async function processMedia(platform: Platform, id: string): Promise<"ready" | "failed" | "skipped"> {
  const [item] = await platform.db.query<Pending>(
    "select id, owner_id, mime, original_key, width, height, status from public.media where id = $1",
    [id],
  );
  if (!item || item.status !== "processing") return "skipped";
  if (!item.original_key) {
    await fail(platform, item, "The upload is missing from storage; upload it again.");
    return "failed";
  }
  // The render writes files before the row knows them: claim the prefix first, so that a crash, or
  // the item being deleted meanwhile, cannot leave them behind for good.
  await platform.db.query(
    `insert into plaza.storage_garbage (prefix, not_before) values ($1, now() + interval '1 hour')
     on conflict (prefix) do nothing`,
    [`${id}/`],
  );
  const res = await platform.functions.invoke("media", {
    source: item.original_key,
    mime: item.mime,
    known_size: item.width && item.height ? { width: item.width, height: item.height } : null,
  });
  if (res.status === 422 || res.status === 404) {
    const body = await res.json().catch(() => ({})) as { error?: { code?: string; message?: string } };
    // A 404 that is not the function's own "source missing" is a deployment problem: retry.
    if (res.status === 404 && body.error?.code !== "source_missing") {
      throw new Error("media function not found (404)");
    }
    await fail(platform, item, body.error?.message ?? "The image could not be processed.");
    return "failed";
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`media function answered ${res.status}`);
  }
  const out = await res.json() as RenderResponse;
  const variants = out.variants;
  const keys = new Set(Object.values(variants).map((v) => v.key));
  const stored = [...keys].reduce(
    (sum, key) => sum + Object.values(variants).find((v) => v.key === key)!.bytes,
    0,
  );
  const updated = await platform.db.transaction(async (tx) => {
    const rows = await tx.query(
      `update public.media set status = 'ready', width = $2, height = $3, color = $4, variants = $5::text::jsonb,
         stored_bytes = $6, original_key = null, processed_at = now()
       where id = $1 and status = 'processing' returning id`,
      [id, out.width, out.height, out.color, JSON.stringify(variants), stored],
    );
    if (rows.length) await tx.query("delete from plaza.storage_garbage where prefix = $1", [`${id}/`]);
    return rows;
  });
  // Whatever the row does not point at now (the original; everything, if it was deleted meanwhile).
  await removeUnreferenced(platform, id);
  return updated.length ? "ready" : "skipped";
}

/** The sweeper: storage garbage, lost processing jobs, stuck items. */
export async function sweepMedia(
  platform: Platform,
): Promise<{ purged: number; requeued: number; failed: number }> {
  const purged = await purgeGarbage(platform);
  const stale = await platform.db.query<Pending & { stuck: boolean }>(
    `select id, owner_id, mime, original_key, width, height, status,
       created_at < now() - interval '${STUCK_FAIL}' as stuck
     from public.media where status = 'processing' and created_at < now() - interval '${STUCK_RETRY}'
     order by created_at limit 100`,
  );
  let requeued = 0, failed = 0;
  for (const item of stale) {
    if (item.stuck) {
      await fail(platform, item, "Processing did not finish; upload the image again.");
      failed++;
    } else {
      await queueProcessing(platform, item.id, 1);
      requeued++;
    }
  }
  return { purged, requeued, failed };
}
