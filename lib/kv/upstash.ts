/** KV adapter for Upstash Redis over its REST API (`UPSTASH_REDIS_REST_URL` / `_TOKEN`). */
import { Redis } from "@upstash/redis";
import { INCR_WITH_TTL, type Kv } from "./port.ts";

/** Creates a {@link Kv} on Upstash; keys are prefixed with `prefix`. */
export function upstashKv(url: string, token: string, prefix = "plaza:"): Kv {
  const redis = new Redis({ url, token, automaticDeserialization: false, retry: { retries: 1 } });
  return {
    kind: "upstash",
    get: async (key) => (await redis.get<string>(prefix + key)) ?? null,
    async set(key, value, options = {}) {
      const ttl = options.ttlMs ? { px: Math.max(1, Math.round(options.ttlMs)) } : {};
      const result = options.nx
        ? await redis.set(prefix + key, value, { ...ttl, nx: true } as { px: number; nx: true })
        : await redis.set(prefix + key, value, ttl as { px: number });
      return result === "OK";
    },
    incr: async (key, ttlMs) =>
      Number(await redis.eval(INCR_WITH_TTL, [prefix + key], [String(Math.max(1, Math.round(ttlMs)))])),
    async del(key) {
      await redis.del(prefix + key);
    },
    async ping() {
      await redis.ping();
    },
    close: () => Promise.resolve(),
  };
}
