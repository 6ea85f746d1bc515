import assert from "node:assert/strict";
import { type OutboxMail, RetryableDeliveryError, sendEmail } from "@/lib/notify/outbox.ts";
import { appTest, type TestContext, withApp } from "./support/app.ts";
import { browser, randomAdmin, randomUser } from "./support/factories.ts";
import { startSmtpServer } from "./support/smtp_server.ts";

const csv = new TextEncoder().encode('id,name\n1,Zoë\n2,"quoted, name"\n');
const binary = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256);

function report(to: string, content = csv): OutboxMail {
  return {
    to,
    subject: "Weekly signups",
    text: "The report is attached.",
    html: "<p>The report is attached.</p>",
    attachments: [
      { filename: "signups.csv", contentType: "text/csv", content },
      { filename: 'raw "data"\r\n📊.bin', contentType: "application/octet-stream", content: binary },
    ],
  };
}

const outboxRows = (t: TestContext) =>
  t.platform.db.query<{ id: number; dedup_key: string | null; n: number }>(
    "select id, dedup_key, jsonb_array_length(attachments) as n from plaza.outbox order by id",
  );

/** The parts of a multipart body (headers lowercased and unfolded), parsed here independently. */
function parts(raw: string): { headers: Record<string, string>; body: string }[] {
  const entity = (s: string) => {
    const end = s.indexOf("\r\n\r\n");
    const headers: Record<string, string> = {};
    for (const line of s.slice(0, end).replace(/\r\n(?=[ \t])/g, "").split("\r\n")) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: s.slice(end + 4) };
  };
  const top = entity(raw);
  const boundary = /boundary="([^"]+)"/.exec(top.headers["content-type"])?.[1];
  assert.ok(boundary, "a multipart message");
  const chunks = `\r\n${top.body}`.split(`\r\n--${boundary}`);
  assert.match(chunks.pop()!, /^--(\r\n)?$/, "closed");
  return chunks.slice(1).map((c) => ({ ...entity(c.slice(2)), type: top.headers["content-type"] }));
}

appTest("[outbox attachments] stored once per dedup key, listed for admins, downloadable", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t, "member");

  const first = await sendEmail(t.platform, report(admin.email), { dedupKey: "report:1:2025-01-01T00:00" });
  assert.equal(first.status, "stored");
  assert.equal(first.provider, "outbox");
  const again = await sendEmail(t.platform, report(admin.email), { dedupKey: "report:1:2025-01-01T00:00" });
  assert.equal(again.outboxId, first.outboxId, "a retry finds the same row");
  assert.equal(again.status, "stored");
  const other = await sendEmail(t.platform, report(admin.email), { dedupKey: "report:1:2025-01-02T00:00" });
  assert.notEqual(other.outboxId, first.outboxId);
  assert.deepEqual(
    (await outboxRows(t)).map((r) => [Number(r.id), r.dedup_key, r.n]),
    [[first.outboxId, "report:1:2025-01-01T00:00", 2], [other.outboxId, "report:1:2025-01-02T00:00", 2]],
  );
  await assert.rejects(sendEmail(t.platform, report(admin.email), { dedupKey: "x".repeat(201) }), TypeError);
  await assert.rejects(
    sendEmail(t.platform, {
      ...report(admin.email),
      attachments: [{ filename: "a.csv", contentType: "text/csv\r\nX-Evil: 1", content: csv }],
    }),
    TypeError,
  );
  assert.equal((await outboxRows(t)).length, 2, "invalid messages are not stored");

  // The list and the message page show each attachment's name and size.
  const page = await t.request("/admin/outbox", { headers: browser(admin.cookies) });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /signups\.csv/);
  assert.match(html, new RegExp(`${csv.byteLength} B`));
  assert.match(html, /2\.9 KB/);
  assert.ok(html.includes(`href="/admin/outbox/${first.outboxId}/attachments/1"`));
  const one = await t.request(`/admin/outbox/${first.outboxId}`, { headers: browser(admin.cookies) });
  const oneHtml = await one.text();
  assert.match(oneHtml, /<h2>Attachments<\/h2>/);
  assert.match(oneHtml, /raw _data___📊\.bin/, "the stored name is sanitized");
  const api = await (await t.request("/api/v1/admin/outbox", { headers: admin.bearer })).json();
  assert.deepEqual(api.messages[0].attachments, [
    { filename: "signups.csv", content_type: "text/csv", bytes: csv.byteLength },
    { filename: "raw _data___📊.bin", content_type: "application/octet-stream", bytes: binary.byteLength },
  ]);
  assert.ok(!JSON.stringify(api).includes(csv.toBase64()), "lists never carry the data");

  // Downloads: admins only, the same bytes, safe headers.
  const url = `/admin/outbox/${first.outboxId}/attachments`;
  const got = await t.request(`${url}/0`, { headers: browser(admin.cookies) });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-type"), "text/csv");
  assert.equal(got.headers.get("content-disposition"), 'attachment; filename="signups.csv"');
  assert.equal(got.headers.get("x-content-type-options"), "nosniff");
  assert.equal(got.headers.get("cache-control"), "no-store");
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), csv);
  const bin = await t.request(`${url}/1`, { headers: admin.bearer });
  assert.equal(bin.status, 200);
  assert.equal(bin.headers.get("content-type"), "application/octet-stream");
  assert.equal(
    bin.headers.get("content-disposition"),
    `attachment; filename="raw _data____.bin"; filename*=UTF-8''raw%20_data___%F0%9F%93%8A.bin`,
  );
  assert.deepEqual(new Uint8Array(await bin.arrayBuffer()), binary);

  assert.equal((await t.request(`${url}/0`, { headers: browser(member.cookies) })).status, 403);
  assert.equal((await t.request(`${url}/0`, { headers: member.bearer })).status, 403);
  const anon = await t.request(`${url}/0`, { headers: { accept: "text/html" } });
  assert.equal(anon.status, 303);
  assert.match(anon.headers.get("location") ?? "", /^\/login\?next=/);
  for (const bad of ["2", "-1", "abc", "1.0", "99999999999"]) {
    const res = await t.request(`${url}/${bad}`, { headers: browser(admin.cookies) });
    assert.equal(res.status, 404, `index ${bad}`);
    await res.body?.cancel();
  }
  const missing = await t.request("/admin/outbox/999999/attachments/0", { headers: browser(admin.cookies) });
  assert.equal(missing.status, 404);

  // An email without attachments has none to list or download.
  const plain = await sendEmail(t.platform, { to: admin.email, subject: "Hi", text: "x", html: "<p>x</p>" });
  const plainPage =
    await (await t.request(`/admin/outbox/${plain.outboxId}`, { headers: browser(admin.cookies) }))
      .text();
  assert.doesNotMatch(plainPage, /<h2>Attachments<\/h2>/);
  assert.equal(
    (await t.request(`/admin/outbox/${plain.outboxId}/attachments/0`, { headers: browser(admin.cookies) }))
      .status,
    404,
  );
});

