/**
 * Counts server-rendered page views (docs/analytics.md): a GET that answered 200 with HTML, outside
 * the API, assets and machine endpoints. No cookie is read or set for it; the recorder hashes the IP
 * and User-Agent with the day's salt and drops bots. Recording never delays or fails the response.
 */
import type { MiddlewareHandler } from "hono";
import type { PageViews } from "@/lib/analytics/pageviews.ts";
import type { AppEnv } from "../env.ts";
import { clientIp } from "../session.ts";

const SKIP = /^\/(api|_islands|static|media|realtime|functions|workers|webhooks|health)(\/|$)/;

/** The page-view middleware. */
export function pageViews(recorder: PageViews): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.req.method !== "GET" || c.res.status !== 200 || SKIP.test(c.req.path)) return;
    if (!c.res.headers.get("content-type")?.startsWith("text/html")) return;
    // A prefetch or prerender is not a view.
    const purpose = c.req.header("sec-purpose") ?? c.req.header("purpose") ?? "";
    if (/prefetch|prerender/i.test(purpose)) return;
    void recorder.record({
      path: c.req.path,
      ip: clientIp(c),
      userAgent: c.req.header("user-agent") ?? "",
      referrer: c.req.header("referer") ?? null,
      host: new URL(c.req.url).host,
    });
  };
}
