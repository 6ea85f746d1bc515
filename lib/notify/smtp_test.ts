import assert from "node:assert/strict";
import { buildMessage, type Mail, safeFilename, sendMail, SmtpError } from "@/lib/notify/smtp.ts";
import { parseMessage, startSmtpServer } from "@/tests/support/smtp_server.ts";

const AUTH = { user: "plaza@plaza.test", pass: "s3cret: p@ss/wörd%" };
const onLinux = Deno.build.os === "linux";

function makeMail(overrides: Partial<Mail> = {}): Mail {
  return {
    from: "Plaza <noreply@plaza.test>",
    to: "ada@example.com",
    subject: "Your RSVP is confirmed",
    text: "See you there.\n",
    html: "<p>See you there.</p>",
    ...overrides,
  };
}

const smtpError = (code: number, retryable: boolean) => (e: unknown) =>
  e instanceof SmtpError && e.code === code && e.retryable === retryable;

/** A port nobody listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return (listener.addr as Deno.NetAddr).port;
}

/** A raw TCP server that runs `script` on each connection, for behaviour the fixture does not have. */
function rawServer(hostname: string, script: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname, port: 0 });
  const conns: Deno.Conn[] = [];
  const done: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      done.push(script(conn).catch(() => {}));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed by the script */ }
      }
      await accepting;
      await Promise.all(done);
    },
  };
}

Deno.test("[smtp] delivers text, HTML and subject unchanged, non-ASCII and dot lines included", async () => {
  const server = await startSmtpServer({ auth: AUTH });
  try {
    const text = [
      "Bonjour Zoë, café at 8 ☕ 🎉",
      ".starts with a dot",
      ".",
      "..",
      "trailing space ",
      "a tab\tand a trailing tab\t",
      "",
      "x".repeat(1200),
      "é".repeat(700) + "👩‍👩‍👧".repeat(50),
      "a=b =?UTF-8?B?bm90?= 100%",
      "",
    ].join("\n");
    const html = `<p>Café ${"<b>bold</b> ".repeat(150)}</p>\n.\n<p>🎉</p>`;
    const subject = `Rappel : « Plaza 🎉 » commence bientôt — ${"très ".repeat(20)}!`;
    const mail = makeMail({ from: "Café Plaza <noreply@plaza.test>", to: "Zoë Ünal <zoe@example.com>" });
    const { messageId, response } = await sendMail(server.url, { ...mail, subject, text, html });

    assert.equal(server.messages.length, 1);
    const [received] = server.messages;
    assert.equal(received.from, "noreply@plaza.test");
    assert.deepEqual(received.to, ["zoe@example.com"]);
    const parsed = server.parse(received.data);
    assert.equal(parsed.text, text);
    assert.equal(parsed.html, html);
    assert.equal(parsed.headers.subject, subject);
    assert.equal(parsed.headers.from, "Café Plaza <noreply@plaza.test>");
    assert.equal(parsed.headers.to, "Zoë Ünal <zoe@example.com>");
    assert.equal(parsed.headers["message-id"], messageId);
    assert.match(messageId, /^<[0-9a-f-]{36}@plaza\.test>$/);
    assert.match(response, /^250 /);
    assert.deepEqual(received.data.split("\r\n").filter((l) => l.length > 76), []);
  } finally {
    await server.close();
  }
});

Deno.test("[smtp] plain ASCII headers stay readable and custom headers pass through", () => {
  const subject = `Weekly digest: ${"events near you ".repeat(8)}=?not an encoded word?=`;
  const raw = buildMessage(
    makeMail({
      to: '"Doe, Jane" <jane@example.com>',
      headers: { "List-Unsubscribe": "<https://plaza.test/u/1>", "X-Plaza-Kind": "digest" },
    }),
    "<abc@plaza.test>",
    new Date(Date.UTC(2031, 0, 1, 9, 30)),
  );
  assert.match(raw, /\r\nSubject: Your RSVP is confirmed\r\n/);
  assert.match(raw, /\r\nTo: "Doe, Jane" <jane@example.com>\r\n/);
  assert.match(raw, /\r\nDate: Wed, 01 Jan 2031 09:30:00 \+0000\r\n/);
  assert.match(raw, /\r\nMessage-ID: <abc@plaza.test>\r\nMIME-Version: 1\.0\r\n/);
  assert.match(raw, /\r\nList-Unsubscribe: <https:\/\/plaza.test\/u\/1>\r\n/);
  const parsed = parseMessage(raw);
  assert.equal(parsed.headers["x-plaza-kind"], "digest");
  assert.equal(parsed.headers.to, '"Doe, Jane" <jane@example.com>');
  assert.equal(parsed.text, "See you there.\n");

  const long = buildMessage(makeMail({ subject }), "<abc@plaza.test>");
  assert.equal(parseMessage(long).headers.subject, subject);
  assert.deepEqual(long.split("\r\n").filter((l) => l.length > 78), []);
});

