/**
 * Notification templates: each validates its data with zod and renders one message (title, body,
 * target URL); the email (HTML and text), SMS and push forms are derived from it, so every channel
 * says the same thing. Modules add their templates to {@link templates}.
 */
import { z } from "zod";

/** The categories people choose channels for. */
export const CATEGORIES = ["chat", "events", "orders", "system"] as const;
/** A notification category. */
export type Category = typeof CATEGORIES[number];

/** What a template renders. */
export interface Rendered {
  title: string;
  body: string;
  /** A path inside Plaza (`/chat/…`) the notification opens. */
  url: string | null;
}

interface Template<S extends z.ZodType = z.ZodType> {
  data: S;
  render(data: z.output<S>): Rendered;
}

const define = <S extends z.ZodType>(t: Template<S>) => t as unknown as Template;
const path = z.string().regex(/^\/(?![\/\\])[^\s\\]*$/, "Use a path inside Plaza, like /chat.").max(500);

/** What every event notification carries: the event, its title and when it is (in its zone). */
const eventData = z.strictObject({
  event_id: z.uuid(),
  title: z.string().max(120),
  when: z.string().max(120),
});

/** Every template by name. */
export const templates: Record<string, Template> = {
  "system.announcement": define({
    data: z.strictObject({
      title: z.string().trim().min(1).max(120),
      body: z.string().trim().max(1000).default(""),
      url: path.optional(),
    }),
    render: (d) => ({ title: d.title, body: d.body, url: d.url ?? null }),
  }),
  "system.test": define({
    data: z.strictObject({}),
    render: () => ({
      title: "Test notification",
      body: "If you can read this, notifications reach you here.",
      url: "/settings/notifications",
    }),
  }),
  "chat.dm": define({
    data: z.strictObject({
      room_id: z.uuid(),
      message_id: z.number().int().positive(),
      author_name: z.string().max(80),
      excerpt: z.string().max(200),
    }),
    render: (d) => ({
      title: `${d.author_name} sent you a message`,
      body: d.excerpt,
      url: `/chat/${d.room_id}`,
    }),
  }),
  "chat.mention": define({
    data: z.strictObject({
      room_id: z.uuid(),
      room_name: z.string().max(80),
      message_id: z.number().int().positive(),
      author_name: z.string().max(80),
      excerpt: z.string().max(200),
    }),
    render: (d) => ({
      title: `${d.author_name} mentioned you in ${d.room_name}`,
      body: d.excerpt,
      url: `/chat/${d.room_id}`,
    }),
  }),
  "events.promoted": define({
    data: eventData,
    render: (d) => ({
      title: `A seat opened up: you are going to ${d.title}`,
      body: `${d.when}. Your ticket is on the event page.`,
      url: `/events/${d.event_id}`,
    }),
  }),
  "events.approved": define({
    data: eventData.extend({ state: z.enum(["going", "waitlisted"]) }),
    render: (d) => ({
      title: d.state === "going"
        ? `You are going to ${d.title}`
        : `Approved for ${d.title}: you are on the waitlist`,
      body: d.state === "going"
        ? `${d.when}.`
        : `${d.when}. The event is full; you move up as seats free up.`,
      url: `/events/${d.event_id}`,
    }),
  }),
  "events.declined": define({
    data: eventData,
    render: (d) => ({
      title: `The organizers declined your request for ${d.title}`,
      body: d.when,
      url: `/events/${d.event_id}`,
    }),
  }),
  "events.changed": define({
    data: eventData,
    render: (d) => ({
      title: `${d.title} has changed`,
      body: `Now: ${d.when}.`,
      url: `/events/${d.event_id}`,
    }),
  }),
  "events.cancelled": define({
    data: eventData,
    render: (d) => ({
      title: `Cancelled: ${d.title}`,
      body: `It was planned for ${d.when}.`,
      url: `/events/${d.event_id}`,
    }),
  }),
  "events.reminder": define({
    data: eventData.extend({ kind: z.enum(["24h", "1h"]) }),
    render: (d) => ({
      title: `${d.kind === "1h" ? "In an hour" : "Tomorrow"}: ${d.title}`,
      body: d.when,
      url: `/events/${d.event_id}`,
    }),
  }),
  "orders.status": define({
    data: z.strictObject({
      order_id: z.uuid(),
      status: z.enum([
        "assigned",
        "en_route_pickup",
        "picked_up",
        "en_route_dropoff",
        "delivered",
        "cancelled",
      ]),
      partner_name: z.string().max(80),
      dropoff: z.string().max(200),
    }),
    render: (d) => ({
      title: {
        assigned: `${d.partner_name} will take your order`,
        en_route_pickup: `${d.partner_name} is on the way to the pickup`,
        picked_up: `${d.partner_name} picked up your order`,
        en_route_dropoff: `${d.partner_name} is on the way to you`,
        delivered: "Your order was delivered",
        cancelled: "Your order was cancelled",
      }[d.status],
      body: `To ${d.dropoff}`,
      url: `/orders/${d.order_id}`,
    }),
  }),
  "orders.arrived": define({
    data: z.strictObject({
      order_id: z.uuid(),
      kind: z.enum(["pickup", "dropoff"]),
      partner_name: z.string().max(80),
      dropoff: z.string().max(200),
    }),
    render: (d) => ({
      title: d.kind === "dropoff" ? `${d.partner_name} is arriving` : `${d.partner_name} is at the pickup`,
      body: d.kind === "dropoff"
        ? `At ${d.dropoff} within a minute or two.`
        : `Your order is being picked up.`,
      url: `/orders/${d.order_id}`,
    }),
  }),
  "orders.assigned": define({
    data: z.strictObject({ order_id: z.uuid(), pickup: z.string().max(200), dropoff: z.string().max(200) }),
    render: (d) => ({
      title: "New order assigned to you",
      body: `From ${d.pickup} to ${d.dropoff}`,
      url: "/partner",
    }),
  }),
  "account.welcome": define({
    data: z.strictObject({ name: z.string().max(80) }),
    render: (d) => ({
      title: `Welcome to Plaza, ${d.name}`,
      body: "Set up how you want to be notified, then say hello in a room.",
      url: "/settings/notifications",
    }),
  }),
};

