/**
 * Sessions: who the caller is. Bearer tokens for API clients; for browsers, HttpOnly cookies holding
 * the access token and the refresh token. An expired access cookie is refreshed transparently.
 */
import type { MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AccessClaims } from "@/lib/auth/jwt.ts";
import { REFRESH_TTL_SECONDS, type Role, type Session } from "@/lib/auth/service.ts";
import { signValue, verifySignedValue } from "@/lib/auth/signed_value.ts";
import { asUser } from "@/lib/db/as_user.ts";
import { AppError, forbidden, unauthorized } from "@/lib/errors.ts";
import type { AppEnv, Ctx } from "./env.ts";
import { isLocalHost } from "./middleware/security_headers.ts";

/** Cookie names. */
export const ACCESS_COOKIE = "plaza_at";
export const REFRESH_COOKIE = "plaza_rt";

function secureCookies(c: Ctx): boolean {
  const url = new URL(c.var.platform.config.publicUrl ?? c.req.url);
  return url.protocol === "https:" || !isLocalHost(url.hostname);
}

/** Stores a session in the browser's cookies. */
export function setSessionCookies(c: Ctx, session: Session): void {
  const opts = {
    httpOnly: true,
    secure: secureCookies(c),
    sameSite: "Lax" as const,
    path: "/",
    maxAge: REFRESH_TTL_SECONDS,
  };
  setCookie(c, ACCESS_COOKIE, session.access_token, opts);
  setCookie(c, REFRESH_COOKIE, session.refresh_token, opts);
}

/** Removes the session cookies. */
export function clearSessionCookies(c: Ctx): void {
  const opts = { path: "/", secure: secureCookies(c) };
  deleteCookie(c, ACCESS_COOKIE, opts);
  deleteCookie(c, REFRESH_COOKIE, opts);
}

/** The caller's raw tokens: bearer header or cookies (for logout). */
export function sessionTokens(c: Ctx): { accessToken?: string; refreshToken?: string } {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  return { accessToken: bearer ?? getCookie(c, ACCESS_COOKIE), refreshToken: getCookie(c, REFRESH_COOKIE) };
}

/** Sets `claims` and `authVia` from the Authorization header or the session cookies. */
export function session(): MiddlewareHandler<AppEnv> {
  return async function session(c, next) {
    const { auth } = c.var.platform;
    c.set("claims", null);
    c.set("authVia", null);
    c.set("refreshToken", undefined);
    c.set("accessToken", undefined);
    // Realtime's REST API authenticates with API keys and tokens of its own (routes/realtime.ts).
    if (c.req.path.startsWith("/realtime/")) return await next();
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_token");
      c.set("claims", await auth.verifyAccessToken(match[1]));
      c.set("authVia", "bearer");
      c.set("accessToken", match[1]);
      return await next();
    }
    const access = getCookie(c, ACCESS_COOKIE);
    const refresh = getCookie(c, REFRESH_COOKIE);
    c.set("refreshToken", refresh);
    if (access || refresh) {
      let claims: AccessClaims | null = null;
      let token = access;
      if (access) claims = await auth.verifyAccessToken(access).catch(() => null);
      if (!claims && refresh) {
        try {
          const signedIn = await auth.refresh(refresh);
          setSessionCookies(c, signedIn.session);
          c.set("refreshToken", signedIn.session.refresh_token);
          token = signedIn.session.access_token;
          claims = await auth.verifyAccessToken(token);
        } catch (err) {
          if (!(err instanceof AppError) || err.status !== 401) throw err;
          if (err.code !== "refresh_token_already_used") clearSessionCookies(c);
        }
      }
      if (claims) {
        c.set("claims", claims);
        c.set("authVia", "cookie");
        c.set("accessToken", token);
      }
    }
    await next();
  };
}

/** The caller's claims; 401 when anonymous. */
export function requireUser(c: Ctx): AccessClaims {
  const claims = c.var.claims;
  if (!claims) throw unauthorized();
  return claims;
}

/** The caller's role from `app_metadata.role`. */
export function roleOf(claims: AccessClaims | null): Role | null {
  if (!claims) return null;
  const r = claims.app_metadata?.role;
  return r === "admin" || r === "partner" ? r : "member";
}

/** The caller's claims when they have `role`; 401 when anonymous, 403 otherwise. */
export function requireRole(c: Ctx, role: Role): AccessClaims {
  const claims = requireUser(c);
  if (roleOf(claims) !== role) throw forbidden(`Only ${role}s may do that.`);
  return claims;
}

/**
 * The client's IP address: from the socket, or behind a trusted proxy the last X-Forwarded-For
 * entry (the one that proxy appended; entries to its left are whatever the client sent).
 */
export function clientIp(c: Ctx): string {
  if (c.var.platform.config.trustProxy) {
    const fwd = c.req.header("x-forwarded-for")?.split(",").map((s) => s.trim()).filter(Boolean).at(-1);
    if (fwd) return fwd;
  }
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}

/** Cookie that marks a browser that signed in to an account before (see lib/auth/guard.ts). */
export const DEVICE_COOKIE = "plaza_device";
const DEVICE_TTL_SECONDS = 365 * 24 * 3600;

/** True when this browser's signed device cookie names `email`. */
export async function isKnownDevice(c: Ctx, email: string): Promise<boolean> {
  const token = getCookie(c, DEVICE_COOKIE);
  if (!token) return false;
  return (await verifySignedValue(c.var.platform.signingKey, token)) === email.trim().toLowerCase();
}

/** Marks this browser as known for `email`. */
export async function rememberDevice(c: Ctx, email: string): Promise<void> {
  const token = await signValue(c.var.platform.signingKey, email.trim().toLowerCase(), DEVICE_TTL_SECONDS);
  setCookie(c, DEVICE_COOKIE, token, {
    httpOnly: true,
    secure: secureCookies(c),
    sameSite: "Lax",
    path: "/",
    maxAge: DEVICE_TTL_SECONDS,
  });
}

/**
 * For cookie sessions: rotates the session so the access token carries what just changed (the
 * profile name, say). Bearer clients refresh on their own; for them this does nothing.
 */
export async function renewCookieSession(c: Ctx): Promise<void> {
  const refresh = c.var.refreshToken;
  if (c.var.authVia !== "cookie" || !refresh) return;
  const { auth } = c.var.platform;
  const signedIn = await auth.refresh(refresh);
  setSessionCookies(c, signedIn.session);
  c.set("refreshToken", signedIn.session.refresh_token);
  c.set("accessToken", signedIn.session.access_token);
  c.set("claims", await auth.verifyAccessToken(signedIn.session.access_token));
}

/**
 * The caller's claims when they are an admin right now: the JWT says so and so does the database
 * (a demoted admin's token stays valid for up to an hour). 401 when anonymous, 403 otherwise.
 */
export async function requireAdmin(c: Ctx): Promise<AccessClaims> {
  const claims = requireRole(c, "admin");
  const [row] = await asUser(
    c.var.platform.db,
    claims,
    (tx) => tx.query<{ ok: boolean }>("select public.is_admin() as ok"),
  );
  if (!row?.ok) throw forbidden("Only admins may do that.");
  return claims;
}
