/** Values signed with HMAC-SHA256 (for cookies that must not be forged), with an expiry. */
import { b64url, fromB64url } from "./jwt.ts";

const enc = new TextEncoder();

/** Signs `value` (any string) valid for `ttlSeconds`. */
export async function signValue(key: CryptoKey, value: string, ttlSeconds: number): Promise<string> {
  const body = b64url(
    enc.encode(JSON.stringify({ v: value, e: Math.floor(Date.now() / 1000) + ttlSeconds })),
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
  return `${body}.${b64url(sig)}`;
}

/** The signed value, or null when the signature is wrong, the token malformed or expired. */
export async function verifySignedValue(key: CryptoKey, token: string): Promise<string | null> {
  const [body, sig] = token.split(".");
  if (!body || !sig) return null;
  try {
    const ok = await crypto.subtle.verify(
      "HMAC",
      key,
      fromB64url(sig) as Uint8Array<ArrayBuffer>,
      enc.encode(body),
    );
    if (!ok) return null;
    const { v, e } = JSON.parse(new TextDecoder().decode(fromB64url(body)));
    return typeof v === "string" && typeof e === "number" && e > Date.now() / 1000 ? v : null;
  } catch {
    return null;
  }
}
