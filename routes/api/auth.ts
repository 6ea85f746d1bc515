/** `/api/v1/auth/*`: signup, login, refresh, logout, password change (JSON). */
import { Hono } from "hono";
import { guardedChangePassword, guardedLogin, guardedRefresh, guardedSignup } from "@/lib/auth/guard.ts";
import {
  changePasswordSchema,
  loginSchema,
  logoutSchema,
  refreshSchema,
  signupSchema,
} from "@/lib/auth/schemas.ts";
import type { SignedIn } from "@/lib/auth/service.ts";
import type { AppEnv, Ctx } from "../env.ts";
import {
  clearSessionCookies,
  clientIp,
  isKnownDevice,
  rememberDevice,
  requireUser,
  sessionTokens,
  setSessionCookies,
} from "../session.ts";
import { readJson } from "../validate.ts";

/** The JSON answer to a sign-in: user and session, plus the cookies for browsers. */
function signedInResponse(c: Ctx, signedIn: SignedIn, status: 200 | 201 = 200) {
  setSessionCookies(c, signedIn.session);
  return c.json(signedIn, status);
}

/** Auth API routes. */
export const authApi = new Hono<AppEnv>()
  // The current access token, for browser code that talks to realtime (cookies are HttpOnly).
  .get("/token", (c) => {
    const claims = requireUser(c);
    c.header("Cache-Control", "no-store");
    return c.json({ access_token: c.var.accessToken, expires_at: claims.exp });
  })
  .post("/signup", async (c) => {
    const input = await readJson(c, signupSchema);
    const { auth, limiter } = c.var.platform;
    const signedIn = await guardedSignup(auth, limiter, { ...input, ip: clientIp(c) });
    await rememberDevice(c, signedIn.user.email);
    return signedInResponse(c, signedIn, 201);
  })
  .post("/login", async (c) => {
    const input = await readJson(c, loginSchema);
    const { auth, limiter } = c.var.platform;
    const signedIn = await guardedLogin(auth, limiter, {
      ...input,
      ip: clientIp(c),
      knownDevice: await isKnownDevice(c, input.email),
    });
    await rememberDevice(c, signedIn.user.email);
    return signedInResponse(c, signedIn);
  })
  .post("/refresh", async (c) => {
    const { refresh_token } = await readJson(c, refreshSchema);
    const { auth, limiter } = c.var.platform;
    return signedInResponse(
      c,
      await guardedRefresh(auth, limiter, { refreshToken: refresh_token, ip: clientIp(c) }),
    );
  })
  .post("/logout", async (c) => {
    // The body is optional: cookie sessions are identified by their cookie.
    const hasBody = c.req.header("content-type") !== undefined ||
      Number(c.req.header("content-length") ?? 0) > 0;
    const input: { refresh_token?: string } = hasBody ? await readJson(c, logoutSchema) : {};
    const tokens = sessionTokens(c);
    await c.var.platform.auth.logout({ ...tokens, refreshToken: input.refresh_token ?? tokens.refreshToken });
    clearSessionCookies(c);
    return c.body(null, 204);
  })
  .post("/password", async (c) => {
    const claims = requireUser(c);
    const input = await readJson(c, changePasswordSchema);
    const email = claims.email ?? "";
    const { auth, limiter } = c.var.platform;
    const signedIn = await guardedChangePassword(auth, limiter, {
      user: { id: claims.sub, email },
      current: input.current_password,
      next: input.new_password,
      ip: clientIp(c),
      knownDevice: await isKnownDevice(c, email),
    });
    return signedInResponse(c, signedIn);
  });
