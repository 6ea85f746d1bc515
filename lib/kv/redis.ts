/** KV adapter for a Redis server over TCP (`REDIS_URL`). */
import { INCR_WITH_TTL, type Kv } from "./port.ts";
import { RespClient } from "./resp.ts";

/** Creates a {@link Kv} on the Redis at `url`; keys are prefixed with `prefix`. */
export function redisKv(url: string, prefix = "plaza:"): Kv {
  const client = new RespClient(url);
  return {
    kind: "redis",
    get: async (key) => (await client.command("GET", prefix + key)) as string | null,
    async set(key, value, options = {}) {
      const args: (string | number)[] = ["SET", prefix + key, value];
      if (options.ttlMs) args.push("PX", Math.max(1, Math.round(options.ttlMs)));
      if (options.nx) args.push("NX");
      return (await client.command(...args)) === "OK";
    },
    incr: async (key, ttlMs) =>
      Number(await client.command("EVAL", INCR_WITH_TTL, 1, prefix + key, Math.max(1, Math.round(ttlMs)))),
    async del(key) {
      await client.command("DEL", prefix + key);
    },
    async ping() {
      await client.command("PING");
    },
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}
