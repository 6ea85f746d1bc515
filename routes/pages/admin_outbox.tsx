/**
 * `/admin/outbox`: every email and text Plaza produced (stored, sent or failed, with the provider's
 * id), one message in full at `/admin/outbox/:id`, its attachments (name and size; the bytes at
 * `/admin/outbox/:id/attachments/:index`), and the notification delivery log (channel, provider id,
 * status, cost, error). JSON under `/api/v1/admin/outbox` and `/api/v1/admin/deliveries`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { notFound } from "@/lib/errors.ts";
import {
  attachmentDisposition,
  type AttachmentInfo,
  getOutboxAttachment,
  getOutboxMessage,
  listDeliveries,
  listOutbox,
} from "@/lib/notify/admin.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { check, readQuery } from "../validate.ts";
import { shortUtc } from "@/lib/dates.ts";

const PAGE = 50;
const listQuery = z.strictObject({
  channel: z.enum(["email", "sms"]).optional(),
  before: z.coerce.number().int().positive().optional(),
});
const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
    ? `${(bytes / 1024).toFixed(1)} KB`
    : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A message's attachments: each a download link with its size. */
function Attachments({ id, list }: { id: number; list: AttachmentInfo[] }) {
  return (
    <ul class="attachments" data-testid="outbox-attachments">
      {list.map((a, i) => (
        <li key={i}>
          <a href={`/admin/outbox/${id}/attachments/${i}`} download={a.filename}>{a.filename}</a>{" "}
          <span class="hint">{size(a.bytes)}</span>
        </li>
      ))}
    </ul>
  );
}

const money = (micros: number | null, unit: string | null) =>
  micros === null ? "" : `${(micros / 1_000_000).toFixed(4)} ${unit ?? ""}`.trim();

