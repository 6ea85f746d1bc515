/**
 * The customer's order pages (docs/orders.md, Pages):
 *
 * - `/orders`: your orders with their status, and a form to place one that works without
 *   JavaScript (`POST /orders`: 303 to the new order, or the form again with 422 and each message
 *   beside its field).
 * - `/orders/:id`: the order's summary and the OrderTracker island (map, ETA, timeline, chat), with
 *   the cancel form (`POST /orders/:id/cancel`) and, for the customer, "Share live link"
 *   (`POST /orders/:id/share`, the page again with the link).
 * The shared view `/track/:token` is routes/pages/track.tsx.
 */
import { Hono } from "hono";
import { z } from "zod";
import { FormAlert } from "@/components/forms.tsx";
import { OrderTracker } from "@/components/islands.ts";
import { AppError } from "@/lib/errors.ts";
import { createOrder, createSchema, getOrder, listOrders, setStatus, trackAs } from "@/lib/orders/orders.ts";
import { createShareLink, type ShareLink } from "@/lib/orders/share.ts";
import { statusLabel } from "@/lib/client/order_track.ts";
import { orderRules } from "../api/orders.ts";
import { afterOrderChange, mapSettings } from "../orders_shared.ts";
import { signInRedirect } from "../events_shared.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { clientConfig } from "../realtime.ts";
import { layoutUser, renderPage } from "../render.tsx";
import { requireUser, roleOf } from "../session.ts";
import { type FieldIssue, readForm, uuidParam } from "../validate.ts";

/** The fields of the order form, as typed. */
type OrderForm = Record<
  | "pickup_address"
  | "pickup_lat"
  | "pickup_lng"
  | "dropoff_address"
  | "dropoff_lat"
  | "dropoff_lng"
  | "notes",
  string
>;
type FormErrors = Partial<Record<keyof OrderForm | "form", string>>;

const FIELDS: (keyof OrderForm)[] = [
  "pickup_address",
  "pickup_lat",
  "pickup_lng",
  "dropoff_address",
  "dropoff_lat",
  "dropoff_lng",
  "notes",
];
const EMPTY: OrderForm = Object.fromEntries(FIELDS.map((f) => [f, ""])) as OrderForm;
const formValues = z.record(z.string(), z.string());

/** Where createSchema's paths show up in the form. */
const PATH_TO_FIELD: Record<string, keyof OrderForm> = {
  "pickup.address": "pickup_address",
  "pickup.lat": "pickup_lat",
  "pickup.lng": "pickup_lng",
  "dropoff.address": "dropoff_address",
  "dropoff.lat": "dropoff_lat",
  "dropoff.lng": "dropoff_lng",
  dropoff: "dropoff_address",
  pickup: "pickup_address",
  notes: "notes",
};

/** Checks the typed form against the API's rules; the order input, or one message per field. */
function parseOrderForm(
  values: OrderForm,
): { input: z.output<typeof createSchema> } | { errors: FormErrors } {
  const errors: FormErrors = {};
  const coord = (field: keyof OrderForm, max: number, what: string) => {
    const s = values[field].trim().replace(",", ".");
    const n = s === "" ? NaN : Number(s);
    if (s === "") errors[field] = `Enter the ${what}.`;
    else if (!Number.isFinite(n)) {
      errors[field] = `Enter the ${what} as a number, e.g. ${max === 90 ? "48.8566" : "2.3522"}.`;
    } else if (Math.abs(n) > max) errors[field] = `Enter a ${what} from -${max} to ${max}.`;
    return n;
  };
  const candidate = {
    pickup: {
      address: values.pickup_address,
      lat: coord("pickup_lat", 90, "latitude"),
      lng: coord("pickup_lng", 180, "longitude"),
    },
    dropoff: {
      address: values.dropoff_address,
      lat: coord("dropoff_lat", 90, "latitude"),
      lng: coord("dropoff_lng", 180, "longitude"),
    },
    notes: values.notes,
  };
  const parsed = createSchema.safeParse(candidate);
  if (parsed.success && !Object.keys(errors).length) return { input: parsed.data };
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const field = PATH_TO_FIELD[issue.path.join(".")];
    if (field) errors[field] ??= issue.message;
    else errors.form ??= issue.message;
  }
  errors.form ??= "Some fields need another look.";
  return { errors };
}

