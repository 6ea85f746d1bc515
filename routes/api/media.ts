/**
 * Media API (docs/media.md): upload, status, the caller's library, signed URLs for shared items,
 * delete, report; admins' moderation queue under /api/v1/admin/media.
 */
import { Hono } from "hono";
import { z } from "zod";
import { deleteMedia, getMedia, LIST_LIMIT, listMedia, mediaUrls, reportMedia } from "@/lib/media/media.ts";
import { moderate, moderationQueue } from "@/lib/media/moderation.ts";
import { uploadMedia } from "@/lib/media/upload.ts";
import type { RateLimitRule } from "@/lib/kv/rate_limit.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { requireAdmin, requireUser } from "../session.ts";
import { check, readJson, readQuery, text, uuidParam } from "../validate.ts";

/** Per-person limits on media writes. */
export const mediaRules = {
  upload: { name: "media-upload", limit: 60, windowSeconds: 600 },
  write: { name: "media-write", limit: 120, windowSeconds: 60 },
} satisfies Record<string, RateLimitRule>;

const mediaParam = (c: Ctx) => uuidParam(c, "id", "No such media.");
const idempotencyKey = z.string().regex(
  /^[A-Za-z0-9_.:-]{1,100}$/,
  "Use 1-100 letters, digits, '_', '-', '.' or ':'.",
);
const kind = z.enum(["image", "pdf", "video"]);
const listQuery = z.strictObject({
  kind: kind.optional(),
  status: z.enum(["processing", "ready", "failed"]).optional(),
  before: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default),
});
const urlsQuery = z.strictObject({
  ids: z.string().max(50 * 37).transform((s) => s.split(",").filter(Boolean)).pipe(
    z.array(z.uuid()).min(1, "Give at least one id.").max(50, "At most 50 ids."),
  ),
});
const reportBody = z.strictObject({ reason: text(1, 500).transform((s) => s.trim()) });

/** /api/v1/media */
export const mediaApi = new Hono<AppEnv>()
  .post("/", async (c) => {
    const claims = requireUser(c);
    await rateLimit(c, mediaRules.upload, claims.sub);
    const key = c.req.header("idempotency-key");
    const length = c.req.header("content-length");
    const { media, created } = await uploadMedia(c.var.platform, claims, {
      body: c.req.raw.body,
      contentType: c.req.header("content-type") ?? null,
      contentLength: length && /^\d+$/.test(length) ? Number(length) : null,
      clientId: key === undefined ? undefined : check(idempotencyKey, key, "Idempotency-Key"),
    });
    return c.json(media, created ? 201 : 200);
  })
  .get("/", async (c) => {
    const claims = requireUser(c);
    return c.json(await listMedia(c.var.platform, claims, readQuery(c, listQuery)));
  })
  .get("/urls", async (c) => {
    const claims = requireUser(c);
    const { ids } = readQuery(c, urlsQuery);
    return c.json({ items: await mediaUrls(c.var.platform, claims, ids.map((id) => id.toLowerCase())) });
  })
  .get("/:id", async (c) => {
    const claims = requireUser(c);
    return c.json(await getMedia(c.var.platform, claims, mediaParam(c)));
  })
  .delete("/:id", async (c) => {
    const claims = requireUser(c);
    const id = mediaParam(c);
    await rateLimit(c, mediaRules.write, claims.sub);
    await deleteMedia(c.var.platform, claims, id);
    return c.body(null, 204);
  })
  .post("/:id/report", async (c) => {
    const claims = requireUser(c);
    const id = mediaParam(c);
    await rateLimit(c, mediaRules.write, claims.sub);
    const { reason } = await readJson(c, reportBody);
    return c.json(await reportMedia(c.var.platform, claims, id, reason), 201);
  });

const queueQuery = z.strictObject({ filter: z.enum(["reported", "hidden", "all"]).default("reported") });
const moderationBody = z.strictObject({ reason: text(0, 500).default("") });

/** /api/v1/admin/media */
export const mediaAdminApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = await requireAdmin(c);
    const { filter } = readQuery(c, queueQuery);
    return c.json({ items: await moderationQueue(c.var.platform, claims, filter) });
  })
  .post("/:id/:action{hide|restore|dismiss}", async (c) => {
    const claims = await requireAdmin(c);
    const id = mediaParam(c);
    const { reason } = await readJson(c, moderationBody);
    const action = c.req.param("action") as "hide" | "restore" | "dismiss";
    return c.json(await moderate(c.var.platform, claims, id, action, reason));
  })
  .delete("/:id", async (c) => {
    const claims = await requireAdmin(c);
    await moderate(c.var.platform, claims, mediaParam(c), "delete", c.req.query("reason") ?? "");
    return c.body(null, 204);
  });
