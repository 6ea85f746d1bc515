/**
 * Security headers on every response: a CSP with a fresh nonce, nosniff, referrer policy, frame
 * denial, and HSTS when Plaza is not served from localhost.
 */
import type { MiddlewareHandler } from "hono";
import { b64url } from "@/lib/auth/jwt.ts";
import type { AppEnv } from "../env.ts";

/** Options for {@link securityHeaders}. */
export interface SecurityHeadersOptions {
  /** Send HSTS (true when the public URL is https and not localhost). */
  hsts: boolean;
  /** Extra origins allowed for connect-src (realtime endpoints of the cloud deployment). */
  connectSrc?: string[];
}

/** True for localhost and loopback hosts. */
export function isLocalHost(hostname: string): boolean {
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" ||
    hostname.startsWith("127.");
}

/** Security headers middleware. */
export function securityHeaders(options: SecurityHeadersOptions): MiddlewareHandler<AppEnv> {
  const connect = ["'self'", ...(options.connectSrc ?? [])].join(" ");
  return async function securityHeaders(c, next) {
    const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
    c.set("nonce", nonce);
    await next();
    const h = c.res.headers;
    // A response that brings its own policy (served files: `default-src 'none'; sandbox`) keeps it.
    if (!h.has("Content-Security-Policy")) {
      h.set(
        "Content-Security-Policy",
        [
          "default-src 'self'",
          `script-src 'nonce-${nonce}' 'strict-dynamic'`,
          "style-src 'self'",
          "img-src 'self' https: data: blob:",
          `connect-src ${connect} ws: wss:`,
          "object-src 'none'",
          "base-uri 'none'",
          "frame-ancestors 'none'",
          "form-action 'self'",
        ].join("; "),
      );
    }
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "strict-origin-when-cross-origin");
    h.set("X-Frame-Options", "DENY");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()");
    if (options.hsts) h.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
  };
}
