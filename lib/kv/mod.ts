/** Chooses the KV adapter from the config: Upstash REST, Redis TCP, or memory. */
import type { Config } from "../config.ts";
import { memoryKv } from "./memory.ts";
import type { Kv } from "./port.ts";
import { redisKv } from "./redis.ts";
import { upstashKv } from "./upstash.ts";

export type { Kv } from "./port.ts";

/** Opens the configured KV store. */
export function openKv(config: Pick<Config, "upstash" | "redisUrl">): Kv {
  if (config.upstash) return upstashKv(config.upstash.url, config.upstash.token);
  if (config.redisUrl) return redisKv(config.redisUrl);
  return memoryKv();
}
