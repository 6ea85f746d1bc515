/**
 * Scheduled SQL reports (docs/analytics.md, "Schedules"): the minutely job queues one email job per
 * due slot and moves the report on; the email job runs the report and mails the CSV to every recipient
 * once (a retried job sends nothing new); a failing report emails its error; both are audited.
 */
import assert from "node:assert/strict";
import { queueDueReports, REPORT_EMAIL_JOB, sendScheduledReport } from "@/lib/analytics/reports/schedule.ts";
import { csvLine } from "@/lib/analytics/reports/csv.ts";
import { appTest, type TestContext, withApp } from "../support/app.ts";
import { randomAdmin, type TestUser } from "../support/factories.ts";
import { startSmtpServer } from "../support/smtp_server.ts";
import { auditRows, call, createReport, ok, seedMetrics } from "./reports_support.ts";

const RECIPIENTS = ["first@example.test", "Second@Example.test"];
const SQL = `select n, label from (values (1, 'plain'), (2, 'comma, here'), (3, 'quote "q"')) as v (n, label)
  where n <= {{max}} order by n`;

async function scheduledReport(t: TestContext, admin: TestUser, extra: Record<string, unknown> = {}) {
  const report = await createReport(t, admin, {
    name: `Weekly numbers ${crypto.randomUUID().slice(0, 6)}`,
    sql: SQL,
    params: [{ name: "max", type: "number", default: "1" }],
    schedule: { cron: "* * * * *", timezone: "UTC", recipients: RECIPIENTS, values: { max: "3" } },
    ...extra,
  });
  return report as { id: string; name: string; next_run_at?: string };
}

/** Moves the report's next slot into the past; returns that slot (ISO). */
async function makeDue(t: TestContext, id: string, minutesAgo = 5): Promise<string> {
  const [row] = await t.platform.db.query<{ at: Date | string }>(
    `update public.sql_reports set next_run_at = date_trunc('minute', now()) - make_interval(mins => $2)
     where id = $1 returning next_run_at as at`,
    [id, minutesAgo],
  );
  return new Date(row.at).toISOString();
}

async function emailJobs(t: TestContext) {
  const rows = await t.platform.db.query<{ payload: unknown; dedup_id: string | null }>(
    "select payload, dedup_id from plaza.jobs where name = $1 order by id",
    [REPORT_EMAIL_JOB],
  );
  return rows.map((r) => ({
    payload: (typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload) as Record<string, string>,
    dedup_id: r.dedup_id,
  }));
}

interface OutboxRow {
  recipient: string;
  subject: string;
  text_body: string;
  dedup_key: string | null;
  attachments: { filename: string; content_type: string; data: string }[];
}

async function outbox(t: TestContext): Promise<OutboxRow[]> {
  const rows = await t.platform.db.query<OutboxRow & { attachments: unknown }>(
    `select recipient, subject, text_body, dedup_key, attachments from plaza.outbox
     where channel = 'email' order by id`,
  );
  return rows.map((r) => ({
    ...r,
    attachments: (typeof r.attachments === "string" ? JSON.parse(r.attachments) : r.attachments) as OutboxRow[
      "attachments"
    ],
  }));
}

const text = (b64: string) => new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));

/** The CSV the report's rows make, from the JSON run API. */
async function expectedCsv(t: TestContext, admin: TestUser, id: string, max: number): Promise<string> {
  const run = ok(await call(t, admin, "GET", `/reports/${id}/run?max=${max}`));
  return csvLine(run.columns.map((c: { name: string }) => c.name)) +
    run.rows.map((r: unknown[]) => csvLine(r)).join("");
}

appTest("[analytics schedule] due reports are queued once per slot and moved on", async (t) => {
  const admin = await randomAdmin(t);
  const report = await scheduledReport(t, admin);
  const other = await scheduledReport(t, admin); // not due
  const slot = await makeDue(t, report.id);

  assert.equal(await queueDueReports(t.platform), 1);
  const jobs = await emailJobs(t);
  assert.deepEqual(jobs, [{
    payload: { report_id: report.id, slot },
    dedup_id: `report:${report.id}:${slot}`,
  }]);
  const rows = await t.platform.db.query<{ id: string; next: Date | string }>(
    "select id, next_run_at as next from public.sql_reports",
  );
  const next = new Date(rows.find((r) => r.id === report.id)!.next);
  assert.ok(next.getTime() > Date.now(), `next run ${next.toISOString()} is in the future`);
  assert.equal(next.getUTCSeconds(), 0, "a minute slot");
  assert.ok(next.getTime() - Date.now() <= 61_000);
  assert.ok(new Date(rows.find((r) => r.id === other.id)!.next).getTime() > Date.now());

  // Running the job again queues nothing more.
  assert.equal(await queueDueReports(t.platform), 0);
  assert.equal((await emailJobs(t)).length, 1);

  // A report whose schedule was removed is never queued.
  await makeDue(t, other.id);
  ok(await call(t, admin, "PATCH", `/reports/${other.id}`, { schedule: null }));
  assert.equal(await queueDueReports(t.platform), 0);
  assert.equal((await emailJobs(t)).length, 1);
});

