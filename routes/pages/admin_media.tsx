/**
 * The media moderation queue (`/admin/media?filter=reported|hidden|all`, admins only): each item's
 * thumbnail, file name, kind, owner, upload time, open reports with their reasons and its state, with
 * Hide (with a reason), Restore, Dismiss reports and Delete (behind a second step) as plain forms to
 * `POST /admin/media/:id/:action`, which answer 303 back to the same filter.
 */
import { Hono } from "hono";
import { z } from "zod";
import { shortUtc } from "@/lib/dates.ts";
import { moderate, moderationQueue, type QueueItem } from "@/lib/media/moderation.ts";
import { formatBytes } from "@/lib/media/upload.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { readForm, readQuery, text, uuidParam } from "../validate.ts";

const FILTERS = ["reported", "hidden", "all"] as const;
type Filter = typeof FILTERS[number];
const LABELS: Record<Filter, string> = { reported: "Reported", hidden: "Hidden", all: "All recent" };
const EMPTY: Record<Filter, string> = {
  reported: "No open reports. Nothing needs a look.",
  hidden: "Nothing is hidden.",
  all: "Nobody has uploaded anything yet.",
};
const DONE: Record<string, string> = {
  hide: "Hidden.",
  restore: "Restored.",
  dismiss: "Reports dismissed.",
  delete: "Deleted.",
};

const queueQuery = z.object({ filter: z.enum(FILTERS).default("reported") });
const actionForm = z.object({
  reason: text(0, 500).default("").transform((s) => s.trim()),
  filter: z.enum(FILTERS).catch("reported").default("reported"),
});

// The notice names the action (one of DONE's keys), never text from the URL.
const back = (filter: Filter, done?: keyof typeof DONE) =>
  `/admin/media?filter=${filter}${done ? `&done=${done}` : ""}`;

function Entry({ item, filter }: { item: QueueItem; filter: Filter }) {
  const m = item.media;
  const action = (a: string) => `/admin/media/${m.id}/${a}`;
  const thumb = m.urls?.thumb;
  return (
    <li class="mod-item" data-testid="mod-item" data-id={m.id}>
      <div class="mod-thumb">
        {thumb
          ? (
            <a href={m.urls?.full ?? thumb}>
              <img src={thumb} alt={`Preview of ${m.filename}`} loading="lazy" width={96} height={96} />
            </a>
          )
          : m.urls?.original
          ? <a href={m.urls.original} download={m.filename}>{m.kind.toUpperCase()}</a>
          : <span>{m.status === "ready" ? m.kind.toUpperCase() : m.status}</span>}
      </div>
      <div class="mod-body">
        <p class="mod-title">
          <strong>{m.filename}</strong>{" "}
          <span class="muted">
            {m.kind} · {formatBytes(m.bytes)}
          </span>
        </p>
        <p class="hint">
          By {item.owner.name || "someone"} · uploaded {shortUtc(m.created_at)}
        </p>
        {m.hidden
          ? (
            <p class="mod-state hidden" data-testid="mod-state">
              Hidden{m.hidden_reason ? `: ${m.hidden_reason}` : ""}
            </p>
          )
          : <p class="mod-state" data-testid="mod-state">Visible</p>}
        {item.reports.length > 0 && (
          <div class="mod-reports">
            <p>
              <span class="badge">{item.open_reports}</span> open report{item.open_reports === 1 ? "" : "s"}
            </p>
            <ul>
              {item.reports.map((r, i) => (
                <li key={i}>
                  <q>{r.reason}</q>{" "}
                  <span class="hint">— {r.reporter || "someone"}, {shortUtc(r.created_at)}</span>
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="mod-actions">
          {!m.hidden && (
            <form method="post" action={action("hide")} class="mod-hide">
              <input type="hidden" name="filter" value={filter} />
              <label>
                <span class="sr-only">Reason for hiding {m.filename}</span>
                <input type="text" name="reason" maxLength={500} placeholder="Reason (shown to the owner)" />
              </label>
              <button type="submit" class="small">Hide</button>
            </form>
          )}
          {m.hidden && (
            <form method="post" action={action("restore")}>
              <input type="hidden" name="filter" value={filter} />
              <button type="submit" class="small">Restore</button>
            </form>
          )}
          {item.open_reports > 0 && (
            <form method="post" action={action("dismiss")}>
              <input type="hidden" name="filter" value={filter} />
              <button type="submit" class="small secondary">Dismiss reports</button>
            </form>
          )}
          <details class="mod-delete">
            <summary>Delete…</summary>
            <form method="post" action={action("delete")}>
              <input type="hidden" name="filter" value={filter} />
              <p class="hint">This removes the file for everyone, for good.</p>
              <button type="submit" class="small danger">Delete {m.filename}</button>
            </form>
          </details>
        </div>
      </div>
    </li>
  );
}

/** /admin/media */
export const adminMediaPage = new Hono<AppEnv>()
  .get("/admin/media", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent("/admin/media")}`, 303);
    const claims = await requireAdmin(c);
    const { filter } = readQuery(c, queueQuery);
    const items = await moderationQueue(c.var.platform, claims, filter);
    const key = c.req.query("done");
    const done = key && Object.hasOwn(DONE, key) ? DONE[key as keyof typeof DONE] : undefined;
    return renderPage(
      c,
      <section class="card admin-media">
        <h1>Media moderation</h1>
        {done && <p class="notice" role="status">{done}</p>}
        <nav class="tabs" aria-label="Queue">
          {FILTERS.map((f) => (
            <a key={f} href={`/admin/media?filter=${f}`} aria-current={f === filter ? "page" : undefined}>
              {LABELS[f]}
            </a>
          ))}
        </nav>
        {items.length === 0
          ? <p class="muted" data-testid="mod-empty">{EMPTY[filter]}</p>
          : (
            <ul class="mod-list" data-testid="mod-list">
              {items.map((item) => <Entry key={item.media.id} item={item} filter={filter} />)}
            </ul>
          )}
      </section>,
      { title: "Media moderation" },
    );
  })
  .post("/admin/media/:id/:action{hide|restore|dismiss|delete}", async (c) => {
    const claims = await requireAdmin(c);
    const id = uuidParam(c, "id", "No such media.");
    const action = c.req.param("action") as "hide" | "restore" | "dismiss" | "delete";
    const { reason, filter } = await readForm(c, actionForm);
    await moderate(c.var.platform, claims, id, action, reason);
    return c.redirect(back(filter, action), 303);
  });