Deno.test({
  name: "[outbox attachments] sent over SMTP with the attachment, once per dedup key across retries",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const smtp = await startSmtpServer();
    try {
      await withApp(async (t) => {
        const to = "reports@example.com";
        const sent = await sendEmail(t.platform, report(to), { dedupKey: "report:7:a" });
        assert.equal(sent.status, "sent");
        assert.equal(sent.provider, "smtp");
        const again = await sendEmail(t.platform, report(to), { dedupKey: "report:7:a" });
        assert.deepEqual(again, sent, "a retry does not send twice");
        assert.equal(smtp.messages.length, 1);
        assert.deepEqual(smtp.messages[0].to, [to]);

        const data = smtp.messages[0].data;
        assert.match(data, /^Content-Type: multipart\/mixed;/m);
        const [alt, file, blob] = parts(data);
        assert.match(alt.headers["content-type"], /^multipart\/alternative;/);
        assert.equal(file.headers["content-disposition"], 'attachment; filename="signups.csv"');
        assert.deepEqual(Uint8Array.fromBase64(file.body.replace(/\s+/g, "")), csv);
        assert.match(
          blob.headers["content-disposition"],
          /filename\*=UTF-8''raw%20_data___%F0%9F%93%8A\.bin/,
        );
        assert.deepEqual(Uint8Array.fromBase64(blob.body.replace(/\s+/g, "")), binary);

        // A transient failure keeps the message stored; the retry sends what the outbox holds.
        smtp.failNext(451);
        await assert.rejects(
          sendEmail(t.platform, report(to), { dedupKey: "report:7:b" }),
          RetryableDeliveryError,
        );
        assert.equal(smtp.messages.length, 1);
        const changed = new TextEncoder().encode("id\n9\n");
        const retried = await sendEmail(t.platform, report(to, changed), { dedupKey: "report:7:b" });
        assert.equal(retried.status, "sent");
        assert.equal(smtp.messages.length, 2);
        const [, resent] = parts(smtp.messages[1].data);
        assert.deepEqual(Uint8Array.fromBase64(resent.body.replace(/\s+/g, "")), csv, "the stored bytes");
        const third = await sendEmail(t.platform, report(to), { dedupKey: "report:7:b" });
        assert.equal(third.status, "sent");
        assert.equal(smtp.messages.length, 2);
        const rows = await t.platform.db.query<{ status: string; provider_id: string }>(
          "select status, provider_id from plaza.outbox order by id",
        );
        assert.deepEqual(rows.map((r) => r.status), ["sent", "sent"]);
        assert.equal(rows[1].provider_id, retried.providerId);
      }, { env: { SMTP_URL: smtp.url } });
    } finally {
      await smtp.close();
    }
  },
});