appTest("[analytics schedule] the email job mails the CSV to every recipient once", async (t) => {
  const admin = await randomAdmin(t);
  const report = await scheduledReport(t, admin);
  const slot = await makeDue(t, report.id);
  assert.equal(await queueDueReports(t.platform), 1);
  const [{ payload }] = await emailJobs(t);

  const result = await sendScheduledReport(t.platform, payload.report_id, payload.slot);
  assert.deepEqual(result, { sent: 2, rows: 3, error: null });
  const mails = await outbox(t);
  assert.deepEqual(mails.map((m) => m.recipient), RECIPIENTS);
  const csv = await expectedCsv(t, admin, report.id, 3);
  assert.equal(csv, 'n,label\r\n1,plain\r\n2,"comma, here"\r\n3,"quote ""q"""\r\n');
  for (const m of mails) {
    assert.match(m.subject, new RegExp(report.name));
    assert.match(m.text_body, /3 row\(s\)/);
    assert.equal(m.attachments.length, 1);
    assert.equal(m.attachments[0].content_type, "text/csv");
    assert.match(
      m.attachments[0].filename,
      new RegExp(`^weekly-numbers-[a-z0-9-]+-${slot.slice(0, 10)}\\.csv$`),
    );
    assert.equal(text(m.attachments[0].data), csv, "the attachment holds the report's rows");
    assert.ok(m.dedup_key?.startsWith(`report:${report.id}:${slot}:`), String(m.dedup_key));
  }

  // A retried job sends nothing new.
  await sendScheduledReport(t.platform, payload.report_id, payload.slot);
  assert.equal((await outbox(t)).length, 2);

  const audit = (await auditRows(t)).filter((r) => r.trigger === "schedule");
  assert.ok(audit.length >= 1);
  assert.equal(audit[0].format, "email");
  assert.equal(audit[0].report_id, report.id);
  assert.equal(audit[0].row_count, 3);
  assert.equal(audit[0].error_code, null);
  assert.equal(audit[0].user_id, admin.id);
  assert.equal(String(audit[0].params.max), "3", "the schedule's values are audited");

  // A later slot is a new email.
  const later = new Date(Date.parse(slot) + 60_000).toISOString();
  await sendScheduledReport(t.platform, report.id, later);
  assert.equal((await outbox(t)).length, 4);
});

appTest("[analytics schedule] a report failing at run time emails the error and audits it", async (t) => {
  const admin = await randomAdmin(t);
  await seedMetrics(t);
  const report = await createReport(t, admin, {
    name: "Broken numbers",
    sql: "select metric::int as n from daily_metrics",
    schedule: { cron: "0 8 * * 1", recipients: ["ops@example.test"] },
  });
  const slot = await makeDue(t, report.id);
  assert.equal(await queueDueReports(t.platform), 1);
  const result = await sendScheduledReport(t.platform, report.id, slot);
  assert.equal(result.sent, 1);
  assert.equal(typeof result.error, "string");
  const [mail] = await outbox(t);
  assert.equal(mail.recipient, "ops@example.test");
  assert.match(mail.text_body, /could not run/);
  assert.deepEqual(mail.attachments, []);
  const [audit] = (await auditRows(t)).filter((r) => r.trigger === "schedule");
  assert.equal(audit.format, "email");
  assert.equal(audit.error_code, "sql_error");
  assert.equal(audit.row_count, null);
  // The weekly schedule moved to a Monday 08:00.
  const [row] = await t.platform.db.query<{ next: Date | string }>(
    "select next_run_at as next from public.sql_reports where id = $1",
    [report.id],
  );
  const next = new Date(row.next);
  assert.deepEqual([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()], [1, 8, 0]);

  // A report deleted after its job was queued sends nothing.
  ok(await call(t, admin, "DELETE", `/reports/${report.id}`), 204);
  assert.deepEqual(await sendScheduledReport(t.platform, report.id, slot), { sent: 0, rows: 0, error: null });
});

