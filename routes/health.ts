/** `GET /health`: database and KV reachability; 503 when the database is down. */
import { Hono } from "hono";
import { VERSION } from "@/lib/version.ts";
import type { AppEnv } from "./env.ts";

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<"ok" | "down"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), timeoutMs))),
    ]);
    return "ok";
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

/** Health route. */
export const health = new Hono<AppEnv>().get("/", async (c) => {
  const { db, kv } = c.var.platform;
  const [dbState, kvState] = await Promise.all([probe(() => db.query("select 1")), probe(() => kv.ping())]);
  const status = dbState === "ok" ? (kvState === "ok" ? "ok" : "degraded") : "down";
  c.header("Cache-Control", "no-store");
  return c.json({ status, db: dbState, kv: kvState, version: VERSION }, dbState === "ok" ? 200 : 503);
});
