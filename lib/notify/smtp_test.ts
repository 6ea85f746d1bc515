import assert from "node:assert/strict";
import { buildMessage, type Mail, sendMail, SmtpError } from "@/lib/notify/smtp.ts";
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