/** The decoded attachment parts of a raw MIME message (parsed here, independently of Plaza). */
function attachmentsOf(raw: string): { filename: string; type: string; body: string }[] {
  const out: { filename: string; type: string; body: string }[] = [];
  // The top-level multipart/mixed boundary: attachments are its parts.
  const boundaries = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/gi)].map((m) => m[1]).slice(0, 1);
  for (const b of boundaries) {
    for (const part of raw.split(`--${b}`)) {
      const end = part.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const head = part.slice(0, end).replace(/\r\n(?=[ \t])/g, "");
      if (!/content-disposition:\s*attachment/i.test(head)) continue;
      const filename = /filename\*?=(?:UTF-8'')?"?([^";\r\n]+)"?/i.exec(head)?.[1] ?? "";
      const type = /content-type:\s*([^;\r\n]+)/i.exec(head)?.[1] ?? "";
      const body = part.slice(end + 4).split("\r\n--")[0].replace(/\s+/g, "");
      out.push({ filename, type, body: text(body) });
    }
  }
  return out;
}

Deno.test({
  name: "[analytics schedule] with SMTP the delivered message carries the CSV",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const smtp = await startSmtpServer();
    try {
      await withApp(async (t) => {
        const admin = await randomAdmin(t);
        const report = await scheduledReport(t, admin);
        const slot = await makeDue(t, report.id);
        assert.equal(await queueDueReports(t.platform), 1);
        const result = await sendScheduledReport(t.platform, report.id, slot);
        assert.deepEqual(result, { sent: 2, rows: 3, error: null });
        assert.equal(smtp.messages.length, 2);
        assert.deepEqual(smtp.messages.map((m) => m.to).flat().map((a) => a.toLowerCase()), [
          "first@example.test",
          "second@example.test",
        ]);
        const csv = await expectedCsv(t, admin, report.id, 3);
        for (const m of smtp.messages) {
          const parsed = smtp.parse(m.data);
          assert.match(parsed.headers.subject, /Plaza report: Weekly numbers/);
          const files = attachmentsOf(m.data);
          assert.equal(files.length, 1, m.data.slice(0, 2000));
          assert.match(files[0].filename, /^weekly-numbers-.*\.csv$/);
          assert.equal(files[0].type.toLowerCase(), "text/csv");
          assert.equal(files[0].body, csv);
        }
        const statuses = await t.platform.db.query<{ status: string }>("select status from plaza.outbox");
        assert.deepEqual(statuses.map((s) => s.status), ["sent", "sent"]);
        // A retried job delivers nothing again.
        await sendScheduledReport(t.platform, report.id, slot);
        assert.equal(smtp.messages.length, 2);
        const audit = (await auditRows(t)).filter((r) => r.trigger === "schedule");
        assert.equal(audit[0].format, "email");
      }, { env: { SMTP_URL: smtp.url } });
    } finally {
      await smtp.close();
    }
  },
});

appTest("[analytics schedule] the report-schedules and report-email job handlers, end to end", async (t) => {
  const { workerHandlers } = await import("@/workers/mod.ts");
  const handlers = new Map(workerHandlers(t.platform).map((h) => [h.name, h]));
  const schedules = handlers.get("report-schedules");
  const email = handlers.get(REPORT_EMAIL_JOB);
  assert.ok(schedules && email, "both jobs are registered");
  const admin = await randomAdmin(t);
  const report = await scheduledReport(t, admin);
  await makeDue(t, report.id);
  await schedules.run(schedules.payload.parse({}), { jobId: 1, attempt: 1 });
  const [job] = await emailJobs(t);
  const payload = email.payload.parse(job.payload);
  await email.run(payload, { jobId: 2, attempt: 1 });
  await email.run(payload, { jobId: 2, attempt: 2 }); // a retry
  const mails = await outbox(t);
  assert.equal(mails.length, 2);
  assert.ok(mails.every((m) => m.attachments.length === 1));
});

Deno.test({
  name: "[analytics schedule] the emailed CSV holds the first 50,000 rows and says it was cut",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const admin = await randomAdmin(t);
      const report = await createReport(t, admin, {
        name: "Sixty thousand",
        sql: "select g from generate_series(1, 60000) g",
        schedule: { cron: "* * * * *", recipients: ["ops@example.test"] },
      });
      const slot = await makeDue(t, report.id);
      const result = await sendScheduledReport(t.platform, report.id, slot);
      assert.equal(result.rows, 50_000);
      const [mail] = await outbox(t);
      assert.equal(text(mail.attachments[0].data).split("\r\n").length, 50_002); // header, rows, final ""
      assert.match(mail.text_body, /more than fits/);
    }),
});

Deno.test({
  name: "[analytics schedule] a cut email is audited as truncated",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const admin = await randomAdmin(t);
      const report = await createReport(t, admin, {
        name: "Too many",
        sql: "select g from generate_series(1, 120000) g",
        schedule: { cron: "* * * * *", recipients: ["ops@example.test"] },
      });
      const slot = await makeDue(t, report.id);
      await sendScheduledReport(t.platform, report.id, slot);
      const [mail] = await outbox(t);
      assert.match(mail.text_body, /more than fits/);
      const [audit] = (await auditRows(t)).filter((r) => r.trigger === "schedule");
      assert.equal(audit.truncated, true);
    }),
});
