/**
 * Orders (docs/orders.md): create, read, list, assign, move along the state machine. Everything runs
 * as the caller, so the policies of migration 0014 decide what they see; changes go through the
 * database function `order_transition`, which checks the rules again under a row lock.
 */
import { z } from "zod";
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { AppError, conflict, forbidden, notFound } from "../errors.ts";
import { distanceM } from "../location/geo.ts";
import { type TrackOrder, type TrackView, trackView } from "../location/track.ts";
import { type Actor, allowedTransitions, type OrderStatus, refusal, STATUSES } from "./state.ts";

/** A stop as the API takes it. */
export const stopSchema = z.strictObject({
  address: z.string().trim().min(1, "Enter an address.").max(200, "Use at most 200 characters."),
  lat: z.number().refine(Number.isFinite, "lat must be finite.").pipe(z.number().min(-90).max(90)),
  lng: z.number().refine(Number.isFinite, "lng must be finite.").pipe(z.number().min(-180).max(180)),
});

/** Pickup and dropoff at most this far apart. */
export const MAX_TRIP_M = 200_000;

/** `POST /orders`. */
export const createSchema = z.strictObject({
  pickup: stopSchema,
  dropoff: stopSchema,
  notes: z.string().trim().max(1000, "Use at most 1000 characters.").default(""),
  client_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "Use 1-100 letters, digits, '_', '-', '.' or ':'.")
    .optional(),
}).superRefine((o, ctx) => {
  const d = distanceM(o.pickup, o.dropoff);
  if (d < 1) {
    ctx.addIssue({ code: "custom", path: ["dropoff"], message: "Pickup and dropoff are the same place." });
  }
  if (d > MAX_TRIP_M) {
    ctx.addIssue({
      code: "custom",
      path: ["dropoff"],
      message: "Pickup and dropoff are more than 200 km apart.",
    });
  }
});
export type CreateOrder = z.output<typeof createSchema>;

/** A person on an order. */
export interface Person {
  id: string;
  name: string;
}

/** One timeline entry. */
export interface TimelineEntry {
  id: number;
  kind: string;
  status: OrderStatus | null;
  actor_id: string | null;
  data: unknown;
  created_at: string;
}

/** An order as the API shows it. */
export interface OrderView {
  id: string;
  status: OrderStatus;
  customer: Person;
  partner: Person | null;
  pickup: { address: string; lat: number; lng: number };
  dropoff: { address: string; lat: number; lng: number };
  notes: string;
  room_id: string | null;
  created_at: string;
  updated_at: string;
  status_changed_at: string;
  allowed: OrderStatus[];
  fixes_dropped: number;
  timeline?: TimelineEntry[];
}

const iso = (v: unknown) => new Date(v as string).toISOString();

const SELECT = `
  select o.*, o.id::text as id, o.customer_id::text as customer_id, o.partner_id::text as partner_id,
    coalesce(cp.name, 'Customer') as customer_name, pp.name as partner_name, r.id::text as room_id
  from public.orders o
  left join public.profiles cp on cp.id = o.customer_id
  left join public.profiles pp on pp.id = o.partner_id
  left join public.rooms r on r.order_id = o.id`;

function toView(r: Record<string, unknown>, actor: Actor): OrderView {
  const facts = {
    status: r.status as OrderStatus,
    customer_id: r.customer_id as string,
    partner_id: (r.partner_id as string | null) ?? null,
  };
  return {
    id: r.id as string,
    status: facts.status,
    customer: { id: facts.customer_id, name: r.customer_name as string },
    partner: facts.partner_id
      ? { id: facts.partner_id, name: (r.partner_name as string) ?? "Partner" }
      : null,
    pickup: { address: r.pickup_address as string, lat: Number(r.pickup_lat), lng: Number(r.pickup_lng) },
    dropoff: { address: r.dropoff_address as string, lat: Number(r.dropoff_lat), lng: Number(r.dropoff_lng) },
    notes: r.notes as string,
    room_id: (r.room_id as string | null) ?? null,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    status_changed_at: iso(r.status_changed_at),
    allowed: allowedTransitions(facts, actor),
    fixes_dropped: Number(r.fixes_dropped),
  };
}

/** Whether `tx`'s user is an admin, as the database says (a demoted admin's token still says admin). */
export async function isAdmin(tx: Pick<Queryable, "query">): Promise<boolean> {
  const [row] = await tx.query<{ admin: boolean }>("select public.is_admin() as admin");
  return !!row?.admin;
}

async function actorOf(tx: Queryable, claims: Claims): Promise<Actor> {
  return { userId: claims.sub, admin: await isAdmin(tx) };
}

async function timeline(tx: Queryable, orderId: string): Promise<TimelineEntry[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `select id, kind, status, actor_id::text as actor_id, data, created_at from public.order_events
     where order_id = $1 order by id`,
    [orderId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind as string,
    status: (r.status as OrderStatus | null) ?? null,
    actor_id: (r.actor_id as string | null) ?? null,
    data: r.data,
    created_at: iso(r.created_at),
  }));
}

