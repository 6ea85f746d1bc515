/**
 * A stand-in for QStash's REST API (publish, schedules, message delete) that records what Plaza
 * asked for and, like QStash, delivers a message as a POST signed with `Upstash-Signature` (a JWT
 * over the destination URL and the body's SHA-256, HS256 with the current signing key).
 */
import { b64url, hmacKey, signJwt } from "@/lib/auth/jwt.ts";

/** A message Plaza published. */
export interface Published {
  messageId: string;
  destination: string;
  body: string;
  dedupId: string | null;
  notBefore: number | null;
  retries: number | null;
  deleted: boolean;
}

/** A running fake. */
export interface FakeQStash {
  url: string;
  token: string;
  published: Published[];
  schedules: Map<string, { destination: string; cron: string; body: string }>;
  /** Fails the next API call with this status. */
  failNext(status: number): void;
  /** The signed request QStash would send for a published message (or a schedule's body). */
  delivery(destination: string, body: string, key?: string): Promise<Request>;
  close(): Promise<void>;
}

/** Signs like QStash: the subject is the URL, `body` the base64url SHA-256 of the body. */
export async function qstashSignature(
  key: string,
  url: string,
  body: string,
  over: Record<string, unknown> = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return await signJwt(await hmacKey(key), {
    iss: "Upstash",
    sub: url,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    body: b64url(digest),
    ...over,
  });
}

/** Starts the fake; `signingKey` is the QSTASH_CURRENT_SIGNING_KEY Plaza is configured with. */
export function startFakeQStash(signingKey: string): FakeQStash {
  const token = "fake-qstash-token";
  const published: Published[] = [];
  const schedules = new Map<string, { destination: string; cron: string; body: string }>();
  let failStatus = 0;
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.headers.get("authorization") !== `Bearer ${token}`) return json(401, { error: "Unauthorized" });
    if (failStatus) {
      const status = failStatus;
      failStatus = 0;
      return json(status, { error: "injected failure" });
    }
    const path = decodeURIComponent(new URL(req.url).pathname);
    const body = await req.text();
    if (req.method === "POST" && path.startsWith("/v2/publish/")) {
      const dedupId = req.headers.get("upstash-deduplication-id");
      const earlier = dedupId ? published.find((p) => p.dedupId === dedupId) : undefined;
      if (earlier) return json(201, { messageId: earlier.messageId, deduplicated: true });
      const messageId = `msg_${crypto.randomUUID()}`;
      const notBefore = req.headers.get("upstash-not-before");
      const retries = req.headers.get("upstash-retries");
      published.push({
        messageId,
        destination: path.slice("/v2/publish/".length),
        body,
        dedupId,
        notBefore: notBefore ? Number(notBefore) : null,
        retries: retries ? Number(retries) : null,
        deleted: false,
      });
      return json(201, { messageId });
    }
    if (req.method === "POST" && path.startsWith("/v2/schedules/")) {
      const scheduleId = req.headers.get("upstash-schedule-id") ?? `scd_${crypto.randomUUID()}`;
      const cron = req.headers.get("upstash-cron");
      if (!cron) return json(400, { error: "cron required" });
      schedules.set(scheduleId, { destination: path.slice("/v2/schedules/".length), cron, body });
      return json(201, { scheduleId });
    }
    if (req.method === "DELETE" && path.startsWith("/v2/messages/")) {
      const message = published.find((p) => p.messageId === path.slice("/v2/messages/".length));
      if (!message || message.deleted) return json(404, { error: "message not found" });
      message.deleted = true;
      return new Response(null, { status: 200 });
    }
    return json(404, { error: "not found" });
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    published,
    schedules,
    failNext(status) {
      failStatus = status;
    },
    async delivery(destination, body, key = signingKey) {
      return new Request(destination, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "upstash-signature": await qstashSignature(key, destination, body),
          "upstash-message-id": `msg_${crypto.randomUUID()}`,
        },
      });
    },
    close: () => server.shutdown(),
  };
}
