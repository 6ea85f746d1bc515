/**
 * Data for the orders benchmark (bench/orders.ts): partners, customers and one admin (users and
 * access tokens as bench/chat_data.ts makes them, roles set in `raw_app_meta_data` as
 * `/admin/users` does), and one order per partner, created by its customer through the insert
 * triggers (chat room, timeline), assigned by the admin and moved to `en_route_dropoff` by its
 * partner through `public.order_transition` (the function the API calls), so every order's room,
 * timeline and status are what the API would have left.
 */
import type { Db } from "@/lib/db/port.ts";
import { type BenchUser, createUsers } from "./chat_data.ts";

/** One order of the bench: its partner (who sends fixes) and its customer. */
export interface BenchOrder {
  id: string;
  partner: BenchUser;
  customer: BenchUser;
  pickup: { lat: number; lng: number };
  dropoff: { lat: number; lng: number };
}

/** What the setup created. */
export interface OrdersData {
  orders: BenchOrder[];
  admin: BenchUser;
  seconds: number;
}

/** Metres per degree of latitude (near enough for laying out routes). */
const M_PER_DEG = 111_320;

/**
 * Creates `count` partners, customers and orders (en route to the dropoff) and one admin. Pickups
 * are spread over a 20 km square around Paris; each dropoff is 6 km east of its pickup, so a
 * partner driving east at 10 m/s for 10 minutes never reaches the dropoff's 150 m geofence.
 */
export async function createOrders(db: Db, secret: string, count: number): Promise<OrdersData> {
  const t0 = performance.now();
  const partners = await createUsers(db, secret, "partner", count);
  const customers = await createUsers(db, secret, "customer", count);
  const [admin] = await createUsers(db, secret, "dispatcher", 1);
  await db.query(
    `update auth.users set raw_app_meta_data = coalesce(raw_app_meta_data, '{}'::jsonb)
       || jsonb_build_object('role', 'partner') where id = any($1::uuid[])`,
    [partners.map((p) => p.id)],
  );
  await db.query(
    `update auth.users set raw_app_meta_data = coalesce(raw_app_meta_data, '{}'::jsonb)
       || jsonb_build_object('role', 'admin') where id = $1`,
    [admin.id],
  );
  const lngScale = M_PER_DEG * Math.cos((48.86 * Math.PI) / 180);
  const rows = customers.map((c, i) => {
    const pickup = {
      lat: 48.77 + ((i * 37) % 100) / 100 * (20_000 / M_PER_DEG),
      lng: 2.22 + ((i * 61) % 100) / 100 * (20_000 / lngScale),
    };
    const dropoff = { lat: pickup.lat, lng: pickup.lng + 6_000 / lngScale };
    return { i, c: c.id, pickup, dropoff };
  });
  const created = await db.query<{ id: string; i: number }>(
    `insert into public.orders (customer_id, pickup_address, pickup_lat, pickup_lng, dropoff_address,
       dropoff_lat, dropoff_lng, notes, client_id)
     select x.c, 'Pickup ' || x.i, x.plat, x.plng, 'Dropoff ' || x.i, x.dlat, x.dlng, 'bench', 'bench-' || x.i
     from jsonb_to_recordset($1::text::jsonb) as x(i int, c uuid, plat float8, plng float8, dlat float8, dlng float8)
     returning id::text, substr(client_id, 7)::int as i`,
    [JSON.stringify(rows.map((r) => ({
      i: r.i,
      c: r.c,
      plat: r.pickup.lat,
      plng: r.pickup.lng,
      dlat: r.dropoff.lat,
      dlng: r.dropoff.lng,
    })))],
  );
  const idOf = new Map(created.map((r) => [Number(r.i), r.id]));
  const orders: BenchOrder[] = rows.map((r) => ({
    id: idOf.get(r.i)!,
    partner: partners[r.i],
    customer: customers[r.i],
    pickup: r.pickup,
    dropoff: r.dropoff,
  }));
  // Assignment by the admin, then the partner's three steps, as the API does them (auth.uid() from
  // request.jwt.claims; order_transition is security definer). 100 orders per transaction.
  const claims = (sub: string) => JSON.stringify({ sub, role: "authenticated" });
  for (let start = 0; start < orders.length; start += 100) {
    const chunk = orders.slice(start, start + 100).map((o) => ({ o: o.id, p: o.partner.id }));
    await db.transaction(async (tx) => {
      for (const step of ["assigned", "en_route_pickup", "picked_up", "en_route_dropoff"]) {
        for (const { o, p } of chunk) {
          await tx.query(`select set_config('request.jwt.claims', $1, true)`, [
            claims(step === "assigned" ? admin.id : p),
          ]);
          await tx.query(`select (public.order_transition($1::uuid, $2, $3::uuid)).status`, [
            o,
            step,
            step === "assigned" ? p : null,
          ]);
        }
      }
    });
  }
  const [{ n }] = await db.query<{ n: number }>(
    `select count(*)::int as n from public.orders where status = 'en_route_dropoff' and id = any($1::uuid[])`,
    [orders.map((o) => o.id)],
  );
  if (n !== orders.length) throw new Error(`only ${n} of ${orders.length} orders are en route`);
  return { orders, admin, seconds: (performance.now() - t0) / 1000 };
}

/** Rows in order_locations for the bench's orders. */
export async function countFixes(db: Db, orders: BenchOrder[]): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>(
    `select count(*)::int as n from public.order_locations where order_id = any($1::uuid[])`,
    [orders.map((o) => o.id)],
  );
  return n;
}