/** Thrown for an unknown template or data that does not fit it. */
export class TemplateError extends Error {
  override name = "TemplateError";
}

/** Validates `data` and renders `template`. */
export function renderTemplate(template: string, data: unknown): Rendered & { data: unknown } {
  const t = templates[template];
  if (!t) throw new TemplateError(`unknown notification template ${template}`);
  const parsed = t.data.safeParse(data ?? {});
  if (!parsed.success) {
    throw new TemplateError(`invalid data for template ${template}: ${parsed.error.issues[0]?.message}`);
  }
  return { ...t.render(parsed.data), data: parsed.data };
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/** The email form of a notification: plain text and a small inline-styled HTML part. */
export function emailFor(n: Rendered, baseUrl: string): { subject: string; text: string; html: string } {
  const link = n.url ? `${baseUrl}${n.url}` : baseUrl;
  const settings = `${baseUrl}/settings/notifications`;
  const text = [n.title, "", n.body, "", `Open: ${link}`, "", `Change what you receive: ${settings}`]
    .filter((line, i, all) => !(line === "" && all[i - 1] === ""))
    .join("\n");
  const html =
    `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1f2328;max-width:560px">
<h1 style="font-size:20px">${escapeHtml(n.title)}</h1>
${
      n.body
        ? `<p style="font-size:15px;line-height:1.5">${escapeHtml(n.body).replaceAll("\n", "<br>")}</p>`
        : ""
    }
<p><a href="${
      escapeHtml(link)
    }" style="display:inline-block;background:#2456e8;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Open in Plaza</a></p>
<p style="font-size:12px;color:#57606a"><a href="${escapeHtml(settings)}">Change what you receive</a></p>
</body></html>`;
  return { subject: n.title, text, html };
}

/** The SMS form: title and body in at most 300 characters, with the link. */
export function smsFor(n: Rendered, baseUrl: string): string {
  const link = n.url ? ` ${baseUrl}${n.url}` : "";
  const room = 300 - link.length - 8;
  const text = n.body ? `${n.title}: ${n.body}` : n.title;
  return `Plaza: ${text.length > room ? `${text.slice(0, room - 1)}…` : text}${link}`;
}
