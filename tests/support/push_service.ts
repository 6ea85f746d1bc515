/**
 * A local push service for tests, in the manner of Mozilla autopush or FCM. It hands out
 * subscriptions like a browser would, and on each push checks the VAPID JWT (RFC 8292), the
 * RFC 8030 headers and the 4096-byte body limit, then decrypts the `aes128gcm` body (RFC 8291)
 * with its own WebCrypto code, independent of web-push, so a test sees what a browser would.
 */
import { b64url, fromB64url } from "@/lib/auth/jwt.ts";
import type { PushSubscriptionJson } from "@/lib/notify/push.ts";

/** One push message the service accepted, decrypted. */
export interface ReceivedPush {
  endpointId: string;
  payload: string;
  headers: { ttl: number; urgency: string | null; topic: string | null };
  /** The `sub` claim of the verified VAPID JWT. */
  vapidSubject: string;
}

/** A running push service. */
export interface PushService {
  /** Origin of the service, e.g. `http://127.0.0.1:41234`. */
  url: string;
  received: ReceivedPush[];
  /** A new subscription; with `applicationServerKey`, only pushes signed by that VAPID key pass (403 otherwise). */
  subscribe(options?: { applicationServerKey?: string }): Promise<{ subscription: PushSubscriptionJson }>;
  /** The endpoint answers 410 Gone from now on. */
  expire(endpoint: string): void;
  /** The next push to the endpoint answers `status`. */
  failNext(endpoint: string, status: number): void;
  close(): Promise<void>;
}

interface Client {
  privateKey: CryptoKey;
  publicKey: Uint8Array<ArrayBuffer>;
  auth: Uint8Array<ArrayBuffer>;
  serverKey?: string;
  expired: boolean;
  failNext?: number;
}

class Rejection extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 4096;
const URGENCIES = ["very-low", "low", "normal", "high"];
const enc = new TextEncoder();
const bytes = (text: string) => new Uint8Array(fromB64url(text));
const json = (text: string) => JSON.parse(new TextDecoder().decode(fromB64url(text)));

async function verifyVapidJwt(
  header: string | null,
  audience: string,
  requiredKey?: string,
): Promise<string> {
  const params = new Map(
    (header?.match(/^vapid\s+(.*)$/i)?.[1] ?? "").split(",").map((p) => {
      const [name, ...rest] = p.trim().split("=");
      return [name, rest.join("=")] as const;
    }),
  );
  const t = params.get("t"), k = params.get("k");
  if (!t || !k) throw new Rejection(401, "missing vapid t= and k=");
  const [head, body, signature] = t.split(".");
  let valid: boolean, alg: unknown, claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    alg = json(head).alg;
    claims = json(body);
    const key = await crypto.subtle.importKey(
      "raw",
      bytes(k),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      [
        "verify",
      ],
    );
    valid = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      bytes(signature ?? ""),
      enc.encode(`${head}.${body}`),
    );
  } catch (err) {
    throw new Rejection(401, `malformed vapid header: ${err}`);
  }
  const now = Date.now() / 1000;
  if (alg !== "ES256" || !valid) throw new Rejection(403, "bad vapid signature");
  if (claims.aud !== audience) throw new Rejection(403, `vapid aud is not ${audience}`);
  if (typeof claims.exp !== "number" || claims.exp <= now || claims.exp > now + 86_400) {
    throw new Rejection(403, "vapid exp must be in the next 24 hours");
  }
  if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub)) {
    throw new Rejection(403, "vapid sub must be mailto: or https:");
  }
  if (requiredKey && k !== requiredKey) {
    throw new Rejection(403, "not the subscription's application server key");
  }
  return claims.sub;
}

async function hkdf(
  salt: Uint8Array<ArrayBuffer>,
  ikm: Uint8Array<ArrayBuffer>,
  info: string | Uint8Array<ArrayBuffer>,
  length: number,
) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const infoBytes = typeof info === "string" ? enc.encode(info) : info;
  const params = { name: "HKDF", hash: "SHA-256", salt, info: infoBytes };
  return new Uint8Array(await crypto.subtle.deriveBits(params, key, length * 8));
}

