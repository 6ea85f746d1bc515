/**
 * Calendar files: `GET /events/<id>.ics` (one event the caller may see) and the personal feed
 * `GET /calendar/<token>.ics` that calendar apps subscribe to (the token is the credential).
 */
import { Hono } from "hono";
import { eventIcs, feedIcs } from "@/lib/events/calendar.ts";
import { notFound } from "@/lib/errors.ts";
import { baseUrl } from "./events_shared.ts";
import type { AppEnv } from "./env.ts";

const ics = (body: string, filename: string, cache: string) =>
  new Response(body, {
    headers: {
      "content-type": "text/calendar; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": cache,
    },
  });

/** The .ics routes. */
export const calendarRoutes = new Hono<AppEnv>()
  .get("/events/:file{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.ics}", async (c) => {
    const id = c.req.param("file").slice(0, -4);
    const body = await eventIcs(c.var.platform.db, c.var.claims, id, baseUrl(c));
    return ics(body, "event.ics", "private, no-cache");
  })
  .get("/calendar/:file{[A-Za-z0-9_-]+\\.ics}", async (c) => {
    const body = await feedIcs(c.var.platform.db, c.req.param("file").slice(0, -4), baseUrl(c));
    if (body === null) throw notFound("No calendar feed at this address.");
    // Calendar apps poll; the secret URL must not end up in shared caches.
    return ics(body, "plaza.ics", "private, max-age=300");
  });
