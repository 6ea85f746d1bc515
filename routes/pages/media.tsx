/**
 * The media page (`/media`, docs/media.md): how much of the quota the person uses, the uploader
 * island, and the library island with the first page of their uploads.
 *
 * Without JavaScript: a `<noscript>` form posts one file to `POST /media` (303 back to `/media`, or
 * the page again with the refusal's message and status), the kind filters and "Load more" are links
 * (`?kind=`, `?before=`), and each item's Delete is a form to `POST /media/:id/delete`.
 *
 * An unknown `?kind=` is ignored (the page shows every kind) rather than refused: it is a filter link,
 * and a stale or mistyped one should still land somewhere useful.
 */
import { Hono } from "hono";
import { island } from "@/components/island.tsx";
import { asUser } from "@/lib/db/as_user.ts";
import { AppError } from "@/lib/errors.ts";
import { deleteMedia, LIST_LIMIT, listMedia } from "@/lib/media/media.ts";
import { formatBytes, uploadMedia } from "@/lib/media/upload.ts";
import MediaLibraryComponent, { type MediaLibraryProps } from "@/islands/MediaLibrary.tsx";
import MediaUploaderComponent, { type MediaUploaderProps } from "@/islands/MediaUploader.tsx";
import { mediaRules } from "../api/media.ts";
import { signInRedirect } from "../events_shared.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { renderPage } from "../render.tsx";
import { requireUser } from "../session.ts";
import { uuidParam } from "../validate.ts";

const MediaUploader = island<MediaUploaderProps>("MediaUploader", MediaUploaderComponent);
const MediaLibrary = island<MediaLibraryProps>("MediaLibrary", MediaLibraryComponent);

const KINDS = ["image", "pdf", "video"] as const;
type Kind = typeof KINDS[number];

/** `?kind=` when it is one we know, else null (unknown values are ignored). */
function kindOf(c: Ctx): Kind | null {
  const k = c.req.query("kind");
  return (KINDS as readonly string[]).includes(k ?? "") ? k as Kind : null;
}

/** What the person's uploads take in storage now. */
async function usedBytes(c: Ctx): Promise<number> {
  const claims = requireUser(c);
  const [row] = await asUser(
    c.var.platform.db,
    claims,
    (tx) =>
      tx.query<{ used: string | number }>(
        "select coalesce(sum(stored_bytes), 0)::text as used from public.media where owner_id = $1",
        [claims.sub],
      ),
  );
  return Number(row?.used ?? 0);
}

/** Renders the page; `error` is a refused no-JavaScript upload. */
async function mediaPage(c: Ctx, error?: AppError) {
  const claims = requireUser(c);
  const { platform } = c.var;
  const kind = kindOf(c);
  const before = c.req.query("before") || undefined;
  const [used, page] = await Promise.all([
    usedBytes(c),
    listMedia(platform, claims, { kind: kind ?? undefined, before, limit: LIST_LIMIT.default }),
  ]);
  const quota = platform.config.media.quotaBytes;
  const maxBytes = platform.config.media.maxBytes;
  return renderPage(
    c,
    <div class="stack media-page">
      <section class="card">
        <div class="row spread">
          <h1>Media</h1>
          <p class="media-usage" data-testid="media-usage">
            Using {formatBytes(used)} of {formatBytes(quota)}
          </p>
        </div>
        <meter
          class="media-quota"
          min={0}
          max={quota}
          value={Math.min(used, quota)}
          high={quota * 0.9}
          aria-label="Storage used"
        />
        {error && (
          <p class="alert" role="alert" data-testid="upload-error">
            {error.message}
          </p>
        )}
      </section>
      <MediaUploader maxBytes={maxBytes} />
      <noscript>
        <section class="card">
          <h2>Upload without JavaScript</h2>
          <form
            method="post"
            action="/media"
            enctype="multipart/form-data"
            class="stack"
            data-testid="noscript-upload"
          >
            <label>
              File (JPEG, PNG, GIF, WebP, PDF, MP4 or WebM, up to {formatBytes(maxBytes)})
              <input type="file" name="file" required />
            </label>
            <div>
              <button type="submit">Upload</button>
            </div>
          </form>
        </section>
      </noscript>
      <MediaLibrary initial={page} kind={kind} />
    </div>,
    { title: "Media", status: error?.status },
  );
}

/** /media */
export const mediaPages = new Hono<AppEnv>()
  .get("/media", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    return await mediaPage(c);
  })
  .post("/media", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    try {
      await rateLimit(c, mediaRules.upload, claims.sub);
      const length = c.req.header("content-length");
      await uploadMedia(c.var.platform, claims, {
        body: c.req.raw.body,
        contentType: c.req.header("content-type") ?? null,
        contentLength: length && /^\d+$/.test(length) ? Number(length) : null,
      });
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return await mediaPage(c, err);
      throw err;
    }
    return c.redirect("/media", 303);
  })
  .post("/media/:id/delete", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const id = uuidParam(c, "id", "No such media.");
    await rateLimit(c, mediaRules.write, claims.sub);
    await deleteMedia(c.var.platform, claims, id);
    return c.redirect("/media", 303);
  });
