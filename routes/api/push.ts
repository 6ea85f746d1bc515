/**
 * `/api/v1/push`: the VAPID public key, and the caller's push subscriptions (one per device).
 * Endpoints must be https push services; a private or loopback address is refused unless Plaza
 * itself runs on this machine (development and tests), so a subscription cannot aim the server at
 * its own network.
 */
import { Hono } from "hono";
import { z } from "zod";
import { asUser } from "@/lib/db/as_user.ts";
import { unprocessable } from "@/lib/errors.ts";
import { enforce } from "@/lib/kv/rate_limit.ts";
import { pushSubscriptionSchema } from "@/lib/notify/push.ts";
import type { Platform } from "@/lib/platform.ts";
import { isLocalHost } from "../middleware/security_headers.ts";
import type { AppEnv } from "../env.ts";
import { requireUser } from "../session.ts";
import { readJson } from "../validate.ts";

const MAX_DEVICES = 20;
const subscribeRule = { name: "push-subscribe", limit: 30, windowSeconds: 3600 };

/** The push services browsers use (Chrome/Edge/Opera, Firefox, Safari, Windows). */
const PUSH_HOSTS = [
  /^fcm\.googleapis\.com$/,
  /^android\.googleapis\.com$/,
  /^([a-z0-9-]+\.)*push\.services\.mozilla\.com$/,
  /^web\.push\.apple\.com$/,
  /^([a-z0-9-]+\.)*notify\.windows\.com$/,
];

/**
 * True when the server may post to `endpoint`: https on a known push service; plain http to this
 * machine only while Plaza itself runs on this machine (development and the tests' push service).
 * A name check, not a DNS check: an allowlist of public services leaves no private address to reach.
 */
export function pushEndpointAllowed(endpoint: string, platform: Platform): boolean {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/\.+$/, "").toLowerCase(); // "localhost." is localhost too
  if (url.protocol === "https:" && url.port === "" && PUSH_HOSTS.some((re) => re.test(host))) return true;
  const localServer = !platform.config.publicUrl || isLocalHost(new URL(platform.config.publicUrl).hostname);
  return localServer && url.protocol === "http:" && (host === "127.0.0.1" || host === "localhost");
}

/** Push API routes. */
export const pushApi = new Hono<AppEnv>()
  .get("/public-key", async (c) => {
    return c.json({ public_key: (await c.var.platform.vapid()).publicKey });
  })
  .post("/subscriptions", async (c) => {
    const claims = requireUser(c);
    const { platform } = c.var;
    const { subscription } = await readJson(c, z.strictObject({ subscription: pushSubscriptionSchema }));
    enforce(subscribeRule, await platform.limiter.hit(subscribeRule, claims.sub));
    if (!pushEndpointAllowed(subscription.endpoint, platform)) {
      throw unprocessable("That push endpoint is not allowed.", [
        { path: "subscription.endpoint", message: "Use the https endpoint your browser gave." },
      ]);
    }
    const userAgent = (c.req.header("user-agent") ?? "").slice(0, 300);
    // The endpoint identifies a browser profile: re-subscribing moves it to the current user.
    const [row] = await platform.db.query<{ id: string | number; created: boolean }>(
      `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, user_agent)
       values ($1, $2, $3, $4, $5)
       on conflict (endpoint) do update set user_id = excluded.user_id, p256dh = excluded.p256dh,
         auth = excluded.auth, user_agent = excluded.user_agent
       returning id, (xmax = 0) as created`,
      [claims.sub, subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth, userAgent],
    );
    // Oldest devices beyond the cap are dropped.
    await platform.db.query(
      `delete from public.push_subscriptions where user_id = $1 and id not in
         (select id from public.push_subscriptions where user_id = $1 order by id desc limit $2)`,
      [claims.sub, MAX_DEVICES],
    );
    return c.json({ id: Number(row.id) }, row.created ? 201 : 200);
  })
  .get("/subscriptions", async (c) => {
    const claims = requireUser(c);
    const rows = await asUser(c.var.platform.db, claims, (tx) =>
      tx.query(
        "select id, user_agent, created_at, last_success_at from public.push_subscriptions order by id desc",
      ));
    return c.json({ subscriptions: rows.map((r) => ({ ...r, id: Number(r.id) })) });
  })
  .delete("/subscriptions", async (c) => {
    const claims = requireUser(c);
    const { endpoint } = await readJson(c, z.strictObject({ endpoint: z.string().url().max(2048) }));
    const rows = await c.var.platform.db.query(
      "delete from public.push_subscriptions where user_id = $1 and endpoint = $2 returning id",
      [claims.sub, endpoint],
    );
    return c.json({ removed: rows.length });
  });