/** Reads one order with its timeline, as `tx`'s user; 404 when they may not see it. */
export async function readOrder(tx: Queryable, claims: Claims, orderId: string): Promise<OrderView> {
  const [row] = await tx.query<Record<string, unknown>>(`${SELECT} where o.id = $1`, [orderId]);
  if (!row) throw notFound("No such order.");
  const view = toView(row, await actorOf(tx, claims));
  view.timeline = await timeline(tx, orderId);
  return view;
}

/** `GET /orders/:id`. */
export function getOrder(db: Db, claims: Claims, orderId: string): Promise<OrderView> {
  return asUser(db, claims, (tx) => readOrder(tx, claims, orderId));
}

/** Creates an order; a repeated client id returns the first one (`created` false). */
export async function createOrder(
  db: Db,
  claims: Claims,
  input: CreateOrder,
): Promise<{ order: OrderView; created: boolean }> {
  return await asUser(db, claims, async (tx) => {
    if (input.client_id) {
      const [prior] = await tx.query<{ id: string }>(
        "select id::text from public.orders where customer_id = $1 and client_id = $2",
        [claims.sub, input.client_id],
      );
      if (prior) return { order: await readOrder(tx, claims, prior.id), created: false };
    }
    const [row] = await tx.query<{ id: string }>(
      `insert into public.orders (customer_id, pickup_address, pickup_lat, pickup_lng, dropoff_address,
         dropoff_lat, dropoff_lng, notes, client_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       on conflict (customer_id, client_id) do nothing
       returning id::text`,
      [
        claims.sub,
        input.pickup.address,
        input.pickup.lat,
        input.pickup.lng,
        input.dropoff.address,
        input.dropoff.lat,
        input.dropoff.lng,
        input.notes,
        input.client_id ?? null,
      ],
    );
    if (!row) {
      throw conflict("Another request with this idempotency key is still being handled.", "client_id_taken");
    }
    return { order: await readOrder(tx, claims, row.id), created: true };
  });
}

