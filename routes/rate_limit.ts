/** Per-caller rate limits in handlers: counts a hit and throws 429 (with Retry-After) when over. */
import { enforce, type RateLimitRule } from "@/lib/kv/rate_limit.ts";
import type { Ctx } from "./env.ts";

/** Counts one hit of `rule` for `key` (usually the user id); 429 when the limit is reached. */
export async function rateLimit(c: Ctx, rule: RateLimitRule, key: string): Promise<void> {
  enforce(rule, await c.var.platform.limiter.hit(rule, key));
}
