/**
 * `/admin/chat-reports`: reported chat messages (open first), with dismiss, delete the message, or mute
 * its author for an hour or a day (plain forms; the JSON API is `/api/v1/admin/reports`).
 */
import { Hono } from "hono";
import { z } from "zod";
import { listReports, type ReportAction, resolveReport } from "@/lib/chat/moderation.ts";
import { shortUtc } from "@/lib/dates.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { check, readForm, readQuery } from "../validate.ts";

const PAGE = 50;
const STATUSES = ["open", "actioned", "dismissed", "all"] as const;
const LABELS: Record<typeof STATUSES[number], string> = {
  open: "Open",
  actioned: "Acted on",
  dismissed: "Dismissed",
  all: "All",
};
const listQuery = z.strictObject({
  status: z.enum(STATUSES).default("open"),
  before: z.coerce.number().int().positive().optional(),
  done: z.string().max(200).optional(),
});
const actionForm = z.strictObject({
  action: z.enum(["dismiss", "delete_message", "mute_author"]),
  minutes: z.coerce.number().int().min(1).max(60 * 24 * 30).optional(),
});

/** The moderation queue page. */
export const adminChatReportsPage = new Hono<AppEnv>()
  .get("/admin/chat-reports", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent("/admin/chat-reports")}`, 303);
    const claims = await requireAdmin(c);
    const q = readQuery(c, listQuery);
    const { reports, next_before } = await listReports(c.var.platform.db, claims, {
      status: q.status,
      before: q.before,
      limit: PAGE,
    });
    return renderPage(
      c,
      <section class="card">
        <h1>Reported messages</h1>
        {q.done && <p class="notice" role="status">{q.done}</p>}
        <nav class="tabs" aria-label="Report status">
          {STATUSES.map((s) => (
            <a
              key={s}
              href={`/admin/chat-reports?status=${s}`}
              aria-current={s === q.status ? "page" : undefined}
            >
              {LABELS[s]}
            </a>
          ))}
        </nav>
        {reports.length === 0 && <p class="muted">No {LABELS[q.status].toLowerCase()} reports.</p>}
        <ul class="report-list" data-testid="reports">
          {reports.map((r) => (
            <li key={r.id} class="report" data-id={r.id}>
              <div class="report-head">
                <strong>{r.message.author?.name ?? "System"}</strong> in{" "}
                <a href={`/chat/${r.room.id}`}>{r.room.kind === "dm" ? "a direct message" : r.room.name}</a>
                <span class="hint">{shortUtc(r.message.created_at)}</span>
              </div>
              <blockquote class={r.message.deleted_at ? "tombstone" : undefined}>
                {r.message.deleted_at ? "This message was deleted." : r.message.body}
              </blockquote>
              <p>
                Reported by <strong>{r.reporter.name}</strong> ({shortUtc(r.created_at)}): {r.reason}
                {r.open_reports_for_message > 1 && (
                  <span class="badge">{r.open_reports_for_message} open reports</span>
                )}
              </p>
              {r.status === "open"
                ? (
                  <div class="actions">
                    <form method="post" action={`/admin/chat-reports/${r.id}`}>
                      <input type="hidden" name="action" value="dismiss" />
                      <button type="submit" class="small">Dismiss</button>
                    </form>
                    {!r.message.deleted_at && (
                      <form method="post" action={`/admin/chat-reports/${r.id}`}>
                        <input type="hidden" name="action" value="delete_message" />
                        <button type="submit" class="small danger">Delete message</button>
                      </form>
                    )}
                    {r.message.author &&
                      [60, 1440].map((m) => (
                        <form key={m} method="post" action={`/admin/chat-reports/${r.id}`}>
                          <input type="hidden" name="action" value="mute_author" />
                          <input type="hidden" name="minutes" value={String(m)} />
                          <button type="submit" class="small">
                            Mute author {m === 60 ? "1 hour" : "1 day"}
                          </button>
                        </form>
                      ))}
                  </div>
                )
                : <p class="muted">{LABELS[r.status]}: {r.resolution} ({shortUtc(r.resolved_at)})</p>}
            </li>
          ))}
        </ul>
        {next_before && <a href={`/admin/chat-reports?status=${q.status}&before=${next_before}`}>Older</a>}
      </section>,
      { title: "Reported messages" },
    );
  })
  .post("/admin/chat-reports/:id", async (c) => {
    const claims = await requireAdmin(c);
    const id = check(z.coerce.number().int().positive(), c.req.param("id"), "report id");
    const form = await readForm(c, actionForm);
    const action: ReportAction = form.action === "mute_author"
      ? { action: "mute_author", minutes: form.minutes ?? 60 }
      : { action: form.action };
    const result = await resolveReport(c.var.platform.db, claims, id, action);
    const message = `Report #${id}: ${result.resolution}.`;
    return c.redirect(`/admin/chat-reports?done=${encodeURIComponent(message)}`, 303);
  });
