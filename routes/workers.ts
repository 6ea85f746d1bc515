/**
 * `POST /workers/<name>`: job handlers called over HTTP (QStash in cloud mode). Every path under
 * /workers/ checks `Upstash-Signature` against the raw body and the full URL before anything else,
 * so an unsigned call to any name, known or not, is 401 and has no effect.
 */
import { Hono } from "hono";
import { AppError, notFound, unauthorized } from "@/lib/errors.ts";
import type { JobHandler } from "@/lib/jobs/runner.ts";
import { type SigningKeys, verifySignature } from "@/lib/jobs/signature.ts";
import type { AppEnv } from "./env.ts";
import { zodIssues } from "./validate.ts";
import { readBody } from "./validate.ts";

/** The claims of a verified signature (a JWT), for its id and expiry. */
function signatureClaims(jwt: string): { jti?: string; exp?: number } {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4)));
  } catch {
    return {};
  }
}

/** Worker routes over `handlers`, verified with `keys`. */
export function workerRoutes(handlers: JobHandler[], keys: SigningKeys) {
  const byName = new Map(handlers.map((h) => [h.name, h]));
  return new Hono<AppEnv>().all("/workers/*", async (c) => {
    const signature = c.req.header("upstash-signature");
    if (!signature) throw unauthorized("Missing Upstash-Signature.", "invalid_signature");
    const bytes = await readBody(c, c.var.platform.config.maxBodyBytes);
    const body = new TextDecoder().decode(bytes);
    const base = c.var.platform.config.publicUrl ?? new URL(c.req.url).origin;
    const url = `${base}${c.req.path}`;
    if (!await verifySignature(keys, signature, body, url)) {
      throw unauthorized("The Upstash-Signature is not valid for this request.", "invalid_signature");
    }
    // A signature that already ran its job is not accepted again (replay); a failed call's
    // signature stays usable, in case QStash retries with the same one.
    const claims = signatureClaims(signature);
    const replayKey = `qstash:jti:${claims.jti ?? signature.slice(-43)}`;
    if (await c.var.platform.kv.get(replayKey)) {
      throw unauthorized("This Upstash-Signature was already used.", "replayed_signature");
    }
    if (c.req.method !== "POST") {
      throw new AppError(405, "method_not_allowed", "Workers are called with POST.");
    }
    const name = c.req.path.slice("/workers/".length);
    const handler = byName.get(name);
    if (!handler) throw notFound(`No worker named ${name}.`);
    let payload: unknown;
    try {
      payload = body ? JSON.parse(body) : {};
    } catch {
      throw new AppError(400, "bad_request", "The body is not valid JSON.");
    }
    const parsed = handler.payload.safeParse(payload);
    if (!parsed.success) {
      throw new AppError(422, "validation_failed", "The job payload is invalid.", zodIssues(parsed.error));
    }
    const messageId = c.req.header("upstash-message-id");
    const retried = Number(c.req.header("upstash-retried") ?? 0);
    c.var.log.info("worker called", { worker: name, message_id: messageId, retried });
    // A failure is a 500: QStash retries it with its own backoff.
    await handler.run(parsed.data, { jobId: 0, attempt: retried + 1 });
    const ttlMs = Math.max(60_000, ((claims.exp ?? 0) - Date.now() / 1000 + 60) * 1000);
    await c.var.platform.kv.set(replayKey, "1", { ttlMs }).catch((err) =>
      c.var.log.warn("could not record the used signature", { err })
    );
    return c.json({ ok: true });
  });
}
