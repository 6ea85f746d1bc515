/**
 * Orders API (docs/orders.md): create, read, list, assign, status, location fixes, tracking, share
 * links, the dispatch board; `/api/v1/track/:token` for share-link viewers.
 */
import { Hono } from "hono";
import { z } from "zod";
import { conflict, forbidden, notFound, unprocessable } from "@/lib/errors.ts";
import type { RateLimitRule } from "@/lib/kv/rate_limit.ts";
import { batchSchema, fixView, timeProblems, toFixes } from "@/lib/location/fixes.ts";
import { trackView } from "@/lib/location/track.ts";
import { ipBucket } from "@/lib/auth/guard.ts";
import {
  assignOrder,
  createOrder,
  createSchema,
  dispatchView,
  getOrder,
  listOrders,
  listSchema,
  setStatus,
  trackAs,
} from "@/lib/orders/orders.ts";
import { createShareLink, openShareLink, revokeShareLinks } from "@/lib/orders/share.ts";
import { ACTIVE, type OrderStatus, STATUSES } from "@/lib/orders/state.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { afterOrderChange } from "../orders_shared.ts";
import { rateLimit } from "../rate_limit.ts";
import { clientIp, requireUser, roleOf } from "../session.ts";
import { check, readJson, readQuery, uuidParam } from "../validate.ts";

/** Per-person limits. */
export const orderRules = {
  create: { name: "order-create", limit: 30, windowSeconds: 3600 },
  write: { name: "order-write", limit: 120, windowSeconds: 60 },
  // Streaming sends every 2 s at most; the rest is room for emptying an offline buffer.
  locations: { name: "order-locations", limit: 300, windowSeconds: 60 },
  publicTrack: { name: "order-track-public", limit: 120, windowSeconds: 60 },
} satisfies Record<string, RateLimitRule>;

const orderParam = (c: Ctx) => uuidParam(c, "id", "No such order.");
const idempotencyKey = z.string().regex(
  /^[A-Za-z0-9_.:-]{1,100}$/,
  "Use 1-100 letters, digits, '_', '-', '.' or ':'.",
);
const statusBody = z.strictObject({
  status: z.enum(STATUSES.filter((s) => s !== "requested" && s !== "assigned")),
});
const assignBody = z.strictObject({ partner_id: z.uuid("partner_id must be a user id.") });
const shareBody = z.strictObject({ ttl_minutes: z.number().int().min(15).max(1440).default(120) });
const trackQuery = z.strictObject({ since: z.iso.datetime({ offset: true }).optional() });

/** /api/v1/orders */
export const ordersApi = new Hono<AppEnv>()
  .post("/", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, createSchema);
    await rateLimit(c, orderRules.create, claims.sub);
    const key = c.req.header("idempotency-key");
    if (key !== undefined) body.client_id = check(idempotencyKey, key, "Idempotency-Key");
    const { order, created } = await createOrder(c.var.platform.db, claims, body);
    return c.json(order, created ? 201 : 200);
  })
  .get("/", async (c) => {
    const claims = requireUser(c);
    return c.json(await listOrders(c.var.platform.db, claims, readQuery(c, listSchema)));
  })
  .get("/:id", async (c) => {
    const claims = requireUser(c);
    return c.json(await getOrder(c.var.platform.db, claims, orderParam(c)));
  })
  .post("/:id/assign", async (c) => {
    const claims = requireUser(c);
    const id = orderParam(c);
    await rateLimit(c, orderRules.write, claims.sub);
    const { partner_id } = await readJson(c, assignBody);
    const order = await assignOrder(c.var.platform.db, claims, id, partner_id);
    await afterOrderChange(c, id);
    return c.json(order);
  })
  .post("/:id/status", async (c) => {
    const claims = requireUser(c);
    const id = orderParam(c);
    await rateLimit(c, orderRules.write, claims.sub);
    const { status } = await readJson(c, statusBody);
    const order = await setStatus(c.var.platform.db, claims, id, status as OrderStatus);
    await afterOrderChange(c, id);
    return c.json(order);
  })
  .post("/:id/locations", async (c) => {
    const claims = requireUser(c);
    const id = orderParam(c);
    await rateLimit(c, orderRules.locations, claims.sub);
    const batch = await readJson(c, batchSchema);
    const problems = timeProblems(batch, Date.now());
    if (problems.length) {
      throw unprocessable(
        `The body is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
        problems,
      );
    }
    const { db, locations } = c.var.platform;
    const facts = await locations.facts(id);
    if (!facts) throw notFound("No such order.");
    if (facts.partner_id !== claims.sub) {
      if (facts.customer_id === claims.sub || roleOf(claims) === "admin") {
        throw forbidden("Only the partner assigned to this order sends its locations.", "not_assigned");
      }
      throw notFound("No such order.");
    }
    const inactive = () =>
      conflict(
        "This order is not active: locations are accepted from assignment until delivery.",
        "order_not_active",
      );
    if (!ACTIVE.includes(facts.status as OrderStatus)) throw inactive();
    const { fixes, repeated } = toFixes(batch);
    const filter = await locations.filter(id, claims.sub);
    const { accepted, dropped } = filter.filter(fixes);
    if (dropped) {
      await db.query("update public.orders set fixes_dropped = fixes_dropped + $2 where id = $1", [
        id,
        dropped,
      ]);
    }
    const result = await locations.submit(id, claims.sub, accepted);
    if (result.inactive) {
      locations.invalidate(id);
      throw inactive();
    }
    const latest = accepted.at(-1);
    return c.json({
      accepted: result.inserted,
      duplicates: repeated + accepted.length - result.inserted,
      dropped_jumps: dropped,
      latest: latest ? fixView(latest) : null,
    });
  })
  .get("/:id/track", async (c) => {
    const claims = requireUser(c);
    const id = orderParam(c);
    const { since } = readQuery(c, trackQuery);
    const view = await trackAs(c.var.platform.db, claims, id, since ? new Date(since) : undefined);
    return c.json(view);
  })
  .post("/:id/share", async (c) => {
    const claims = requireUser(c);
    const id = orderParam(c);
    await rateLimit(c, orderRules.write, claims.sub);
    const { ttl_minutes } = await readJson(c, shareBody);
    const p = c.var.platform;
    return c.json(await createShareLink(p.db, p.shareKey, claims, id, ttl_minutes), 201);
  })
  .delete("/:id/share", async (c) => {
    const claims = requireUser(c);
    const id = orderParam(c);
    await rateLimit(c, orderRules.write, claims.sub);
    await revokeShareLinks(c.var.platform.db, claims, id);
    return c.body(null, 204);
  });

/** /api/v1/dispatch (admins). */
export const dispatchApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = requireUser(c);
    return c.json(await dispatchView(c.var.platform.db, claims));
  });

/** /api/v1/track/:token: the shared view (no sign-in; the customer's privacy rules). */
export const sharedTrackApi = new Hono<AppEnv>()
  .get("/:token", async (c) => {
    await rateLimit(c, orderRules.publicTrack, ipBucket(clientIp(c)));
    const { since } = readQuery(c, trackQuery);
    const p = c.var.platform;
    const row = await openShareLink(p.db, p.shareKey, c.req.param("token"));
    return c.json(
      await trackView(p.db, row.order, { customerRules: true, since: since ? new Date(since) : undefined }),
    );
  });
