/**
 * Media URLs: `/media/<id>/<variant>`, signed with an expiry for private media. The expiry is
 * rounded up to whole TTL periods, so a page rendered twice in one period links to the same URL and
 * the browser's cache serves it; every signed URL is valid for at least one TTL and at most two.
 */
import { b64url, fromB64url } from "../auth/jwt.ts";

/** Variants an image has; PDFs and videos have only their original. */
export const IMAGE_VARIANTS = ["thumb", "medium", "full"] as const;
/** Every variant name a URL may carry. */
export const VARIANT_NAMES = [...IMAGE_VARIANTS, "original"] as const;
export type VariantKey = typeof VARIANT_NAMES[number];

const enc = new TextEncoder();
const message = (id: string, variant: string, exp: number) => enc.encode(`media:${id}:${variant}:${exp}`);

/** The expiry (unix seconds) a URL signed at `nowMs` gets. */
export function expiryFor(ttlSeconds: number, nowMs = Date.now()): number {
  return (Math.floor(nowMs / 1000 / ttlSeconds) + 2) * ttlSeconds;
}

/** A signed, expiring path for one variant. */
export async function signedPath(
  key: CryptoKey,
  id: string,
  variant: VariantKey,
  exp: number,
): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, message(id, variant, exp)));
  return `/media/${id}/${variant}?exp=${exp}&sig=${b64url(sig)}`;
}

/** Paths for every variant of an item: signed when `exp` is given, plain for public media. */
export async function mediaPaths(
  key: CryptoKey,
  item: { id: string; kind: string },
  exp: number | null,
): Promise<Partial<Record<VariantKey, string>>> {
  const names: readonly VariantKey[] = item.kind === "image" ? IMAGE_VARIANTS : ["original"];
  const out: Partial<Record<VariantKey, string>> = {};
  for (const name of names) {
    out[name] = exp === null ? `/media/${item.id}/${name}` : await signedPath(key, item.id, name, exp);
  }
  return out;
}

/** What a signature says: valid, expired, or not ours. */
export type SignatureCheck = "valid" | "expired" | "invalid";

/** Checks `exp` and `sig` of a request for `id`/`variant` (the comparison is constant-time). */
export async function checkSignature(
  key: CryptoKey,
  id: string,
  variant: string,
  exp: string,
  sig: string,
  nowMs = Date.now(),
): Promise<SignatureCheck> {
  if (!/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return "invalid";
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(fromB64url(sig));
  } catch {
    return "invalid";
  }
  // Only the canonical spelling: the last base64url character has two unused bits.
  if (b64url(bytes) !== sig) return "invalid";
  const ok = await crypto.subtle.verify("HMAC", key, bytes, message(id, variant, Number(exp)));
  if (!ok) return "invalid";
  return Number(exp) * 1000 > nowMs ? "valid" : "expired";
}
