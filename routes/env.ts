/** Hono's typed context for Plaza: the variables every middleware and handler can read. */
import type { Context } from "hono";
import type { AccessClaims } from "@/lib/auth/jwt.ts";
import type { Logger } from "@/lib/log.ts";
import type { Platform } from "@/lib/platform.ts";
import type { Assets } from "./render.tsx";

/** How the caller authenticated, if at all. */
export type AuthVia = "bearer" | "cookie" | null;

/** Context variables set by Plaza's middleware. */
export interface AppEnv {
  Variables: {
    platform: Platform;
    requestId: string;
    log: Logger;
    /** Per-response CSP nonce for inline and module scripts. */
    nonce: string;
    /** Verified access-token claims of the caller, or null for anonymous requests. */
    claims: AccessClaims | null;
    authVia: AuthVia;
    /** The caller's access token (bearer, cookie, or the one this request's refresh issued). */
    accessToken: string | undefined;
    /** The refresh token valid after this request (rotated by the session middleware if it refreshed). */
    refreshToken: string | undefined;
    /** Stylesheet, icon and island bundle URLs. */
    assets: Assets;
  };
}

/** A Plaza request context. */
export type Ctx = Context<AppEnv>;
