/**
 * Serving media: GET /media/:id/:variant. The owner and admins (session cookie or bearer token)
 * always get every variant; anyone else needs a signed, unexpired URL, unless the item covers a
 * public event. Hidden media reaches nobody but its owner and admins. Files go out with an ETag,
 * `nosniff`, a sandboxing CSP, and as downloads when they are not images. Also mounts the media edge
 * function at /functions/v1/media in embedded mode.
 */
import { Hono } from "hono";
import { asUser } from "@/lib/db/as_user.ts";
import { AppError, notFound } from "@/lib/errors.ts";
import { checkSignature, VARIANT_NAMES, type VariantKey } from "@/lib/media/urls.ts";
import type { AppEnv } from "./env.ts";
import { roleOf } from "./session.ts";
import { uuidParam } from "./validate.ts";

interface Served {
  owner_id: string;
  kind: string;
  status: string;
  filename: string;
  hidden: boolean;
  variants: Record<string, { key: string; mime: string; bytes: number }>;
  public: boolean;
}

/** `filename="ascii"; filename*=UTF-8''percent-encoded` for Content-Disposition. */
export function dispositionFilename(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** /media/:id/:variant and /functions/v1/media */
export const mediaRoutes = new Hono<AppEnv>()
  .all("/functions/v1/media", (c) => {
    const handler = c.var.platform.functions.handler("media");
    if (!handler) throw notFound("Edge functions run on Supabase in this deployment.");
    return handler(c.req.raw);
  })
  .get("/media/:id/:variant", async (c) => {
    const { platform } = c.var;
    const id = uuidParam(c, "id", "No such media.");
    const variant = c.req.param("variant") as VariantKey;
    if (!VARIANT_NAMES.includes(variant)) throw notFound("No such variant.");
    const [item] = await platform.db.query<Served>(
      `select owner_id, kind, status, filename, hidden_at is not null as hidden, variants,
         public.media_is_public(id) as public
       from public.media where id = $1`,
      [id],
    );
    const file = item?.status === "ready" ? item.variants[variant] : undefined;
    if (!item || !file) throw notFound("No such media.");

    const claims = c.var.claims;
    // Admin rights are confirmed by the database (a demoted admin's token lives up to an hour).
    const privileged = !!claims && (claims.sub === item.owner_id ||
      roleOf(claims) === "admin" &&
        (await asUser(
            platform.db,
            claims,
            (tx) => tx.query<{ ok: boolean }>("select public.is_admin() as ok"),
          ))[0]?.ok === true);
    let cache: string;
    if (privileged) {
      cache = "private, max-age=300";
    } else if (item.hidden) {
      throw notFound("No such media.");
    } else if (c.req.query("event") !== undefined) {
      // An event's cover: whoever may see the event (checked as them, by RLS) may see its cover.
      const eventId = c.req.query("event")!;
      const [covers] = /^[0-9a-f-]{36}$/.test(eventId)
        ? await asUser(
          platform.db,
          claims,
          (tx) =>
            tx.query("select 1 from public.events e where e.id = $1 and e.cover_media_id = $2", [
              eventId,
              id,
            ]),
        )
        : [];
      if (!covers) throw notFound("No such media.");
      cache = item.public ? "public, max-age=300" : "private, max-age=300";
    } else if (c.req.query("sig") !== undefined || c.req.query("exp") !== undefined) {
      const verdict = await checkSignature(
        platform.mediaKey,
        id,
        variant,
        c.req.query("exp") ?? "",
        c.req.query("sig") ?? "",
      );
      if (verdict === "expired") {
        throw new AppError(403, "link_expired", "This link has expired; reload the page.");
      }
      if (verdict === "invalid") throw new AppError(403, "bad_signature", "This link is not valid.");
      const left = Number(c.req.query("exp")) - Math.floor(Date.now() / 1000);
      cache = `private, max-age=${Math.max(0, Math.min(left, 86400))}`;
    } else if (item.public) {
      cache = "public, max-age=31536000, immutable";
    } else {
      throw claims ? notFound("No such media.") : new AppError(401, "unauthorized", "Sign in to see this.");
    }

    const etag = `"${id}.${variant}"`;
    const headers = new Headers({
      "Cache-Control": cache,
      "ETag": etag,
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "default-src 'none'; sandbox",
      "Cross-Origin-Resource-Policy": "same-site",
      "Vary": "Cookie, Authorization",
    });
    if (item.kind !== "image") {
      headers.set("Content-Disposition", `attachment; ${dispositionFilename(item.filename || "download")}`);
    }
    const inm = c.req.header("if-none-match");
    if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) {
      return new Response(null, { status: 304, headers });
    }
    const object = await platform.storage.get(file.key);
    if (!object) {
      platform.log.error("media file missing from storage", { id, variant });
      throw notFound("No such media.");
    }
    headers.set("Content-Type", file.mime);
    headers.set("Content-Length", String(object.size));
    if (c.req.method === "HEAD") {
      await object.body.cancel();
      return new Response(null, { status: 200, headers });
    }
    return new Response(object.body, { status: 200, headers });
  });