/** List filters. */
export const listSchema = z.strictObject({
  scope: z.enum(["mine", "assigned", "all"]).default("mine"),
  status: z.enum(["active", "open", "final", ...STATUSES]).optional(),
  before: z.uuid("Not a cursor from this list.").optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** `GET /orders`: newest first; the cursor is the id of the last order of the previous page. */
export async function listOrders(
  db: Db,
  claims: Claims,
  q: z.output<typeof listSchema>,
): Promise<{ orders: OrderView[]; next: string | null }> {
  return await asUser(db, claims, async (tx) => {
    const actor = await actorOf(tx, claims);
    if (q.scope === "all" && !actor.admin) throw forbidden("Only admins list every order.");
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.scope === "mine") where.push(`o.customer_id = ${arg(claims.sub)}`);
    if (q.scope === "assigned") where.push(`o.partner_id = ${arg(claims.sub)}`);
    if (q.status === "active") where.push("public.order_is_active(o.status)");
    else if (q.status === "open") where.push("o.status not in ('delivered', 'cancelled')");
    else if (q.status === "final") where.push("o.status in ('delivered', 'cancelled')");
    else if (q.status) where.push(`o.status = ${arg(q.status)}`);
    if (q.before) {
      // The cursor is the last order's id; its exact created_at comes from the database.
      where.push(
        `(o.created_at, o.id) < (select c.created_at, c.id from public.orders c where c.id = ${
          arg(q.before)
        })`,
      );
    }
    const rows = await tx.query<Record<string, unknown>>(
      `${SELECT} ${where.length ? `where ${where.join(" and ")}` : ""}
       order by o.created_at desc, o.id desc limit ${arg(q.limit + 1)}`,
      args,
    );
    const more = rows.length > q.limit;
    const orders = rows.slice(0, q.limit).map((r) => toView(r, actor));
    const last = orders.at(-1);
    return { orders, next: more && last ? last.id : null };
  });
}

/** Maps the errors of `order_transition` (see the migration). */
function transitionError(err: unknown, fallback: { from?: string; to: string; allowed?: string[] }): unknown {
  const e = err as { code?: string; message?: string };
  switch (e?.code) {
    case "PL403":
      return forbidden(e.message);
    case "PL409":
      return new AppError(409, "illegal_transition", e.message ?? "Not allowed now.", fallback);
    case "PL422":
      return new AppError(422, "not_a_partner", e.message ?? "That person is not a partner.");
    case "P0002":
      return notFound("No such order.");
  }
  return err;
}

/** Moves an order to `to` as the caller; returns the order after the change. */
export async function setStatus(
  db: Db,
  claims: Claims,
  orderId: string,
  to: OrderStatus,
): Promise<OrderView> {
  return await asUser(db, claims, async (tx) => {
    const current = await readOrder(tx, claims, orderId);
    const actor = await actorOf(tx, claims);
    const facts = {
      status: current.status,
      customer_id: current.customer.id,
      partner_id: current.partner?.id ?? null,
    };
    const why = refusal(facts, actor, to);
    const details = { from: current.status, to, allowed: current.allowed };
    if (why === "forbidden") {
      throw forbidden(
        to === "cancelled"
          ? "Only the customer or an admin can cancel an order."
          : "Only the assigned partner moves an order along.",
      );
    }
    if (why === "illegal") {
      throw new AppError(
        409,
        "illegal_transition",
        `An order that is ${current.status} cannot become ${to}.`,
        details,
      );
    }
    try {
      await tx.query("select 1 from public.order_transition($1, $2)", [orderId, to]);
    } catch (err) {
      throw transitionError(err, details);
    }
    return await readOrder(tx, claims, orderId);
  });
}

/** Assigns (or re-assigns) an order to a partner; admins only. */
export async function assignOrder(
  db: Db,
  claims: Claims,
  orderId: string,
  partnerId: string,
): Promise<OrderView> {
  return await asUser(db, claims, async (tx) => {
    const actor = await actorOf(tx, claims);
    if (!actor.admin) throw forbidden("Only admins assign orders.");
    const current = await readOrder(tx, claims, orderId);
    try {
      await tx.query("select 1 from public.order_transition($1, 'assigned', $2)", [orderId, partnerId]);
    } catch (err) {
      throw transitionError(err, { from: current.status, to: "assigned", allowed: current.allowed });
    }
    return await readOrder(tx, claims, orderId);
  });
}

/** A partner on the dispatch board. */
export interface DispatchPartner {
  id: string;
  name: string;
  position:
    | { lat: number; lng: number; heading: number | null; speed: number | null; recorded_at: string }
    | null;
  active_orders: string[];
}

/** `GET /dispatch`: every partner with their latest position, every open order. Admins only. */
export async function dispatchView(
  db: Db,
  claims: Claims,
): Promise<{ partners: DispatchPartner[]; orders: OrderView[] }> {
  return await asUser(db, claims, async (tx) => {
    const actor = await actorOf(tx, claims);
    if (!actor.admin) throw forbidden("Only admins dispatch.");
    const orders = (await tx.query<Record<string, unknown>>(
      `${SELECT} where o.status not in ('delivered', 'cancelled') order by o.created_at desc, o.id desc limit 500`,
    )).map((r) => toView(r, actor));
    // Partners come from auth.users, which only the definer function may read.
    const partners = await tx.query<Record<string, unknown>>(
      `select p.id::text, p.name, l.lat, l.lng, l.heading, l.speed, l.recorded_at
       from public.dispatch_partners() p
       left join lateral (
         select lat, lng, heading, speed, recorded_at from public.order_locations x
         where x.partner_id = p.id and x.recorded_at > now() - interval '1 hour'
         order by x.recorded_at desc limit 1) l on true
       order by p.name`,
    );
    return {
      orders,
      partners: partners.map((p) => ({
        id: p.id as string,
        name: p.name as string,
        position: p.lat == null ? null : {
          lat: Number(p.lat),
          lng: Number(p.lng),
          heading: p.heading == null ? null : Number(p.heading),
          speed: p.speed == null ? null : Number(p.speed),
          recorded_at: iso(p.recorded_at),
        },
        active_orders: orders.filter((o) => o.partner?.id === p.id && o.status !== "requested").map((o) =>
          o.id
        ),
      })),
    };
  });
}

/** An order as tracking needs it, with its people and share version (RLS applies when `q` runs as a user). */
export interface TrackedOrder {
  order: TrackOrder;
  customerId: string;
  partnerId: string | null;
  shareVersion: number;
}

/** Reads what tracking needs about an order, or null. */
export async function trackedOrder(q: Pick<Queryable, "query">, id: string): Promise<TrackedOrder | null> {
  const [r] = await q.query<Record<string, unknown>>(
    `select id::text, status, status_changed_at, customer_id::text, partner_id::text, share_version,
       pickup_address, pickup_lat, pickup_lng, dropoff_address, dropoff_lat, dropoff_lng
     from public.orders where id = $1`,
    [id],
  );
  if (!r) return null;
  return {
    order: {
      id: r.id as string,
      status: r.status as string,
      partner_id: (r.partner_id as string | null) ?? null,
      status_changed_at: iso(r.status_changed_at),
      pickup: { address: r.pickup_address as string, lat: Number(r.pickup_lat), lng: Number(r.pickup_lng) },
      dropoff: {
        address: r.dropoff_address as string,
        lat: Number(r.dropoff_lat),
        lng: Number(r.dropoff_lng),
      },
    },
    customerId: r.customer_id as string,
    partnerId: (r.partner_id as string | null) ?? null,
    shareVersion: Number(r.share_version),
  };
}

/**
 * `GET /orders/:id/track` as the caller: the customer's privacy rules unless they are the order's
 * partner or an admin; 404 when they may not see the order.
 */
export async function trackAs(db: Db, claims: Claims, id: string, since?: Date): Promise<TrackView> {
  return await asUser(db, claims, async (tx) => {
    const row = await trackedOrder(tx, id);
    if (!row) throw notFound("No such order.");
    const staff = row.partnerId === claims.sub || await isAdmin(tx);
    return await trackView(tx, row.order, { customerRules: !staff, since });
  });
}