function FormField(
  { label, name, values, errors, hint, inputMode, textarea }: {
    label: string;
    name: keyof OrderForm;
    values: OrderForm;
    errors: FormErrors;
    hint?: string;
    inputMode?: "decimal";
    textarea?: boolean;
  },
) {
  const error = errors[name];
  const describedBy = [error && `${name}-error`, hint && `${name}-hint`].filter(Boolean).join(" ") ||
    undefined;
  const common = {
    id: name,
    name,
    "aria-invalid": error ? "true" as const : undefined,
    "aria-describedby": describedBy,
  };
  return (
    <label class={error ? "field invalid" : "field"} for={name}>
      {label}
      {textarea
        ? <textarea {...common} rows={2} maxLength={1000}>{values[name]}</textarea>
        : <input {...common} value={values[name]} inputMode={inputMode} required maxLength={200} />}
      {hint && <span id={`${name}-hint`} class="hint">{hint}</span>}
      {error && <span id={`${name}-error`} class="field-error">{error}</span>}
    </label>
  );
}

function OrderFormCard({ values, errors }: { values: OrderForm; errors: FormErrors }) {
  return (
    <section class="card" aria-labelledby="new-order">
      <h2 id="new-order">Place an order</h2>
      <FormAlert message={errors.form} />
      <form method="post" action="/orders" class="order-form" data-testid="order-form" novalidate>
        <fieldset class="order-stop">
          <legend>Pickup</legend>
          <FormField label="Address" name="pickup_address" values={values} errors={errors} />
          <div class="order-coords">
            <FormField
              label="Latitude"
              name="pickup_lat"
              values={values}
              errors={errors}
              inputMode="decimal"
            />
            <FormField
              label="Longitude"
              name="pickup_lng"
              values={values}
              errors={errors}
              inputMode="decimal"
            />
          </div>
        </fieldset>
        <fieldset class="order-stop">
          <legend>Dropoff</legend>
          <FormField label="Address" name="dropoff_address" values={values} errors={errors} />
          <div class="order-coords">
            <FormField
              label="Latitude"
              name="dropoff_lat"
              values={values}
              errors={errors}
              inputMode="decimal"
            />
            <FormField
              label="Longitude"
              name="dropoff_lng"
              values={values}
              errors={errors}
              inputMode="decimal"
            />
          </div>
        </fieldset>
        <FormField
          label="Notes (optional)"
          name="notes"
          values={values}
          errors={errors}
          textarea
          hint="Anything the partner should know, e.g. “ring twice”."
        />
        <div>
          <button type="submit">Place order</button>
        </div>
      </form>
    </section>
  );
}

/** A status as a coloured badge. */
function StatusBadge({ status }: { status: string }) {
  return <span class={`order-badge order-badge-${status}`}>{statusLabel(status)}</span>;
}

const when = (iso: string) =>
  new Date(iso).toLocaleString("en-GB", {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  }) + " UTC";

