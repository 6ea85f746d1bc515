/**
 * Rate limits around signup, login and refresh. Login counts every attempt per IP, and failures
 * per account+IP and per account. The per-account limit is what stops a distributed guesser; so
 * that it cannot lock the owner out, a browser that signed in to that account before (a signed
 * "known device" cookie) is exempt from it, and failed attempts only count, never extend, the
 * window: once the attacker stops, the owner is back in within the window. These limiters fail
 * closed: with the store unreachable, sign-in answers 503 rather than allowing unlimited guessing.
 */
import type { RateLimiter, RateLimitRule } from "../kv/rate_limit.ts";
import { enforce } from "../kv/rate_limit.ts";
import { AppError } from "../errors.ts";
import type { AuthProvider, SignedIn } from "./service.ts";

/** The auth rate-limit rules. */
export const authRules = {
  loginPerIp: { name: "login-ip", limit: 30, windowSeconds: 60, failClosed: true },
  loginFailuresPerAccountIp: { name: "login-fail-acct-ip", limit: 5, windowSeconds: 900, failClosed: true },
  loginFailuresPerAccount: { name: "login-fail-acct", limit: 20, windowSeconds: 900, failClosed: true },
  signupPerIp: { name: "signup-ip", limit: 10, windowSeconds: 3600, failClosed: true },
  signupPerAccount: { name: "signup-acct", limit: 5, windowSeconds: 3600, failClosed: true },
  refreshPerIp: { name: "refresh-ip", limit: 120, windowSeconds: 60, failClosed: true },
  refreshPerToken: { name: "refresh-token", limit: 10, windowSeconds: 60, failClosed: true },
} satisfies Record<string, RateLimitRule>;

async function limit(limiter: RateLimiter, rule: RateLimitRule, key: string, count = true) {
  enforce(rule, count ? await limiter.hit(rule, key) : await limiter.peek(rule, key));
}

/** Signup with per-IP and per-email limits. */
export async function guardedSignup(
  auth: AuthProvider,
  limiter: RateLimiter,
  input: { email: string; password: string; name: string; ip: string },
): Promise<SignedIn> {
  const email = input.email.toLowerCase();
  await limit(limiter, authRules.signupPerIp, input.ip);
  await limit(limiter, authRules.signupPerAccount, email);
  return await auth.signup(input);
}

/** Login with the limits described above. `knownDevice`: the browser signed in to this account before. */
export async function guardedLogin(
  auth: AuthProvider,
  limiter: RateLimiter,
  input: { email: string; password: string; ip: string; knownDevice: boolean },
): Promise<SignedIn> {
  const email = input.email.toLowerCase();
  const pair = `${email}|${input.ip}`;
  await limit(limiter, authRules.loginPerIp, input.ip);
  await limit(limiter, authRules.loginFailuresPerAccountIp, pair, false);
  if (!input.knownDevice) await limit(limiter, authRules.loginFailuresPerAccount, email, false);
  try {
    const signedIn = await auth.login(input);
    await limiter.reset(authRules.loginFailuresPerAccountIp, pair);
    return signedIn;
  } catch (err) {
    if (err instanceof AppError && err.code === "invalid_credentials") {
      await limiter.hit(authRules.loginFailuresPerAccountIp, pair);
      await limiter.hit(authRules.loginFailuresPerAccount, email);
    }
    throw err;
  }
}

/** Refresh with per-IP and per-token limits. */
export async function guardedRefresh(
  auth: AuthProvider,
  limiter: RateLimiter,
  input: { refreshToken: string; ip: string },
): Promise<SignedIn> {
  await limit(limiter, authRules.refreshPerIp, input.ip);
  await limit(limiter, authRules.refreshPerToken, input.refreshToken.slice(0, 24));
  return await auth.refresh(input.refreshToken);
}
