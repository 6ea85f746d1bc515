/**
 * `/partner` (docs/orders.md, "Pages"): the partner's assigned open orders in the PartnerConsole
 * island (steps, location sharing). Partners and admins may open it; members get 403.
 *
 * Without JavaScript each step button is a form posting to `POST /partner/orders/:id/status`
 * (303 back to `/partner`).
 */
import { Hono } from "hono";
import { z } from "zod";
import { PartnerConsole } from "@/components/islands.ts";
import { forbidden } from "@/lib/errors.ts";
import { listOrders, setStatus } from "@/lib/orders/orders.ts";
import { type OrderStatus, STATUSES } from "@/lib/orders/state.ts";
import { orderRules } from "../api/orders.ts";
import { signInRedirect } from "../events_shared.ts";
import { afterOrderChange } from "../orders_shared.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { clientConfig } from "../realtime.ts";
import { layoutUser, renderPage } from "../render.tsx";
import { requireUser, roleOf } from "../session.ts";
import { readForm, uuidParam } from "../validate.ts";

const statusForm = z.object({
  status: z.enum(STATUSES.filter((s) => s !== "requested" && s !== "assigned")),
});

/** The caller's claims when they are a partner or an admin; 403 otherwise. */
function requirePartner(c: Ctx) {
  const claims = requireUser(c);
  const role = roleOf(claims);
  if (role !== "partner" && role !== "admin") throw forbidden("Only delivery partners have this page.");
  return claims;
}

/** The partner page. */
export const partnerPage = new Hono<AppEnv>()
  .get("/partner", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requirePartner(c);
    const { orders } = await listOrders(c.var.platform.db, claims, {
      scope: "assigned",
      status: "open",
      limit: 100,
    });
    const user = layoutUser(c)!;
    return renderPage(
      c,
      <div class="stack partner-page">
        <div>
          <h1>Deliveries</h1>
          <p class="muted">
            Your open orders. Share your location while you deliver so the customer can follow you.
          </p>
        </div>
        <noscript>
          <p class="card">The step buttons work without JavaScript; sharing your location needs it.</p>
        </noscript>
        <PartnerConsole
          {...clientConfig(c, c.var.platform)}
          orders={orders}
          me={{ id: claims.sub, name: user.name }}
        />
      </div>,
      { title: "Deliveries" },
    );
  })
  .post("/partner/orders/:id/status", async (c) => {
    if (!c.var.claims) return c.redirect("/login?next=%2Fpartner", 303);
    const claims = requirePartner(c);
    const id = uuidParam(c, "id", "No such order.");
    await rateLimit(c, orderRules.write, claims.sub);
    const { status } = await readForm(c, statusForm);
    await setStatus(c.var.platform.db, claims, id, status as OrderStatus);
    await afterOrderChange(c, id);
    return c.redirect("/partner", 303);
  });
