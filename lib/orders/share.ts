/**
 * Share links for a third party (docs/orders.md): `<order id>.<expiry>.<version>.<signature>`, signed
 * with a key used only for share links. Revoking bumps the order's share version.
 */
import { b64url, fromB64url } from "../auth/jwt.ts";
import { timingSafeEqual } from "../auth/password.ts";

const enc = new TextEncoder();
const message = (orderId: string, exp: number, version: number) =>
  enc.encode(`order-share:${orderId}:${exp}:${version}`);

/** Signs a link token. */
export async function signShare(
  key: CryptoKey,
  orderId: string,
  exp: number,
  version: number,
): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, message(orderId, exp, version)));
  return `${orderId}.${exp}.${version}.${b64url(sig)}`;
}

/** What a token says, once its signature is checked (expiry and version are the caller's to check). */
export interface ShareClaims {
  orderId: string;
  exp: number;
  version: number;
}

/** Checks a token's form and signature; null when it is not one of ours. */
export async function verifyShare(key: CryptoKey, token: string): Promise<ShareClaims | null> {
  const m = /^([0-9a-f-]{36})\.([0-9]{1,12})\.([0-9]{1,9})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const [, orderId, expText, versionText, sigText] = m;
  const exp = Number(expText);
  const version = Number(versionText);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, message(orderId, exp, version)));
  let given: Uint8Array;
  try {
    given = fromB64url(sigText);
  } catch {
    return null;
  }
  return timingSafeEqual(expected, given) ? { orderId, exp, version } : null;
}