/** RFC 8291 decryption of a single-record aes128gcm body, from the user agent's side. */
async function decryptAes128gcm(body: Uint8Array<ArrayBuffer>, client: Client): Promise<string> {
  if (body.length < 86 + 17) throw new Rejection(400, "body shorter than an aes128gcm header and tag");
  const salt = body.slice(0, 16);
  const rs = new DataView(body.buffer, body.byteOffset).getUint32(16);
  if (body[20] !== 65) throw new Rejection(400, "keyid must be the sender's 65-byte public key");
  const senderPublic = body.slice(21, 86);
  const ciphertext = body.slice(86);
  if (ciphertext.length > rs) throw new Rejection(400, "push messages must be a single record");

  const plain = await (async () => {
    const sender = await crypto.subtle.importKey(
      "raw",
      senderPublic,
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const ecdh = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "ECDH", public: sender }, client.privateKey, 256),
    );
    const keyInfo = new Uint8Array([...enc.encode("WebPush: info\0"), ...client.publicKey, ...senderPublic]);
    const ikm = await hkdf(client.auth, ecdh, keyInfo, 32);
    const cek = await hkdf(salt, ikm, "Content-Encoding: aes128gcm\0", 16);
    const nonce = await hkdf(salt, ikm, "Content-Encoding: nonce\0", 12);
    const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, key, ciphertext),
    );
  })().catch((err) => {
    throw new Rejection(400, `cannot decrypt: ${err}`);
  });
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Rejection(400, "last record must end with padding delimiter 0x02");
  return new TextDecoder("utf-8", { fatal: true }).decode(plain.subarray(0, end));
}

/** Starts a push service on a free port of 127.0.0.1. */
export function startPushService(): Promise<PushService> {
  const clients = new Map<string, Client>();
  const received: ReceivedPush[] = [];
  let origin = "";
  let messages = 0;

  const accept = async (req: Request, id: string, client: Client): Promise<Response> => {
    const vapidSubject = await verifyVapidJwt(req.headers.get("authorization"), origin, client.serverKey);
    const ttl = req.headers.get("ttl");
    if (!ttl || !/^\d+$/.test(ttl)) throw new Rejection(400, "TTL header required");
    const urgency = req.headers.get("urgency");
    if (urgency && !URGENCIES.includes(urgency)) throw new Rejection(400, "bad Urgency");
    const body = new Uint8Array(await req.arrayBuffer());
    if (body.length > MAX_BODY_BYTES) throw new Rejection(413, "payload too large");
    let payload = "";
    if (body.length > 0) {
      if (req.headers.get("content-encoding") !== "aes128gcm") throw new Rejection(415, "need aes128gcm");
      payload = await decryptAes128gcm(body, client);
    }
    const headers = { ttl: Number(ttl), urgency, topic: req.headers.get("topic") };
    received.push({ endpointId: id, payload, headers, vapidSubject });
    return new Response(null, { status: 201, headers: { location: `/m/${++messages}` } });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const id = new URL(req.url).pathname.match(/^\/push\/([\w-]+)$/)?.[1];
    const client = id ? clients.get(id) : undefined;
    if (req.method !== "POST" || !id || !client) return new Response("no such subscription", { status: 404 });
    if (client.expired) return new Response("subscription expired", { status: 410 });
    if (client.failNext) {
      const status = client.failNext;
      client.failNext = undefined;
      return new Response("injected failure", { status });
    }
    try {
      return await accept(req, id, client);
    } catch (err) {
      if (!(err instanceof Rejection)) throw err;
      return new Response(err.message, { status: err.status });
    }
  });
  origin = `http://127.0.0.1:${server.addr.port}`;

  const clientOf = (endpoint: string) => {
    const client = clients.get(new URL(endpoint).pathname.split("/").pop() ?? "");
    if (!client) throw new Error(`unknown endpoint ${endpoint}`);
    return client;
  };

  return Promise.resolve({
    url: origin,
    received,
    async subscribe(options = {}) {
      const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
        "deriveBits",
      ]);
      const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      const auth = crypto.getRandomValues(new Uint8Array(16));
      const id = b64url(crypto.getRandomValues(new Uint8Array(16)));
      clients.set(id, {
        privateKey: pair.privateKey,
        publicKey,
        auth,
        serverKey: options.applicationServerKey,
        expired: false,
      });
      return {
        subscription: {
          endpoint: `${origin}/push/${id}`,
          keys: { p256dh: b64url(publicKey), auth: b64url(auth) },
        },
      };
    },
    expire(endpoint) {
      clientOf(endpoint).expired = true;
    },
    failNext(endpoint, status) {
      clientOf(endpoint).failNext = status;
    },
    close: () => server.shutdown(),
  });
}
