/**
 * `/track/:token`: the live view a customer shared with someone (docs/orders.md, Share links). No
 * sign-in; the customer's privacy rules; the island polls `GET /api/v1/track/:token` every 5 s.
 * Expired links get a friendly 410 page, unknown, tampered or revoked ones a 404 page.
 */
import { Hono } from "hono";
import { OrderTracker } from "@/components/islands.ts";
import { AppError } from "@/lib/errors.ts";
import { trackView } from "@/lib/location/track.ts";
import { openShareLink } from "@/lib/orders/share.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { mapSettings } from "../orders_shared.ts";
import { renderPage } from "../render.tsx";

/** `/track/:token`. */
export const trackPage = new Hono<AppEnv>()
  .get("/track/:token", async (c) => {
    const token = c.req.param("token");
    const p = c.var.platform;
    let row;
    try {
      row = await openShareLink(p.db, p.shareKey, token);
    } catch (err) {
      if (err instanceof AppError && (err.status === 410 || err.status === 404)) return linkGone(c, err);
      throw err;
    }
    const track = await trackView(c.var.platform.db, row.order, { customerRules: true });
    const timeline = await c.var.platform.db.query<
      { id: string; kind: string; status: string | null; at: string }
    >(
      `select id::text, kind, status, created_at as at from public.order_events where order_id = $1 order by id`,
      [row.order.id],
    );
    return renderPage(
      c,
      <div class="stack order-page">
        <section class="card order-summary">
          <h1>Delivery to {row.order.dropoff.address}</h1>
          <p class="muted">A live view shared with you. It updates every few seconds.</p>
        </section>
        <OrderTracker
          mode="share"
          token={token}
          order={{
            id: row.order.id,
            status: row.order.status,
            partner: null,
            room_id: null,
            allowed: [],
            timeline: timeline.map((e) => ({
              id: Number(e.id),
              kind: e.kind,
              status: e.status,
              created_at: new Date(e.at).toISOString(),
            })),
          }}
          track={track}
          map={mapSettings(c)}
        />
      </div>,
      { title: "Live delivery" },
    );
  });

/** The friendly page of an expired (410) or unknown (404) share link. */
function linkGone(c: Ctx, err: AppError): Response {
  const expired = err.status === 410;
  return renderPage(
    c,
    <section class="card narrow" data-testid={expired ? "link-expired" : "link-invalid"}>
      <h1>{expired ? "This link has expired" : "This link does not work"}</h1>
      <p>
        {expired
          ? "Live links last a few hours. Ask the person who sent it for a new one."
          : "It may have been mistyped, or the person who shared it turned it off."}
      </p>
      <a href="/">Go to Plaza</a>
    </section>,
    { title: expired ? "Link expired" : "Link not found", status: err.status },
  );
}
