/**
 * Demo orders: one on its way (with ten minutes of trail), one waiting for dispatch, one delivered.
 * Status changes go through `order_transition` as the admin and the partner, like the API.
 */
import { asUser } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { interpolate } from "../location/geo.ts";

async function userId(tx: Queryable, email: string): Promise<string | undefined> {
  const [row] = await tx.query<{ id: string }>("select id::text from auth.users where lower(email) = $1", [
    email,
  ]);
  return row?.id;
}

const STOPS = {
  bakery: { address: "Boulangerie, 12 Rue Oberkampf, Paris", lat: 48.8647, lng: 2.3713 },
  home: { address: "8 Rue de Bretagne, Paris", lat: 48.8626, lng: 2.3603 },
  market: { address: "Marché d'Aligre, Paris", lat: 48.8490, lng: 2.3779 },
  office: { address: "25 Boulevard Voltaire, Paris", lat: 48.8654, lng: 2.3687 },
};

/** Creates the demo orders when there are none yet. */
export async function seedOrders(db: Db): Promise<void> {
  const [any] = await db.query("select 1 from public.orders limit 1");
  if (any) return;
  const member = await userId(db, "member@plaza.local");
  const partner = await userId(db, "partner@plaza.local");
  const admin = await userId(db, "admin@plaza.local");
  if (!member || !partner || !admin) return;
  const as = (sub: string) => ({ sub, role: "authenticated" as const });
  const place = (from: typeof STOPS.bakery, to: typeof STOPS.bakery, notes: string) =>
    asUser(db, as(member), async (tx) => {
      const [o] = await tx.query<{ id: string }>(
        `insert into public.orders (customer_id, pickup_address, pickup_lat, pickup_lng, dropoff_address,
           dropoff_lat, dropoff_lng, notes) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id::text`,
        [member, from.address, from.lat, from.lng, to.address, to.lat, to.lng, notes],
      );
      return o.id;
    });
  const move = (sub: string, id: string, status: string, partnerId?: string) =>
    asUser(
      db,
      as(sub),
      (tx) => tx.query("select 1 from public.order_transition($1, $2, $3)", [id, status, partnerId ?? null]),
    );

  // On its way to the customer, ten minutes into the ride.
  const live = await place(STOPS.bakery, STOPS.home, "Two baguettes and a tarte aux pommes. Ring twice.");
  await move(admin, live, "assigned", partner);
  for (const s of ["en_route_pickup", "picked_up", "en_route_dropoff"]) await move(partner, live, s);
  await db.query("update public.orders set status_changed_at = now() - interval '10 minutes' where id = $1", [
    live,
  ]);
  const path = interpolate(STOPS.bakery, { lat: 48.8633, lng: 2.3640 }, 40);
  const now = Date.now();
  const fixes = path.map((p, i) => ({
    order_id: live,
    partner_id: partner,
    lat: p.lat,
    lng: p.lng,
    accuracy: 8,
    speed: 4,
    heading: 250,
    recorded_at: new Date(now - (path.length - i) * (540_000 / path.length)).toISOString(),
  }));
  await db.query(
    `insert into public.order_locations (order_id, partner_id, lat, lng, accuracy, speed, heading, recorded_at)
     select order_id, partner_id, lat, lng, accuracy, speed, heading, recorded_at
     from jsonb_to_recordset($1::text::jsonb) as u(order_id uuid, partner_id uuid, lat float8, lng float8,
       accuracy real, speed real, heading real, recorded_at timestamptz)`,
    [JSON.stringify(fixes)],
  );

  // Waiting for dispatch.
  await place(STOPS.market, STOPS.office, "Fruit basket for the team.");

  // Delivered yesterday.
  const done = await place(STOPS.office, STOPS.home, "Documents to sign.");
  await move(admin, done, "assigned", partner);
  for (const s of ["en_route_pickup", "picked_up", "en_route_dropoff", "delivered"]) {
    await move(partner, done, s);
  }
  await db.query("update public.order_events set notified_at = now() where notified_at is null");
}
