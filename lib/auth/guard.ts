/**
 * Rate limits around signup, login, refresh and password change. Every login counts per IP;
 * password attempts count per account+IP (reset by a success) and per account, before the password
 * is checked. The per-account limit is what stops a distributed guesser; so that it cannot lock
 * the owner out, a browser that signed in to that account before (a signed "known device" cookie)
 * is exempt from it, and the window slides: once the attacker stops, the owner is back in within
 * 15 minutes. These limiters fail closed: with the store unreachable, sign-in answers 503 rather
 * than allowing unlimited guessing.
 */
import type { RateLimiter, RateLimitRule } from "../kv/rate_limit.ts";
import { enforce } from "../kv/rate_limit.ts";
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

/**
 * The rate-limit bucket of an address: IPv4 as is, IPv6 by its /64 prefix (one subscriber usually
 * holds a whole /64, so single addresses would be free to rotate).
 */
export function ipBucket(ip: string): string {
  if (!ip.includes(":")) return ip;
  const [head, tail = ""] = ip.replace(/^\[|\]$/g, "").split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")).join(":") + "::/64";
}

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
  await limit(limiter, authRules.signupPerIp, ipBucket(input.ip));
  await limit(limiter, authRules.signupPerAccount, email);
  return await auth.signup(input);
}

/**
 * Counts a password attempt against the account+IP and (for unknown browsers) the account limits
 * before the password is checked, so parallel guesses cannot all slip past a check-then-count.
 * Returns the key to reset after a success.
 */
async function countPasswordAttempt(
  limiter: RateLimiter,
  input: { email: string; ip: string; knownDevice: boolean },
): Promise<string> {
  const email = input.email.trim().toLowerCase();
  const pair = `${email}|${ipBucket(input.ip)}`;
  await limit(limiter, authRules.loginFailuresPerAccountIp, pair);
  if (!input.knownDevice) await limit(limiter, authRules.loginFailuresPerAccount, email);
  return pair;
}

/** Login with the limits described above. `knownDevice`: the browser signed in to this account before. */
export async function guardedLogin(
  auth: AuthProvider,
  limiter: RateLimiter,
  input: { email: string; password: string; ip: string; knownDevice: boolean },
): Promise<SignedIn> {
  await limit(limiter, authRules.loginPerIp, ipBucket(input.ip));
  const pair = await countPasswordAttempt(limiter, input);
  const signedIn = await auth.login(input);
  await limiter.reset(authRules.loginFailuresPerAccountIp, pair);
  return signedIn;
}

/** Password change under the same per-account limits as login: a stolen token cannot guess on. */
export async function guardedChangePassword(
  auth: AuthProvider,
  limiter: RateLimiter,
  input: {
    user: { id: string; email: string };
    current: string;
    next: string;
    ip: string;
    knownDevice: boolean;
  },
): Promise<SignedIn> {
  const pair = await countPasswordAttempt(limiter, {
    email: input.user.email,
    ip: input.ip,
    knownDevice: input.knownDevice,
  });
  const signedIn = await auth.changePassword(input.user, input.current, input.next);
  await limiter.reset(authRules.loginFailuresPerAccountIp, pair);
  return signedIn;
}

/** Refresh with per-IP and per-token limits. */
export async function guardedRefresh(
  auth: AuthProvider,
  limiter: RateLimiter,
  input: { refreshToken: string; ip: string },
): Promise<SignedIn> {
  await limit(limiter, authRules.refreshPerIp, ipBucket(input.ip));
  await limit(limiter, authRules.refreshPerToken, input.refreshToken.slice(0, 24));
  return await auth.refresh(input.refreshToken);
}
