/**
 * `/admin/jobs`: jobs by state with counts, the cron schedules, and retry / delete (plain forms),
 * plus the same data as JSON under `/api/v1/admin/jobs`.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  deleteJob,
  JOB_STATES,
  jobCounts,
  type JobState,
  listJobs,
  listSchedules,
  retryJob,
} from "@/lib/jobs/admin.ts";
import { notFound } from "@/lib/errors.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { check, readQuery } from "../validate.ts";
import { shortUtc } from "@/lib/dates.ts";

const PAGE = 50;
const listQuery = z.strictObject({
  state: z.enum(JOB_STATES).default("queued"),
  before: z.coerce.number().int().positive().optional(),
});
const idParam = z.coerce.number().int().positive();
const LABELS: Record<JobState, string> = {
  queued: "Queued",
  running: "Running",
  failed: "Failed, retrying",
  dead: "Dead letters",
  done: "Done (7 days)",
};

/** Retries or deletes the job named by the path (`/:state/:id/:action`); 404 when there is none. */
async function applyJobAction(c: Ctx) {
  const state = check(z.enum(["dead", "failed", "queued"]), c.req.param("state"), "state");
  const id = check(idParam, c.req.param("id"), "job id");
  const action = check(z.enum(["retry", "delete"]), c.req.param("action"), "action");
  const { db } = c.var.platform;
  const ok = action === "retry" && state !== "queued"
    ? await retryJob(db, state, id)
    : action === "delete"
    ? await deleteJob(db, state, id)
    : false;
  if (!ok) throw notFound(`No ${state} job #${id} to ${action}.`);
  return { state, id, action };
}

/** Admin job pages and API. */
export const adminJobsPage = new Hono<AppEnv>()
  .get("/admin/jobs", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent("/admin/jobs")}`, 303);
    await requireAdmin(c);
    const { db } = c.var.platform;
    const q = readQuery(c, listQuery);
    const [counts, jobs, schedules] = await Promise.all([
      jobCounts(db),
      listJobs(db, q.state, { before: q.before, limit: PAGE }),
      listSchedules(db),
    ]);
    const done = c.req.query("done");
    return renderPage(
      c,
      <>
        <section class="card">
          <h1>Jobs</h1>
          {c.var.platform.jobs.kind === "qstash" && (
            <p class="notice">
              Jobs are published to QStash in this deployment; its console shows them. This page shows the
              local queue.
            </p>
          )}
          {done && <p class="notice" role="status">{done}</p>}
          <nav class="tabs" aria-label="Job states">
            {JOB_STATES.map((s) => (
              <a key={s} href={`/admin/jobs?state=${s}`} aria-current={s === q.state ? "page" : undefined}>
                {LABELS[s]} <span class="badge">{counts[s]}</span>
              </a>
            ))}
          </nav>
          {jobs.length === 0
            ? <p class="muted">No {LABELS[q.state].toLowerCase()} jobs.</p>
            : (
              <div class="table-wrap">
                <table data-testid="jobs-table">
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Job</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">
                        {q.state === "dead" ? "Failed" : q.state === "done" ? "Finished" : "Runs at"}
                      </th>
                      <th scope="col">Last error</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {jobs.map((j) => (
                      <tr key={j.id}>
                        <td>{j.id}</td>
                        <td>
                          <strong>{j.name}</strong>
                          <code class="payload" title={j.payload}>{j.payload}</code>
                          {j.dedup_id && <span class="hint">dedup {j.dedup_id}</span>}
                        </td>
                        <td>{j.attempts}{j.max_attempts ? ` / ${j.max_attempts}` : ""}</td>
                        <td>
                          {shortUtc(j.state === "dead" || j.state === "done" ? j.finished_at : j.run_at)}
                        </td>
                        <td class="error-cell">{j.last_error ?? ""}</td>
                        <td class="actions">
                          {(j.state === "dead" || j.state === "failed") && (
                            <form method="post" action={`/admin/jobs/${j.state}/${j.id}/retry`}>
                              <button type="submit" class="small">Retry now</button>
                            </form>
                          )}
                          {(j.state === "dead" || j.state === "failed" || j.state === "queued") && (
                            <form method="post" action={`/admin/jobs/${j.state}/${j.id}/delete`}>
                              <button type="submit" class="small danger">Delete</button>
                            </form>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          {jobs.length === PAGE && (
            <a href={`/admin/jobs?state=${q.state}&before=${jobs[jobs.length - 1].id}`}>Older</a>
          )}
        </section>
        <section class="card">
          <h2>Schedules</h2>
          <div class="table-wrap">
            <table data-testid="schedules-table">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Cron</th>
                  <th scope="col">Time zone</th>
                  <th scope="col">Next</th>
                  <th scope="col">Last</th>
                </tr>
              </thead>
              <tbody>
                {schedules.map((s) => (
                  <tr key={s.name}>
                    <td>{s.name}</td>
                    <td>
                      <code>{s.cron}</code>
                    </td>
                    <td>{s.timezone}</td>
                    <td>{shortUtc(s.next_run_at)}</td>
                    <td>{shortUtc(s.last_run_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </>,
      { title: "Jobs" },
    );
  })
  .post("/admin/jobs/:state/:id/:action", async (c) => {
    await requireAdmin(c);
    const { state, id, action } = await applyJobAction(c);
    const message = action === "retry" ? `Job #${id} queued to run now.` : `Job #${id} deleted.`;
    return c.redirect(`/admin/jobs?state=${state}&done=${encodeURIComponent(message)}`, 303);
  })
  .get("/api/v1/admin/jobs", async (c) => {
    await requireAdmin(c);
    const { db } = c.var.platform;
    const q = readQuery(c, listQuery);
    const jobs = await listJobs(db, q.state, { before: q.before, limit: PAGE });
    return c.json({
      counts: await jobCounts(db),
      jobs,
      next_before: jobs.length === PAGE ? jobs[jobs.length - 1].id : null,
    });
  })
  .post("/api/v1/admin/jobs/:state/:id/:action", async (c) => {
    await requireAdmin(c);
    await applyJobAction(c);
    return c.json({ ok: true });
  });