Deno.test("[smtp] authentication is required and used, with AUTH LOGIN when PLAIN is not offered", async () => {
  const server = await startSmtpServer({ auth: AUTH, mechanisms: ["LOGIN"] });
  try {
    const anonymous = server.url.replace(/\/\/.*@/, "//");
    await assert.rejects(sendMail(anonymous, makeMail()), smtpError(530, false));
    assert.equal(server.messages.length, 0);
    await sendMail(server.url, makeMail());
    assert.equal(server.messages.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("[smtp] a wrong password is a permanent 535", async () => {
  const server = await startSmtpServer({ auth: AUTH });
  try {
    const wrong = server.url.replace(/:[^:@/]*@/, ":nope@");
    await assert.rejects(sendMail(wrong, makeMail()), smtpError(535, false));
    assert.equal(server.messages.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("[smtp] a 4xx reply is retryable and a 5xx reply is not", async () => {
  const server = await startSmtpServer();
  try {
    server.failNext(451);
    await assert.rejects(sendMail(server.url, makeMail()), smtpError(451, true));
    server.failNext(550, "5.1.1 No such user");
    await assert.rejects(
      sendMail(server.url, makeMail()),
      (e) => smtpError(550, false)(e) && /No such user/.test(`${e}`),
    );
    assert.equal(server.messages.length, 0);
    await sendMail(server.url, makeMail());
    assert.equal(server.messages.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("[smtp] a refused connection is retryable with code 0", async () => {
  await assert.rejects(sendMail(`smtp://127.0.0.1:${closedPort()}`, makeMail()), smtpError(0, true));
});

Deno.test("[smtp] a silent server times out, retryable with code 0", async () => {
  const silent = rawServer("127.0.0.1", async (conn) => {
    while (await conn.read(new Uint8Array(1024)) !== null) { /* never answer */ }
  });
  const started = Date.now();
  try {
    await assert.rejects(
      sendMail(`smtp://127.0.0.1:${silent.port}`, makeMail(), { timeoutMs: 200 }),
      (e) => smtpError(0, true)(e) && /timed out/.test(`${e}`),
    );
    assert.ok(Date.now() - started < 2000);
  } finally {
    await silent.close();
  }
});

Deno.test("[smtp] smtps:// speaks TLS from the first byte", async () => {
  let firstByte = -1;
  const server = rawServer("127.0.0.1", async (conn) => {
    const buf = new Uint8Array(4096);
    if (await conn.read(buf)) firstByte = buf[0];
    conn.close();
  });
  try {
    await assert.rejects(sendMail(`smtps://127.0.0.1:${server.port}`, makeMail()), smtpError(0, true));
    assert.equal(firstByte, 0x16, "a TLS handshake record, not a wait for a plain-text greeting");
  } finally {
    await server.close();
  }
});

Deno.test("[smtp] CR or LF in any header throws before connecting", async () => {
  // A closed port: had sendMail connected first, it would fail with SmtpError, not TypeError.
  const url = `smtp://127.0.0.1:${closedPort()}`;
  const injections: Partial<Mail>[] = [
    { subject: "Hi\r\nBcc: victim@evil.test" },
    { subject: "Hi\nBcc: victim@evil.test" },
    { to: "ada@example.com\r\nBcc: victim@evil.test" },
    { to: "Ada\r\n <ada@example.com>" },
    { to: "ada@example.com, victim@evil.test" },
    { from: "noreply@plaza.test\r\n" },
    { headers: { "X-Tag": "a\r\nBcc: victim@evil.test" } },
    { headers: { "X-Tag\r\nBcc": "victim@evil.test" } },
    { headers: { Bcc: "victim@evil.test" } },
  ];
  for (const bad of injections) {
    await assert.rejects(sendMail(url, makeMail(bad)), TypeError, JSON.stringify(bad));
    assert.throws(() => buildMessage(makeMail(bad), "<abc@plaza.test>"), TypeError);
  }
});

Deno.test({
  name: "[smtp] refuses to send a password in clear to a remote server without STARTTLS",
  ignore: !onLinux,
  async fn() {
    const server = await startSmtpServer({ auth: AUTH, hostname: "127.0.0.2" });
    try {
      await assert.rejects(sendMail(server.url, makeMail()), smtpError(0, false));
      assert.equal(server.messages.length, 0);
      await sendMail(`${server.url}?tls=off`, makeMail());
      assert.equal(server.messages.length, 1);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "[smtp] upgrades with STARTTLS when a remote server offers it",
  ignore: !onLinux,
  async fn() {
    const seen: string[] = [];
    let firstTlsByte = -1;
    const server = rawServer("127.0.0.2", async (conn) => {
      const say = (s: string) => conn.write(new TextEncoder().encode(s));
      const buf = new Uint8Array(4096);
      await say("220 remote ESMTP\r\n");
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        const line = new TextDecoder().decode(buf.subarray(0, n)).trim();
        seen.push(line);
        if (line.startsWith("EHLO")) await say("250-remote\r\n250 STARTTLS\r\n");
        else if (line === "STARTTLS") {
          await say("220 2.0.0 Ready to start TLS\r\n");
          if (await conn.read(buf)) firstTlsByte = buf[0];
          return conn.close();
        } else await say("502 5.5.2 Unexpected\r\n");
      }
    });
    try {
      await assert.rejects(sendMail(`smtp://127.0.0.2:${server.port}`, makeMail()), smtpError(0, true));
      assert.deepEqual(seen.map((l) => l.split(" ")[0]), ["EHLO", "STARTTLS"]);
      assert.equal(firstTlsByte, 0x16, "a TLS handshake record follows STARTTLS");
    } finally {
      await server.close();
    }
  },
});

// --- Attachments: the built message is parsed back here, independently of the encoder. ---

type Entity = { headers: Record<string, string>; body: string };

/** Splits an entity at its blank line; header names lowercased, folded lines joined. */
function entity(raw: string): Entity {
  const end = raw.indexOf("\r\n\r\n");
  assert.ok(end > 0, "a header block and a body");
  const headers: Record<string, string> = {};
  for (const line of raw.slice(0, end).replace(/\r\n(?=[ \t])/g, "").split("\r\n")) {
    const colon = line.indexOf(":");
    assert.ok(colon > 0, `a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    assert.equal(headers[name], undefined, `one ${name} header`);
    headers[name] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.slice(end + 4) };
}

/** A header parameter: quoted, token, or RFC 2231 (`name*=` or `name*0*=`… continuations). */
function param(header: string, name: string): string | undefined {
  const found = new Map<string, string>();
  for (const m of header.matchAll(/;\s*([^=\s;]+)=("(?:[^"\\]|\\.)*"|[^;\s]*)/g)) {
    found.set(m[1].toLowerCase(), m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, "$1") : m[2]);
  }
  if (found.has(name)) return found.get(name);
  let ext = found.get(`${name}*`);
  if (ext === undefined) {
    const pieces: string[] = [];
    for (let i = 0; found.has(`${name}*${i}*`); i++) pieces.push(found.get(`${name}*${i}*`)!);
    if (!pieces.length) return undefined;
    ext = pieces.join("");
  }
  const m = /^([^']*)'[^']*'(.*)$/.exec(ext);
  assert.ok(m && m[1].toUpperCase() === "UTF-8", `an RFC 2231 UTF-8 value: ${ext}`);
  const bytes: number[] = [];
  for (let i = 0; i < m[2].length; i++) {
    if (m[2][i] === "%") {
      bytes.push(parseInt(m[2].slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(m[2].charCodeAt(i));
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
}

/** The parts of a multipart entity, checking the delimiters and the closing one. */
function parts(e: Entity): Entity[] {
  const boundary = param(e.headers["content-type"], "boundary");
  assert.ok(boundary, "a boundary");
  const chunks = `\r\n${e.body}`.split(`\r\n--${boundary}`);
  assert.equal(chunks[0], "", "nothing before the first delimiter");
  const last = chunks.pop()!;
  // The CRLF before a delimiter belongs to it: a nested part's closing delimiter has none of its own.
  assert.match(last, /^--(\r\n)?$/, "a closing delimiter ends the body");
  return chunks.slice(1).map((c) => {
    assert.ok(c.startsWith("\r\n"), "a delimiter line");
    return entity(c.slice(2));
  });
}

function base64Body(body: string): Uint8Array {
  const lines = body.replace(/\r\n$/, "").split("\r\n");
  lines.forEach((l, i) => {
    assert.match(l, /^[A-Za-z0-9+/=]*$/, "base64 characters only");
    if (i < lines.length - 1) assert.equal(l.length, 76, "full lines of 76");
    else assert.ok(l.length <= 76);
  });
  return Uint8Array.fromBase64(lines.join(""));
}

const randomBytes = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};

Deno.test("[smtp] without attachments the message keeps its multipart/alternative structure", () => {
  const date = new Date("2025-01-02T03:04:05Z");
  const normalize = (s: string) => s.replace(/=_plaza_[0-9a-f-]{36}/g, "=_plaza_B");
  const plain = buildMessage(makeMail(), "<abc@plaza.test>", date);
  assert.equal(
    normalize(buildMessage(makeMail({ attachments: [] }), "<abc@plaza.test>", date)),
    normalize(plain),
  );
  const top = entity(plain);
  assert.match(top.headers["content-type"], /^multipart\/alternative;/);
  assert.equal(top.headers["content-disposition"], undefined);
  const [text, html, ...more] = parts(top);
  assert.equal(more.length, 0);
  assert.equal(text.headers["content-type"], "text/plain; charset=UTF-8");
  assert.equal(html.headers["content-type"], "text/html; charset=UTF-8");
  assert.ok(!/multipart\/mixed|Content-Disposition/i.test(plain));
});

Deno.test("[smtp] attachments make a multipart/mixed with the alternative first and base64 parts", () => {
  const csv = new TextEncoder().encode('id,name\r\n1,Zoë\r\n.\r\n2,"quoted"\r\n');
  const binary = randomBytes(5000);
  const raw = buildMessage(
    makeMail({
      attachments: [
        { filename: "report.csv", contentType: "text/csv", content: csv },
        { filename: "blob.bin", contentType: "Application/Octet-Stream", content: binary },
        { filename: "empty.txt", contentType: "text/plain", content: new Uint8Array(0) },
      ],
    }),
    "<abc@plaza.test>",
  );
  for (const line of raw.split("\r\n")) assert.ok(line.length <= 78, `short line: ${line}`);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[^\x00-\x7f]/.test(raw), "7-bit");
  assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(raw), "CRLF only");
  const top = entity(raw);
  assert.match(top.headers["content-type"], /^multipart\/mixed;/);
  assert.equal(top.headers["mime-version"], "1.0");
  const [alt, ...files] = parts(top);
  assert.match(alt.headers["content-type"], /^multipart\/alternative;/);
  assert.notEqual(
    param(alt.headers["content-type"], "boundary"),
    param(top.headers["content-type"], "boundary"),
  );
  const [text, html, ...rest] = parts(alt);
  assert.equal(rest.length, 0);
  assert.match(text.headers["content-type"], /^text\/plain/);
  assert.match(html.headers["content-type"], /^text\/html/);
  assert.match(text.body, /See you there\./);

  assert.equal(files.length, 3);
  const [a, b, c] = files;
  assert.equal(a.headers["content-type"], 'text/csv; name="report.csv"');
  assert.equal(a.headers["content-disposition"], 'attachment; filename="report.csv"');
  assert.equal(a.headers["content-transfer-encoding"], "base64");
  assert.deepEqual(base64Body(a.body), csv);
  assert.match(b.headers["content-type"], /^application\/octet-stream;/, "the type is lowercased");
  assert.equal(param(b.headers["content-disposition"], "filename"), "blob.bin");
  assert.deepEqual(base64Body(b.body), binary);
  assert.deepEqual(base64Body(c.body), new Uint8Array(0));
});

Deno.test("[smtp] attachment names cannot break out of their header; non-ASCII names use RFC 2231", () => {
  const content = new TextEncoder().encode("x");
  const names = [
    'evil".csv\r\nBcc: victim@example.com\r\n\r\nbody',
    "a\nb\rc\u2028d\u0085e\u202egpj.exe",
    "Rapport d'activité — Zoë 📊.csv",
    `${"très long nom ".repeat(12)}🎉.csv`,
    `${"x".repeat(300)}.csv`,
    "../../etc/passwd",
    '"',
    "",
  ];
  const raw = buildMessage(
    makeMail({ attachments: names.map((filename) => ({ filename, contentType: "text/csv", content })) }),
    "<abc@plaza.test>",
  );
  assert.ok(!/^Bcc:/im.test(raw), "no injected header");
  for (const line of raw.split("\r\n")) assert.ok(line.length <= 78, `short line: ${line}`);
  const [, ...files] = parts(entity(raw));
  const got = files.map((f) => {
    const filename = param(f.headers["content-disposition"], "filename");
    assert.equal(param(f.headers["content-type"], "name"), filename, "name and filename agree");
    assert.match(f.headers["content-disposition"], /^attachment;/);
    assert.deepEqual(base64Body(f.body), content);
    return filename!;
  });
  for (const name of got) {
    // deno-lint-ignore no-control-regex
    assert.ok(!/["\\/\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]/.test(name), `sanitized: ${JSON.stringify(name)}`);
  }
  assert.equal(got[0], "evil_.csv__Bcc: victim@example.com____body");
  assert.equal(got[1], "a_b_c_d_e_gpj.exe");
  assert.equal(got[2], "Rapport d'activité — Zoë 📊.csv", "unicode survives");
  assert.equal(got[3], `${"très long nom ".repeat(12)}🎉.csv`);
  assert.match(files[3].headers["content-disposition"], /filename\*0\*=UTF-8''/, "continuations");
  assert.equal(got[4], `${"x".repeat(196)}.csv`, "at most 200 characters, the extension kept");
  assert.equal(got[5], "_.._etc_passwd");
  assert.equal(got[6], "_");
  assert.equal(got[7], "attachment");
  assert.equal(safeFilename("  ..hidden  "), "hidden");
  assert.equal(safeFilename("e\u0301.csv"), "\u00e9.csv", "NFC");
});

Deno.test("[smtp] an attachment's content type must be a bare type/subtype", () => {
  const content = new Uint8Array([1]);
  for (
    const contentType of [
      "text",
      "text/csv; charset=utf-8",
      "text/csv\r\nBcc: x@y.z",
      'text/c"sv',
      "",
      "/csv",
    ]
  ) {
    assert.throws(
      () =>
        buildMessage(
          makeMail({ attachments: [{ filename: "a", contentType, content }] }),
          "<abc@plaza.test>",
        ),
      TypeError,
      contentType,
    );
  }
  assert.throws(
    () =>
      buildMessage(
        makeMail({
          attachments: [{ filename: "a", contentType: "text/csv", content: "abc" as unknown as Uint8Array }],
        }),
        "<abc@plaza.test>",
      ),
    TypeError,
  );
});

Deno.test("[smtp] a message with a large attachment is delivered and decodes to the same bytes", async () => {
  const server = await startSmtpServer();
  try {
    const content = randomBytes(300_000);
    const name = "données 2025.bin";
    await sendMail(
      server.url,
      makeMail({ attachments: [{ filename: name, contentType: "application/octet-stream", content }] }),
    );
    assert.equal(server.messages.length, 1);
    const data = server.messages[0].data;
    // (The fixture's parseMessage decodes every part as UTF-8, so it is not used on binary data.)
    const [alt, file] = parts(entity(data));
    assert.match(parts(alt)[0].body, /See you there/);
    assert.equal(param(file.headers["content-disposition"], "filename"), name);
    assert.deepEqual(base64Body(file.body), content);
  } finally {
    await server.close();
  }
});
