/**
 * Share links for a third party (docs/orders.md): `<order id>.<expiry>.<version>.<signature>`, signed
 * with a key used only for share links. Revoking bumps the order's share version.
 */
import { b64url } from "../auth/jwt.ts";
import { timingSafeEqual } from "../auth/password.ts";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import { AppError, conflict, forbidden, notFound } from "../errors.ts";
import { isAdmin, type TrackedOrder, trackedOrder } from "./orders.ts";

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
  // Compare the canonical encodings: base64url's last character carries two unused bits, so
  // comparing decoded bytes would accept four spellings of one signature.
  return timingSafeEqual(enc.encode(b64url(expected)), enc.encode(sigText))
    ? { orderId, exp, version }
    : null;
}

/** A new share link. */
export interface ShareLink {
  url: string;
  token: string;
  expires_at: string;
}

/** Creates a link for the order's customer or an admin; 404, 403, or 409 for a finished order. */
export async function createShareLink(
  db: Db,
  key: CryptoKey,
  claims: Claims,
  orderId: string,
  ttlMinutes: number,
  now = Date.now(),
): Promise<ShareLink> {
  const row = await asUser(db, claims, async (tx) => {
    const r = await trackedOrder(tx, orderId);
    if (!r) throw notFound("No such order.");
    if (r.customerId !== claims.sub && !await isAdmin(tx)) {
      throw forbidden("Only the customer or an admin shares an order.");
    }
    return r;
  });
  if (row.order.status === "delivered" || row.order.status === "cancelled") {
    throw conflict("This order is finished; there is nothing left to follow.", "order_finished");
  }
  const exp = Math.floor(now / 1000) + ttlMinutes * 60;
  const token = await signShare(key, orderId, exp, row.shareVersion);
  return { url: `/track/${token}`, token, expires_at: new Date(exp * 1000).toISOString() };
}

/** The order behind a link: 404 when unknown, tampered or revoked, 410 when expired. */
export async function openShareLink(
  db: Db,
  key: CryptoKey,
  token: string,
  now = Date.now(),
): Promise<TrackedOrder> {
  const claims = token.length <= 200 ? await verifyShare(key, token) : null;
  if (!claims) throw notFound("This link is not valid.");
  const row = await trackedOrder(db, claims.orderId);
  if (!row || row.shareVersion !== claims.version) throw notFound("This link is not valid.");
  if (claims.exp * 1000 <= now) {
    throw new AppError(410, "link_expired", "This link has expired. Ask for a new one.");
  }
  return row;
}

/** Revokes every link of an order (its customer or an admin; 404 otherwise). */
export async function revokeShareLinks(db: Db, claims: Claims, orderId: string): Promise<void> {
  await asUser(db, claims, (tx) => tx.query("select public.order_revoke_shares($1)", [orderId]));
}
