/**
 * Sliding-window rate limits over the KV port. The window is approximated the way Cloudflare and
 * Upstash do it: the current fixed window's count plus the previous window's count weighted by how
 * much of it still overlaps the sliding window.
 */
import { serviceUnavailable, tooManyRequests } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Kv } from "./port.ts";

/** A limit: at most `limit` hits per `windowSeconds`. */
export interface RateLimitRule {
  /** Appears in keys and the RateLimit-Policy header. */
  name: string;
  limit: number;
  windowSeconds: number;
  /** When the store is unreachable: refuse (auth) or allow (everything else). */
  failClosed?: boolean;
}

/** The state of one key after a check. */
export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until enough of the window has passed to allow another hit. */
  resetSeconds: number;
}

/** Checks and counts hits against rules. */
export interface RateLimiter {
  /** Counts a hit for `key` and says whether it is within the rule. */
  hit(rule: RateLimitRule, key: string): Promise<RateLimitState>;
  /** Says whether a hit would be allowed, without counting one. */
  peek(rule: RateLimitRule, key: string): Promise<RateLimitState>;
  /** Forgets the hits of `key` (after a successful login, say). */
  reset(rule: RateLimitRule, key: string): Promise<void>;
}

/** The RateLimit-Policy / RateLimit headers (IETF draft) for a state. */
export function rateLimitHeaders(rule: RateLimitRule, state: RateLimitState): Record<string, string> {
  return {
    "RateLimit-Policy": `"${rule.name}";q=${rule.limit};w=${rule.windowSeconds}`,
    "RateLimit": `"${rule.name}";r=${state.remaining};t=${state.resetSeconds}`,
  };
}

/** Throws 429 with Retry-After and RateLimit headers when `state` is not allowed. */
export function enforce(rule: RateLimitRule, state: RateLimitState): void {
  if (!state.allowed) throw tooManyRequests(state.resetSeconds, rateLimitHeaders(rule, state));
}

/** Creates a limiter over `kv`. */
export function createRateLimiter(kv: Kv, log: Logger, now: () => number = Date.now): RateLimiter {
  const keys = (rule: RateLimitRule, key: string) => {
    const windowMs = rule.windowSeconds * 1000;
    const t = now();
    const slot = Math.floor(t / windowMs);
    return {
      current: `rl:${rule.name}:${key}:${slot}`,
      previous: `rl:${rule.name}:${key}:${slot - 1}`,
      elapsed: (t % windowMs) / windowMs,
      windowMs,
    };
  };

  const state = (rule: RateLimitRule, prev: number, cur: number, elapsed: number, counted: boolean) => {
    const estimate = prev * (1 - elapsed) + cur;
    const allowed = counted ? estimate <= rule.limit : estimate + 1 <= rule.limit;
    // Time until one more hit would be allowed. Either the previous window slides out far enough
    // within this window, or this window must first become the previous one and decay in turn.
    let resetSeconds = Math.ceil((1 - elapsed) * rule.windowSeconds);
    if (!allowed) {
      const needed = estimate + 1 - rule.limit; // the retry itself counts too
      const wait = prev > 0 && needed <= prev * (1 - elapsed)
        ? needed / prev
        : (1 - elapsed) + Math.max(0, 1 - (rule.limit - 1) / cur);
      resetSeconds = Math.max(1, Math.ceil(wait * rule.windowSeconds));
    }
    return {
      allowed,
      limit: rule.limit,
      remaining: Math.max(0, Math.floor(rule.limit - estimate)),
      resetSeconds: Math.max(1, resetSeconds),
    };
  };

  const guard = async <T>(rule: RateLimitRule, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      log.warn("rate limiter store unreachable", { rule: rule.name, failClosed: !!rule.failClosed, err });
      if (rule.failClosed) throw serviceUnavailable("Sign-in is briefly unavailable. Try again shortly.");
      return fallback;
    }
  };

  const open = (rule: RateLimitRule): RateLimitState => ({
    allowed: true,
    limit: rule.limit,
    remaining: rule.limit,
    resetSeconds: rule.windowSeconds,
  });

  return {
    hit: (rule, key) =>
      guard(rule, async () => {
        const k = keys(rule, key);
        const [cur, prev] = await Promise.all([kv.incr(k.current, k.windowMs * 2), kv.get(k.previous)]);
        return state(rule, Number(prev ?? 0), cur, k.elapsed, true);
      }, open(rule)),
    peek: (rule, key) =>
      guard(rule, async () => {
        const k = keys(rule, key);
        const [cur, prev] = await Promise.all([kv.get(k.current), kv.get(k.previous)]);
        return state(rule, Number(prev ?? 0), Number(cur ?? 0), k.elapsed, false);
      }, open(rule)),
    reset: (rule, key) =>
      guard(rule, async () => {
        const k = keys(rule, key);
        await Promise.all([kv.del(k.current), kv.del(k.previous)]);
      }, undefined),
  };
}
