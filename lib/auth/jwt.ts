/**
 * HS256 JSON Web Tokens with Supabase's claim shape, signed and verified with WebCrypto.
 * Verification accepts only `alg: HS256`, checks the signature in constant time (WebCrypto's
 * verify), the audience and the expiry.
 */
import type { Claims } from "../db/as_user.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** base64url without padding. */
export function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url (padding optional); throws on bad input. */
export function fromB64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("bad base64url");
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Imports an HMAC-SHA256 key for signing and verifying. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** Access-token claims as Plaza issues them (and Supabase Auth does). */
export interface AccessClaims extends Claims {
  aud: string;
  exp: number;
  iat: number;
  session_id?: string;
}

/** Signs `payload` as an HS256 JWT. */
export async function signJwt(key: CryptoKey, payload: Record<string, unknown>): Promise<string> {
  const header = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(enc.encode(JSON.stringify(payload)));
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${header}.${body}`)));
  return `${header}.${body}.${b64url(sig)}`;
}

/** Why a token was refused. */
export type JwtFailure = "malformed" | "algorithm" | "signature" | "audience" | "expired";

/** Thrown by {@link verifyJwt}; `reason` says which check failed. */
export class JwtError extends Error {
  override name = "JwtError";
  constructor(readonly reason: JwtFailure) {
    super(`invalid token: ${reason}`);
  }
}

/** Options for {@link verifyJwt}. */
export interface VerifyOptions {
  /** Accepted audiences; omitted means any. */
  audience?: string[];
  /** Seconds since the epoch, for tests. */
  now?: number;
}

/** Verifies an HS256 JWT and returns its claims; throws {@link JwtError} otherwise. */
export async function verifyJwt<T = AccessClaims>(
  key: CryptoKey,
  token: string,
  options: VerifyOptions = {},
): Promise<T> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("malformed");
  let header: { alg?: unknown };
  let payload: Record<string, unknown>;
  let sig: Uint8Array;
  try {
    header = JSON.parse(dec.decode(fromB64url(parts[0])));
    payload = JSON.parse(dec.decode(fromB64url(parts[1])));
    sig = fromB64url(parts[2]);
  } catch {
    throw new JwtError("malformed");
  }
  if (header === null || typeof header !== "object" || payload === null || typeof payload !== "object") {
    throw new JwtError("malformed");
  }
  if (header.alg !== "HS256") throw new JwtError("algorithm");
  const ok = await crypto.subtle.verify(
    "HMAC",
    key,
    sig as Uint8Array<ArrayBuffer>,
    enc.encode(`${parts[0]}.${parts[1]}`),
  );
  if (!ok) throw new JwtError("signature");
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== "number" || payload.exp <= now) throw new JwtError("expired");
  if (options.audience) {
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.some((a) => options.audience!.includes(a as string))) throw new JwtError("audience");
  }
  return payload as T;
}