/** Admin outbox pages and API. */
export const adminOutboxPage = new Hono<AppEnv>()
  .get("/admin/outbox", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent("/admin/outbox")}`, 303);
    await requireAdmin(c);
    const { db, config } = c.var.platform;
    const q = readQuery(c, listQuery);
    const [messages, deliveries] = await Promise.all([
      listOutbox(db, { ...q, limit: PAGE }),
      listDeliveries(db, { limit: PAGE }),
    ]);
    return renderPage(
      c,
      <>
        <section class="card">
          <h1>Outbox</h1>
          <p class="muted">
            Email: {config.smtpUrl ? "sent over SMTP" : "kept here (no SMTP_URL)"}. Texts:{" "}
            {config.twilio ? "sent through Twilio" : "kept here (no Twilio)"}.
          </p>
          <nav class="tabs" aria-label="Channel">
            <a href="/admin/outbox" aria-current={!q.channel ? "page" : undefined}>All</a>
            <a href="/admin/outbox?channel=email" aria-current={q.channel === "email" ? "page" : undefined}>
              Email
            </a>
            <a href="/admin/outbox?channel=sms" aria-current={q.channel === "sms" ? "page" : undefined}>
              Texts
            </a>
          </nav>
          {messages.length === 0 ? <p class="muted">Nothing has been sent yet.</p> : (
            <div class="table-wrap">
              <table data-testid="outbox-table">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">To</th>
                    <th scope="col">Message</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {messages.map((m) => (
                    <tr key={m.id}>
                      <td>{shortUtc(m.created_at)}</td>
                      <td>
                        <span class="badge">{m.channel}</span> {m.recipient}
                      </td>
                      <td>
                        <a href={`/admin/outbox/${m.id}`}>{m.subject || m.text_body.slice(0, 80)}</a>
                        {m.attachments.length > 0 && <Attachments id={m.id} list={m.attachments} />}
                      </td>
                      <td>
                        <span class={`status status-${m.status}`}>{m.status}</span>
                        {m.error && <span class="hint error-cell">{m.error}</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {messages.length === PAGE && (
            <a
              href={`/admin/outbox?${q.channel ? `channel=${q.channel}&` : ""}before=${
                messages[PAGE - 1].id
              }`}
            >
              Older
            </a>
          )}
        </section>
        <section class="card">
          <h2>Delivery log</h2>
          {deliveries.length === 0 ? <p class="muted">No deliveries yet.</p> : (
            <div class="table-wrap">
              <table data-testid="deliveries-table">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Notification</th>
                    <th scope="col">Channel</th>
                    <th scope="col">Provider id</th>
                    <th scope="col">Status</th>
                    <th scope="col">Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.map((d) => (
                    <tr key={d.id}>
                      <td>{shortUtc(d.created_at)}</td>
                      <td>#{d.notification_id} {d.title}</td>
                      <td>
                        {d.channel} <span class="hint">{d.provider}</span>
                      </td>
                      <td>
                        <code>{d.provider_id ?? ""}</code>
                      </td>
                      <td>
                        <span class={`status status-${d.status}`}>{d.status}</span>
                        {d.error && <span class="hint error-cell">{d.error}</span>}
                      </td>
                      <td>{money(d.cost_micros, d.cost_unit)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </>,
      { title: "Outbox" },
    );
  })
  .get("/admin/outbox/:id", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
    await requireAdmin(c);
    const id = check(z.coerce.number().int().positive(), c.req.param("id"), "message id");
    const m = await getOutboxMessage(c.var.platform.db, id);
    if (!m) throw notFound(`No outbox message #${id}.`);
    return renderPage(
      c,
      <section class="card">
        <p>
          <a href="/admin/outbox">← Outbox</a>
        </p>
        <h1>{m.subject || `Text to ${m.recipient}`}</h1>
        <dl class="facts">
          <dt>To</dt>
          <dd>{m.recipient}</dd>
          <dt>Channel</dt>
          <dd>{m.channel}</dd>
          <dt>Status</dt>
          <dd>{m.status}{m.provider_id && ` (${m.provider_id})`}</dd>
          <dt>Created</dt>
          <dd>{shortUtc(m.created_at)}</dd>
          {m.error && (
            <>
              <dt>Error</dt>
              <dd>{m.error}</dd>
            </>
          )}
        </dl>
        {m.attachments.length > 0 && (
          <>
            <h2>Attachments</h2>
            <Attachments id={m.id} list={m.attachments} />
          </>
        )}
        <h2>Text</h2>
        <pre class="message-text" data-testid="outbox-text">{m.text_body}</pre>
        {m.html_body && (
          <details>
            <summary>HTML source</summary>
            <pre class="message-text">{m.html_body}</pre>
          </details>
        )}
      </section>,
      { title: "Outbox message" },
    );
  })
  .get("/admin/outbox/:id/attachments/:index", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
    await requireAdmin(c);
    const id = check(z.coerce.number().int().positive(), c.req.param("id"), "message id");
    const raw = c.req.param("index");
    const file = /^\d{1,6}$/.test(raw) ? await getOutboxAttachment(c.var.platform.db, id, Number(raw)) : null;
    if (!file) throw notFound(`No attachment ${raw} on outbox message #${id}.`);
    return c.body(file.content, 200, {
      "content-type": file.contentType,
      "content-disposition": attachmentDisposition(file.filename),
      "content-length": String(file.content.byteLength),
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    });
  })
  .get("/api/v1/admin/outbox", async (c) => {
    await requireAdmin(c);
    const q = readQuery(c, listQuery);
    const messages = await listOutbox(c.var.platform.db, { ...q, limit: PAGE });
    return c.json({ messages, next_before: messages.length === PAGE ? messages[PAGE - 1].id : null });
  })
  .get("/api/v1/admin/deliveries", async (c) => {
    await requireAdmin(c);
    const q = readQuery(c, z.strictObject({ before: z.coerce.number().int().positive().optional() }));
    const deliveries = await listDeliveries(c.var.platform.db, { ...q, limit: PAGE });
    return c.json({ deliveries, next_before: deliveries.length === PAGE ? deliveries[PAGE - 1].id : null });
  });
