/**
 * Moderation (admins): the queue of reported and hidden media with its reports, and the actions
 * hide, restore, dismiss and delete (through `public.media_moderate`, which checks the caller is an
 * admin, resolves the open reports and writes the moderation log).
 */
import { asUser, type Claims } from "../db/as_user.ts";
import { notFound } from "../errors.ts";
import type { Platform } from "../platform.ts";
import { type MediaView, purgeGarbage, withUrls } from "./media.ts";

/** A queue entry: the item, who uploaded it, and its open reports. */
export interface QueueItem {
  media: MediaView;
  owner: { id: string; name: string };
  reports: { reporter: string; reason: string; created_at: string }[];
  open_reports: number;
}

/** Reported (open reports first, most reported first), hidden, or all recent media. */
export async function moderationQueue(
  platform: Platform,
  claims: Claims,
  filter: "reported" | "hidden" | "all",
): Promise<QueueItem[]> {
  const where = filter === "reported"
    ? "exists (select 1 from public.media_reports r where r.media_id = m.id and r.resolved_at is null)"
    : filter === "hidden"
    ? "m.hidden_at is not null"
    : "true";
  const rows = await asUser(
    platform.db,
    claims,
    (tx) =>
      tx.query<
        {
          j: Omit<MediaView, "urls" | "urls_expire_at">;
          owner_name: string;
          reports: QueueItem["reports"];
          open: number;
        }
      >(
        `select public.media_json(m) as j, coalesce(p.name, '') as owner_name,
         coalesce((select jsonb_agg(jsonb_build_object('reporter', coalesce(rp.name, ''), 'reason', r.reason,
             'created_at', public.iso_utc(r.created_at)) order by r.created_at)
           from public.media_reports r left join public.profiles rp on rp.id = r.reporter_id
           where r.media_id = m.id and r.resolved_at is null), '[]'::jsonb) as reports,
         (select count(*)::int from public.media_reports r where r.media_id = m.id and r.resolved_at is null) as open
       from public.media m left join public.profiles p on p.id = m.owner_id
       where ${where}
       order by open desc, coalesce(m.hidden_at, m.created_at) desc limit 200`,
      ),
  );
  return await Promise.all(rows.map(async (r) => ({
    media: await withUrls(platform, r.j),
    owner: { id: r.j.owner_id, name: r.owner_name },
    reports: r.reports,
    open_reports: r.open,
  })));
}

/** Applies a moderation action; 404 when the item does not exist. */
export async function moderate(
  platform: Platform,
  claims: Claims,
  id: string,
  action: "hide" | "restore" | "dismiss" | "delete",
  reason: string,
): Promise<MediaView | { id: string; deleted: true }> {
  const [row] = await asUser(
    platform.db,
    claims,
    (tx) =>
      tx.query<
        {
          j: (Omit<MediaView, "urls" | "urls_expire_at"> & { deleted?: undefined }) | {
            id: string;
            deleted: true;
          } | null;
        }
      >(
        "select public.media_moderate($1, $2, $3) as j",
        [id, action, reason],
      ),
  );
  if (!row?.j) throw notFound("No such media.");
  if ("deleted" in row.j && row.j.deleted) {
    await purgeGarbage(platform, [`${id}/`]).catch((err) =>
      platform.log.warn("media storage cleanup deferred", { id, err: String(err) })
    );
    return row.j;
  }
  return await withUrls(platform, row.j as Omit<MediaView, "urls" | "urls_expire_at">);
}
