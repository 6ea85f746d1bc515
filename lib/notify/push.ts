/**
 * Web push delivery: RFC 8030 requests, RFC 8291 `aes128gcm` payload encryption and RFC 8292 VAPID.
 * `web-push` builds the encrypted body and the VAPID header; the request goes out with `fetch`
 * (not web-push's `sendNotification`, which uses node's https module) under a timeout.
 */
import webpushModule from "web-push";
import { z } from "zod";
import { fromB64url } from "@/lib/auth/jwt.ts";

/** VAPID keys, base64url (public: uncompressed P-256 point, 65 bytes; private: 32 bytes). */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** `mailto:...` or an https URL: the contact push services use when a sender misbehaves. */
  subject: string;
}

/** A browser's PushSubscription as JSON (what `PushSubscription.toJSON()` gives). */
export interface PushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** RFC 8030 urgency of a push message. */
export type PushUrgency = "very-low" | "low" | "normal" | "high";

/** Per-message options of `sendPush`. */
export interface PushOptions {
  /** Seconds the push service keeps an undelivered message; default 4 weeks (web-push's default). */
  ttlSeconds?: number;
  urgency?: PushUrgency;
  /** Replaces a pending message with the same topic (at most 32 base64url characters). */
  topic?: string;
  /** Abort the request after this long; default 10 s. */
  timeoutMs?: number;
}

/**
 * Outcome of one delivery. `gone` (404, 410): the subscription expired and the caller deletes it;
 * `retryable` (429, 5xx, network error or timeout with status 0): try again later.
 */
export type PushResult =
  | { ok: true; status: number; messageId?: string }
  | { ok: false; status: number; gone: boolean; retryable: boolean; error: string };

/**
 * Largest payload in bytes (UTF-8) a push service must accept: RFC 8030 guarantees a 4096-byte body,
 * minus the aes128gcm header (86), padding delimiter (1) and GCM tag (16), as RFC 8291 section 4 says.
 */
export const MAX_PUSH_PAYLOAD_BYTES = 3993;

/** The part of web-push's untyped CommonJS API Plaza uses. */
interface WebPush {
  generateVAPIDKeys(): { publicKey: string; privateKey: string };
  generateRequestDetails(sub: PushSubscriptionJson, payload: string, options: object): {
    method: string;
    headers: Record<string, string | number>;
    body: Uint8Array<ArrayBuffer> | null;
    endpoint: string;
  };
}
const webpush = webpushModule as unknown as WebPush;

const DEFAULT_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

/** Creates a fresh VAPID key pair for the given contact subject (`mailto:` or `https:`). */
export function generateVapidKeys(subject: string): VapidKeys {
  if (!/^(mailto:.+|https:\/\/.+)/.test(subject)) {
    throw new Error("VAPID subject must be a mailto: address or an https: URL");
  }
  return { ...webpush.generateVAPIDKeys(), subject };
}

function base64urlOfLength(bytes: number, what: string, first?: number) {
  return z.string().max(200).refine((text) => {
    try {
      const raw = fromB64url(text);
      return raw.length === bytes && (first === undefined || raw[0] === first);
    } catch {
      return false;
    }
  }, `${what} must be base64url encoding ${bytes} bytes`);
}

function isPushEndpoint(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === "https:") return true;
  // Plain http only for a push service on this machine: the test fixture.
  return url.protocol === "http:" && ["127.0.0.1", "localhost"].includes(url.hostname);
}

/** zod schema for the subscription JSON a browser posts to register for push. */
export const pushSubscriptionSchema = z.strictObject({
  endpoint: z.string().max(2048).refine(isPushEndpoint, "endpoint must be an https URL"),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    p256dh: base64urlOfLength(65, "p256dh", 0x04),
    auth: base64urlOfLength(16, "auth"),
  }),
});

function failure(status: number, error: string): PushResult {
  return {
    ok: false,
    status,
    gone: status === 404 || status === 410,
    retryable: status === 0 || status === 429 || status >= 500,
    error,
  };
}

/**
 * Encrypts `payload` for the subscription and posts it to its push service.
 * Throws (before any request) on a payload over `MAX_PUSH_PAYLOAD_BYTES` or invalid options;
 * every answer of the push service, and network failures, come back as a `PushResult`.
 * @example
 * const result = await sendPush(sub, JSON.stringify({ title: "Hi" }), vapid, { urgency: "high" });
 * if (!result.ok && result.gone) await deleteSubscription(sub.endpoint);
 */
export async function sendPush(
  sub: PushSubscriptionJson,
  payload: string,
  vapid: VapidKeys,
  options: PushOptions = {},
): Promise<PushResult> {
  const size = encoder.encode(payload).length;
  if (size > MAX_PUSH_PAYLOAD_BYTES) {
    throw new Error(`push payload is ${size} bytes; the limit is ${MAX_PUSH_PAYLOAD_BYTES}`);
  }
  const details = webpush.generateRequestDetails(sub, payload, {
    vapidDetails: { subject: vapid.subject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
    contentEncoding: "aes128gcm",
    TTL: options.ttlSeconds,
    urgency: options.urgency,
    topic: options.topic,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(details.headers)) {
    // fetch computes the length of the body itself.
    if (name.toLowerCase() !== "content-length") headers.set(name, String(value));
  }

  let response: Response;
  try {
    response = await fetch(details.endpoint, {
      method: details.method,
      headers,
      body: details.body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    const reason = err instanceof DOMException && err.name === "TimeoutError" ? "timed out" : String(err);
    return failure(0, `push request failed: ${reason}`);
  }
  if (response.status >= 200 && response.status < 300) {
    await response.body?.cancel();
    const location = response.headers.get("location");
    return location
      ? { ok: true, status: response.status, messageId: location }
      : { ok: true, status: response.status };
  }
  const text = (await readSome(response, 1024)).slice(0, 300);
  return failure(response.status, `push service answered ${response.status}${text ? `: ${text}` : ""}`);
}

/** At most `limit` bytes of a response body, as text (a hostile endpoint cannot make us read more). */
async function readSome(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // a broken body is as good as an empty one here
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all.subarray(0, limit));
}
