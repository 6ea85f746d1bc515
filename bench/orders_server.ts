/**
 * Plaza's app served on 127.0.0.1:$PORT for the orders benchmark (bench/orders.ts), configured
 * from the environment like main.ts, without the job runner (nothing of the run needs a job). Two
 * differences from main.ts, both for the bench:
 *
 * - The `order-locations` rate limit is counted as usual (the KV round trip stays on the request
 *   path) but never refuses: the budget's load is 4 requests a second per partner, twice the
 *   120-a-minute limit. Set ORDERS_BENCH_ENFORCE_LIMIT=1 to keep it.
 * - `GET /__bench/orders` answers with the ingest buffer's totals (statements, fixes) and this
 *   process's memory and CPU time, so the bench can sample them.
 *
 * Stops on SIGTERM/SIGINT.
 */
import { loadConfig } from "@/lib/config.ts";
import { createPlatform } from "@/lib/platform.ts";
import { createApp } from "@/routes/app.ts";
import { orderRules } from "@/routes/api/orders.ts";

const config = loadConfig();
const platform = await createPlatform(config);
if (Deno.env.get("ORDERS_BENCH_ENFORCE_LIMIT") !== "1") {
  const limiter = platform.limiter;
  platform.limiter = {
    ...limiter,
    hit: async (rule, key) => {
      const state = await limiter.hit(rule, key);
      return rule.name === orderRules.locations.name ? { ...state, allowed: true } : state;
    },
    peek: (rule, key) => limiter.peek(rule, key),
    reset: (rule, key) => limiter.reset(rule, key),
  };
}
const app = await createApp(platform);

function cpuSeconds(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

const server = Deno.serve({ hostname: "127.0.0.1", port: config.port, onListen() {} }, (req, info) => {
  if (new URL(req.url).pathname === "/__bench/orders") {
    const m = Deno.memoryUsage();
    return Response.json({
      ingest: platform.locations.stats,
      rssMb: m.rss / 2 ** 20,
      heapMb: m.heapUsed / 2 ** 20,
      cpuSeconds: cpuSeconds(),
      realtime: platform.realtime.stats(),
    });
  }
  return app.fetch(req, info);
});
const stop = async () => {
  await server.shutdown();
  await platform.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
await server.finished;
