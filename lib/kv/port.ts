/** The KV port: cache, rate-limit counters and dedup keys. In memory, Redis (TCP) or Upstash (REST). */

/** A small key-value store with expiries. */
export interface Kv {
  readonly kind: "memory" | "redis" | "upstash";
  get(key: string): Promise<string | null>;
  /** Sets `key`; with `nx` only when absent (returns false then). */
  set(key: string, value: string, options?: { ttlMs?: number; nx?: boolean }): Promise<boolean>;
  /** Increments `key` by one; a new key gets the expiry `ttlMs`. Returns the new value. */
  incr(key: string, ttlMs: number): Promise<number>;
  del(key: string): Promise<void>;
  /** Round-trips to the store; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Lua for an atomic INCR that sets the expiry on a new key (Redis and Upstash). */
export const INCR_WITH_TTL =
  "local v = redis.call('INCR', KEYS[1]) if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return v";
