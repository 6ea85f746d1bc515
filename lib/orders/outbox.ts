/**
 * Order notifications: timeline rows (status changes, arrivals, assignments) become notifications
 * after their commit. The API and the ingest buffer flush right away; the `order-outbox` job flushes
 * what a crash left. Dedup keys carry the timeline id, so a row handled twice notifies nobody twice.
 */
import { notify, type NotifyDeps } from "../notify/notify.ts";

/** The outbox job's name. */
export const ORDER_OUTBOX_JOB = "order-outbox";
/** How long a flusher owns the rows it claimed. */
const CLAIM_SECONDS = 60;

/** Sends pending order notifications (oldest first, up to `limit`); returns how many rows it handled. */
export async function flushOrderOutbox(deps: NotifyDeps, limit = 50): Promise<number> {
  const rows = await deps.db.query<Record<string, unknown>>(
    `with claimed as (
       update public.order_events set claimed_until = now() + make_interval(secs => $2)
       where id in (
         select id from public.order_events
         where notify and notified_at is null and (claimed_until is null or claimed_until < now())
         order by id limit $1 for update skip locked)
       returning *
     )
     select c.id, c.kind, c.status, c.actor_id::text as actor_id, c.data, o.id::text as order_id,
       o.customer_id::text as customer_id, o.partner_id::text as partner_id, o.pickup_address, o.dropoff_address,
       coalesce(pp.name, 'Your partner') as partner_name
     from claimed c join public.orders o on o.id = c.order_id
     left join public.profiles pp on pp.id = o.partner_id
     order by c.id`,
    [limit, CLAIM_SECONDS],
  );
  for (const r of rows) {
    try {
      const orderId = r.order_id as string;
      const dropoff = String(r.dropoff_address).slice(0, 200);
      // An assignment names the partner it was made to (the order may have moved on since).
      const data = (r.data ?? {}) as { partner_id?: string; partner_name?: string };
      const partnerName = String(data.partner_name ?? r.partner_name).slice(0, 80);
      const partnerId = data.partner_id ?? (r.partner_id as string | null);
      if (r.kind === "status" || r.kind === "assigned") {
        // The customer hears of every change they did not make themselves.
        if (r.actor_id !== r.customer_id) {
          await notify(deps, r.customer_id as string, {
            category: "orders",
            template: "orders.status",
            data: { order_id: orderId, status: r.status, partner_name: partnerName, dropoff },
            dedupKey: `order-event:${r.id}`,
          });
        }
        if (r.kind === "assigned" && partnerId) {
          await notify(deps, partnerId, {
            category: "orders",
            template: "orders.assigned",
            data: { order_id: orderId, pickup: String(r.pickup_address).slice(0, 200), dropoff },
            dedupKey: `order-event:${r.id}:partner`,
          });
        }
      } else if (r.kind === "arrived_pickup" || r.kind === "arrived_dropoff") {
        await notify(deps, r.customer_id as string, {
          category: "orders",
          template: "orders.arrived",
          data: {
            order_id: orderId,
            kind: r.kind === "arrived_pickup" ? "pickup" : "dropoff",
            partner_name: partnerName,
            dropoff,
          },
          dedupKey: `order-event:${r.id}`,
        });
      }
      await deps.db.query("update public.order_events set notified_at = now() where id = $1", [r.id]);
    } catch (err) {
      deps.log.error("order notification failed", { err, event: r.id });
    }
  }
  return rows.length;
}
