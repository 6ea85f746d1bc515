/**
 * Realtime over HTTP: the REST broadcast API (`/realtime/v1/api/broadcast`, both the batch and the
 * per-event form supabase-js uses), and the client configuration browsers need. The WebSocket
 * endpoint is mounted ahead of the middleware in routes/app.ts.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ipBucket } from "@/lib/auth/guard.ts";
import { AppError, payloadTooLarge, unauthorized } from "@/lib/errors.ts";
import { enforce } from "@/lib/kv/rate_limit.ts";
import type { RealtimeIdentity } from "@/lib/realtime/tokens.ts";
import type { AppEnv, Ctx } from "./env.ts";
import { clientIp } from "./session.ts";
import { check, readBody, readJson } from "./validate.ts";

/** A sub-topic: `realtime:` plus it must fit the protocol's 255-byte topic field. */
const topicSchema = z.string().min(1).refine((t) => new TextEncoder().encode(`realtime:${t}`).length <= 255, {
  message: "topic is longer than 246 bytes",
});
const eventSchema = z.string().min(1).max(255);

const batchSchema = z.strictObject({
  messages: z.array(z.strictObject({
    topic: topicSchema,
    event: eventSchema,
    payload: z.unknown().optional(),
    private: z.boolean().optional(),
  })).min(1).max(100),
});

/** The caller of a REST broadcast: the bearer token, else the apikey header or query parameter. */
async function restIdentity(c: Ctx): Promise<RealtimeIdentity> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  const token = bearer ?? c.req.header("apikey") ?? c.req.query("apikey");
  if (!token) throw unauthorized("Send an API key (apikey header) or a bearer token.");
  try {
    return await c.var.platform.realtime.verify(token);
  } catch {
    throw unauthorized("The API key or token is invalid or expired.", "invalid_token");
  }
}

/** REST broadcasts per client IP: the anon key is public, so this is the only brake. */
const restRule = { name: "realtime-rest", limit: 120, windowSeconds: 60 };

async function deliver(
  c: Ctx,
  identity: RealtimeIdentity,
  messages: Parameters<Ctx["var"]["platform"]["realtime"]["broadcast"]>[1],
) {
  const { realtime, limiter } = c.var.platform;
  if (identity.role !== "service_role") enforce(restRule, await limiter.hit(restRule, ipBucket(clientIp(c))));
  for (const m of messages) {
    const size = m.payload instanceof Uint8Array
      ? m.payload.length
      : new TextEncoder().encode(JSON.stringify(m.payload ?? null)).length;
    if (size > realtime.limits.maxPayloadBytes) throw payloadTooLarge(realtime.limits.maxPayloadBytes);
  }
  try {
    await realtime.broadcast(identity, messages);
  } catch (err) {
    const message = (err as Error).message;
    if (message === "too_many_topics") {
      throw new AppError(422, "validation_failed", "At most 10 private topics per request.");
    }
    const m = /^forbidden:(.*)$/.exec(message);
    if (m) throw new AppError(403, "forbidden", `You may not broadcast to the private topic ${m[1]}.`);
    throw err;
  }
}

/** Realtime REST routes (mounted at /realtime/v1). */
export const realtimeApi = new Hono<AppEnv>()
  .post("/api/broadcast", async (c) => {
    const identity = await restIdentity(c);
    const { messages } = await readJson(c, batchSchema);
    await deliver(
      c,
      identity,
      messages.map((m) => ({ ...m, private: m.private ?? false, payload: m.payload ?? {} })),
    );
    return c.body(null, 202);
  })
  .post("/api/broadcast/:topic/events/:event", async (c) => {
    const identity = await restIdentity(c);
    const topic = check(topicSchema, c.req.param("topic"), "topic");
    const event = check(eventSchema, c.req.param("event"), "event");
    const isPrivate = c.req.query("private") === "true";
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const bytes = await readBody(c, c.var.platform.config.maxBodyBytes);
    let payload: unknown;
    if (type === "application/octet-stream") payload = bytes;
    else if (type === "application/json") {
      try {
        payload = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new AppError(400, "bad_request", "The body is not valid JSON.");
      }
    } else {throw new AppError(
        415,
        "unsupported_media_type",
        "Send application/json or application/octet-stream.",
      );}
    await deliver(c, identity, [{ topic, event, payload, private: isPrivate }]);
    return c.body(null, 202);
  });

/** `GET /api/v1/client-config`: where browsers connect for realtime, and with which public key. */
export const clientConfigApi = new Hono<AppEnv>().get("/", (c) => {
  const { platform } = c.var;
  c.header("Cache-Control", "no-cache");
  return c.json(clientConfig(c, platform));
});

/** The browser configuration: Plaza's own origin in embedded mode, Supabase in cloud mode. */
export function clientConfig(c: Ctx, platform: Ctx["var"]["platform"]) {
  const origin = platform.config.publicUrl ?? new URL(c.req.url).origin;
  return { supabaseUrl: platform.realtimeUrl ?? origin, supabaseAnonKey: platform.apiKeys.anonKey };
}
