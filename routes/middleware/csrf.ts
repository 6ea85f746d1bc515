/**
 * CSRF protection for cookie sessions: a state-changing request (anything but GET, HEAD, OPTIONS)
 * is refused with 403 when the browser says it comes from another site (`Sec-Fetch-Site`), or its
 * `Origin` is not Plaza's. A request that carries Plaza's cookies but neither header is refused
 * too: every browser Plaza supports sends them. Bearer-token clients without cookies are not
 * affected: a cross-site page cannot make the browser attach a bearer token.
 */
import type { MiddlewareHandler } from "hono";
import { forbidden } from "@/lib/errors.ts";
import type { AppEnv } from "../env.ts";

const safe = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Options: the public origin (from PUBLIC_URL); else the request's own origin, taken from
 * X-Forwarded-Proto / X-Forwarded-Host when `trustProxy` (a TLS-terminating proxy in front).
 */
export interface CsrfOptions {
  publicOrigin?: string;
  trustProxy?: boolean;
  /** Paths (prefixes) exempt from the check: webhooks signed by their providers. */
  exempt?: string[];
  /** Names of cookies that make a request a cookie session. */
  sessionCookies: string[];
}

/** The origin the browser used to reach Plaza. */
export function requestOrigin(req: Request, trustProxy: boolean): string {
  const url = new URL(req.url);
  if (!trustProxy) return url.origin;
  const proto = req.headers.get("x-forwarded-proto")?.split(",")[0].trim();
  const host = req.headers.get("x-forwarded-host")?.split(",")[0].trim();
  return `${proto === "https" || proto === "http" ? proto : url.protocol.slice(0, -1)}://${host || url.host}`;
}

/** CSRF middleware. */
export function csrf(options: CsrfOptions): MiddlewareHandler<AppEnv> {
  return async function csrf(c, next) {
    if (safe.has(c.req.method) || options.exempt?.some((p) => c.req.path.startsWith(p))) return await next();
    const expected = options.publicOrigin ?? requestOrigin(c.req.raw, !!options.trustProxy);
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    if (site && site !== "same-origin" && site !== "none") {
      throw forbidden("Cross-site requests are not allowed.", "csrf_failed");
    }
    if (origin !== undefined && origin !== expected) {
      throw forbidden("Cross-site requests are not allowed.", "csrf_failed");
    }
    if (!site && origin === undefined) {
      const cookie = c.req.header("cookie") ?? "";
      if (options.sessionCookies.some((n) => cookie.includes(`${n}=`))) {
        throw forbidden("The request must include an Origin header.", "csrf_failed");
      }
    }
    await next();
  };
}
