/**
 * `/admin/dispatch` (docs/orders.md, "Pages"): every partner and open order on one map, in the
 * DispatchBoard island (click an order, then a partner, to assign). Admins only.
 *
 * Without JavaScript: a table of the orders that can still be (re)assigned, each with a partner
 * picker posting to `POST /admin/dispatch/:id/assign` (303 back to the board).
 */
import { Hono } from "hono";
import { z } from "zod";
import { DispatchBoard } from "@/components/islands.ts";
import { assignOrder, type DispatchPartner, dispatchView, type OrderView } from "@/lib/orders/orders.ts";
import { ASSIGNABLE } from "@/lib/orders/state.ts";
import { orderRules } from "../api/orders.ts";
import { signInRedirect } from "../events_shared.ts";
import { afterOrderChange, mapSettings } from "../orders_shared.ts";
import type { AppEnv } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { clientConfig } from "../realtime.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { readForm, uuidParam } from "../validate.ts";

const assignForm = z.object({ partner_id: z.uuid("Pick a partner.") });

/** The no-JavaScript assignment table. */
function AssignTable({ orders, partners }: { orders: OrderView[]; partners: DispatchPartner[] }) {
  const open = orders.filter((o) => ASSIGNABLE.includes(o.status));
  if (!open.length) return <p class="muted">No order is waiting for a partner.</p>;
  return (
    <div class="table-wrap">
      <table data-testid="dispatch-table">
        <thead>
          <tr>
            <th scope="col">Pickup</th>
            <th scope="col">Dropoff</th>
            <th scope="col">Status</th>
            <th scope="col">Partner</th>
          </tr>
        </thead>
        <tbody>
          {open.map((o) => (
            <tr key={o.id}>
              <td>{o.pickup.address}</td>
              <td>{o.dropoff.address}</td>
              <td>{o.status.replaceAll("_", " ")}</td>
              <td>
                <form method="post" action={`/admin/dispatch/${o.id}/assign`} class="row tight">
                  <label class="sr-only" for={`partner-${o.id}`}>Partner for {o.pickup.address}</label>
                  <select id={`partner-${o.id}`} name="partner_id" required>
                    {partners.map((p) => (
                      <option key={p.id} value={p.id} selected={p.id === o.partner?.id}>{p.name}</option>
                    ))}
                  </select>
                  <button type="submit" class="small">Assign</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The dispatch board. */
export const dispatchPage = new Hono<AppEnv>()
  .get("/admin/dispatch", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = await requireAdmin(c);
    const p = c.var.platform;
    const view = await dispatchView(p.db, claims);
    return renderPage(
      c,
      <div class="stack dispatch-page">
        <h1>Dispatch</h1>
        <DispatchBoard
          {...clientConfig(c, p)}
          view={view}
          map={mapSettings(c)}
        />
        <noscript>
          <section class="card">
            <h2>Assign without JavaScript</h2>
            <AssignTable orders={view.orders} partners={view.partners} />
          </section>
        </noscript>
      </div>,
      { title: "Dispatch" },
    );
  })
  .post("/admin/dispatch/:id/assign", async (c) => {
    if (!c.var.claims) return c.redirect("/login?next=%2Fadmin%2Fdispatch", 303);
    const claims = await requireAdmin(c);
    const id = uuidParam(c, "id", "No such order.");
    await rateLimit(c, orderRules.write, claims.sub);
    const { partner_id } = await readForm(c, assignForm);
    const p = c.var.platform;
    await assignOrder(p.db, claims, id, partner_id);
    await afterOrderChange(c, id);
    return c.redirect("/admin/dispatch", 303);
  });
