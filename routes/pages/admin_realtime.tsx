/** `/admin/realtime` and `GET /api/v1/admin/realtime`: live figures of the realtime server. */
import { Hono } from "hono";
import { RealtimeStats } from "@/components/islands.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";

/** Admin realtime page and its data endpoint. */
export const adminRealtimePage = new Hono<AppEnv>()
  .get("/admin/realtime", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent("/admin/realtime")}`, 303);
    await requireAdmin(c);
    const stats = c.var.platform.realtime.stats();
    return renderPage(
      c,
      <section class="card">
        <h1>Realtime</h1>
        <p class="muted">This process ({stats.node.slice(0, 8)}), refreshed every 2 seconds.</p>
        <RealtimeStats initial={{ ...stats }} />
      </section>,
      { title: "Realtime" },
    );
  })
  .get("/api/v1/admin/realtime", async (c) => {
    await requireAdmin(c);
    c.header("Cache-Control", "no-store");
    return c.json({ stats: c.var.platform.realtime.stats() });
  });