/** `/orders`, with the form's values and errors after a refused post. */
async function ordersPage(c: Ctx, form: { values: OrderForm; errors: FormErrors; status?: number }) {
  const claims = requireUser(c);
  const role = roleOf(claims);
  const { orders } = await listOrders(c.var.platform.db, claims, { scope: "mine", limit: 50 });
  return renderPage(
    c,
    <div class="stack orders-page">
      <section class="card">
        <div class="row spread">
          <h1>Your orders</h1>
          {role === "partner" && <a href="/partner">Your deliveries →</a>}
          {role === "admin" && <a href="/admin/dispatch">Dispatch board →</a>}
        </div>
        {orders.length
          ? (
            <ul class="order-list" data-testid="order-list">
              {orders.map((o) => (
                <li key={o.id}>
                  <a href={`/orders/${o.id}`} class="order-item" data-testid="order-item">
                    <span class="order-item-route">
                      <strong>{o.pickup.address}</strong>
                      <span class="muted">→ {o.dropoff.address}</span>
                    </span>
                    <span class="order-item-meta">
                      <StatusBadge status={o.status} />
                      <span class="muted">{when(o.created_at)}</span>
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          )
          : <p class="muted" data-testid="no-orders">No orders yet. Place your first one below.</p>}
      </section>
      <OrderFormCard values={form.values} errors={form.errors} />
    </div>,
    { title: "Orders", status: form.status },
  );
}

const orderParam = (c: Ctx) => uuidParam(c, "id", "No such order.");

/** `/orders/:id`, optionally with a fresh share link or a refused action's message. */
async function orderPage(c: Ctx, id: string, extra: { share?: ShareLink; error?: AppError } = {}) {
  const claims = requireUser(c);
  const { platform } = c.var;
  const order = await getOrder(platform.db, claims, id);
  const track = await trackAs(platform.db, claims, id);
  const user = layoutUser(c)!;
  const isCustomer = order.customer.id === claims.sub;
  const canShare = (isCustomer || roleOf(claims) === "admin") &&
    order.status !== "delivered" && order.status !== "cancelled";
  const shareUrl = extra.share && new URL(extra.share.url, baseOrigin(c)).toString();
  return renderPage(
    c,
    <div class="stack order-page">
      <section class="card order-summary">
        <p class="muted">
          <a href="/orders">← Your orders</a>
        </p>
        <h1>Order to {order.dropoff.address}</h1>
        {extra.error && <p class="alert" role="alert" data-testid="order-error">{extra.error.message}</p>}
        <dl class="order-facts">
          <div>
            <dt>Pickup</dt>
            <dd>{order.pickup.address}</dd>
          </div>
          <div>
            <dt>Dropoff</dt>
            <dd>{order.dropoff.address}</dd>
          </div>
          {!isCustomer && (
            <div>
              <dt>Customer</dt>
              <dd>{order.customer.name}</dd>
            </div>
          )}
          {order.notes && (
            <div class="order-notes">
              <dt>Notes</dt>
              <dd>{order.notes}</dd>
            </div>
          )}
        </dl>
      </section>
      <OrderTracker
        mode="order"
        order={{ ...order, timeline: order.timeline ?? [] }}
        track={track}
        map={mapSettings(c)}
        {...clientConfig(c, platform)}
        me={{ id: claims.sub, name: user.name }}
      />
      {canShare && (
        <section class="card order-share" aria-labelledby="share-title">
          <h2 id="share-title">Share live link</h2>
          {shareUrl
            ? (
              <div class="stack" data-testid="share-link">
                <p>Anyone with this link can follow the delivery until {when(extra.share!.expires_at)}:</p>
                <input class="share-url" readonly value={shareUrl} aria-label="Share link" />
                <p>
                  <a href={extra.share!.url}>Open the shared view</a>
                </p>
              </div>
            )
            : (
              <form method="post" action={`/orders/${order.id}/share`} class="row">
                <p class="muted">
                  A link for someone without an account: it shows the map and the ETA for two hours.
                </p>
                <button type="submit" data-testid="share-order">Share live link</button>
              </form>
            )}
        </section>
      )}
    </div>,
    { title: "Order", status: extra.error?.status },
  );
}

const baseOrigin = (c: Ctx) => c.var.platform.config.publicUrl ?? new URL(c.req.url).origin;

/** Share links from the page last this long (the API's default). */
const SHARE_TTL_MINUTES = 120;

/** /orders, /orders/:id, /track/:token */
export const orderPages = new Hono<AppEnv>()
  .get("/orders", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    return await ordersPage(c, { values: EMPTY, errors: {} });
  })
  .post("/orders", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const raw = await readForm(c, formValues);
    const values = { ...EMPTY, ...Object.fromEntries(FIELDS.map((f) => [f, raw[f] ?? ""])) } as OrderForm;
    const parsed = parseOrderForm(values);
    if ("errors" in parsed) return await ordersPage(c, { values, errors: parsed.errors, status: 422 });
    try {
      await rateLimit(c, orderRules.create, claims.sub);
      const { order } = await createOrder(c.var.platform.db, claims, parsed.input);
      return c.redirect(`/orders/${order.id}`, 303);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) {
        const details = Array.isArray(err.details) ? err.details as FieldIssue[] : [];
        const errors: FormErrors = {};
        for (const d of details) {
          const field = PATH_TO_FIELD[d.path];
          if (field) errors[field] ??= d.message;
        }
        if (!Object.keys(errors).length) errors.form = err.message;
        const res = await ordersPage(c, { values, errors, status: err.status });
        for (const [k, v] of Object.entries(err.headers ?? {})) res.headers.set(k, v);
        return res;
      }
      throw err;
    }
  })
  .get("/orders/:id", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    return await orderPage(c, orderParam(c));
  })
  .post("/orders/:id/cancel", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const id = orderParam(c);
    try {
      await rateLimit(c, orderRules.write, claims.sub);
      await setStatus(c.var.platform.db, claims, id, "cancelled");
    } catch (err) {
      if (err instanceof AppError && err.status !== 404 && err.status < 500) {
        return await orderPage(c, id, { error: err });
      }
      throw err;
    }
    await afterOrderChange(c, id);
    return c.redirect(`/orders/${id}`, 303);
  })
  .post("/orders/:id/share", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const id = orderParam(c);
    const p = c.var.platform;
    let share: ShareLink;
    try {
      await rateLimit(c, orderRules.write, claims.sub);
      share = await createShareLink(p.db, p.shareKey, claims, id, SHARE_TTL_MINUTES);
    } catch (err) {
      if (err instanceof AppError && err.status !== 404 && err.status < 500) {
        return await orderPage(c, id, { error: err });
      }
      throw err;
    }
    return await orderPage(c, id, { share });
  });
