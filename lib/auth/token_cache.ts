/**
 * Remembers verified access tokens until they expire, so a busy browser session does not pay an
 * HMAC check on every request. Bounded: the oldest entries are evicted first.
 */
import type { AccessClaims } from "./jwt.ts";

/** A verified-token cache. */
export interface TokenCache {
  get(token: string): AccessClaims | undefined;
  set(token: string, claims: AccessClaims): void;
}

/** Creates a cache of at most `max` tokens. */
export function createTokenCache(max = 10_000, now: () => number = Date.now): TokenCache {
  const entries = new Map<string, AccessClaims>();
  return {
    get(token) {
      const claims = entries.get(token);
      if (!claims) return undefined;
      if (claims.exp * 1000 <= now()) {
        entries.delete(token);
        return undefined;
      }
      return claims;
    },
    set(token, claims) {
      if (entries.size >= max) entries.delete(entries.keys().next().value!);
      entries.set(token, claims);
    },
  };
}
