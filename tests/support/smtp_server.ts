/**
 * A local SMTP server for tests: greeting, EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with
 * dot-unstuffing, RSET, NOOP and QUIT, recording every accepted message. It is strict where real
 * servers are: DATA lines over 998 octets, bare CR or LF, and 8-bit bytes without BODY=8BITMIME are
 * refused. `parseMessage` decodes a message independently of Plaza's encoder.
 */

/** One message the server accepted: the envelope and the raw data (CRLF line endings, unstuffed). */
export interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
}

/** A decoded message: lowercased, unfolded, RFC 2047-decoded headers and the text and HTML parts. */
export interface ParsedMail {
  headers: Record<string, string>;
  text: string;
  html: string;
}

/** A running server; `url` carries the credentials when `auth` was given. */
export interface SmtpServer {
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** Makes the next RCPT, or the end of the next DATA, answer `code`. */
  failNext(code: number, message?: string): void;
  parse(data: string): ParsedMail;
  close(): Promise<void>;
}

/** Options: required credentials, which AUTH mechanisms to offer, and the loopback address to bind. */
export interface SmtpServerOptions {
  auth?: { user: string; pass: string };
  mechanisms?: Array<"PLAIN" | "LOGIN">;
  hostname?: string;
}

const enc = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

function bytesOfBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/** Reads CRLF-terminated lines; a bare LF stays inside the line so the caller can refuse it. */
function lineReader(conn: Deno.Conn): () => Promise<Uint8Array | null> {
  let buf = new Uint8Array(0);
  return async () => {
    for (;;) {
      for (let i = 1; i < buf.length; i++) {
        if (buf[i - 1] === 13 && buf[i] === 10) {
          const line = buf.slice(0, i - 1);
          buf = buf.slice(i + 1);
          return line;
        }
      }
      const chunk = new Uint8Array(16384);
      const n = await conn.read(chunk);
      if (n === null) return null;
      const joined = new Uint8Array(buf.length + n);
      joined.set(buf);
      joined.set(chunk.subarray(0, n), buf.length);
      buf = joined;
    }
  };
}

/** Starts the server on a free port of 127.0.0.1 (or `options.hostname`). */
export function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const mechanisms = options.mechanisms ?? ["PLAIN", "LOGIN"];
  const listener = Deno.listen({ hostname, port: 0 });
  const open = new Set<Deno.Conn>();
  const sessions = new Set<Promise<void>>();
  const messages: ReceivedMail[] = [];
  let failure: string | undefined;
  const takeFailure = () => {
    const reply = failure;
    failure = undefined;
    return reply;
  };

  async function session(conn: Deno.Conn): Promise<void> {
    const read = lineReader(conn);
    const send = async (...lines: string[]) => {
      const bytes = enc.encode(lines.map((l) => `${l}\r\n`).join(""));
      for (let n = 0; n < bytes.length;) n += await conn.write(bytes.subarray(n));
    };
    const readText = async () => {
      const line = await read();
      return line === null ? null : new TextDecoder().decode(line);
    };
    let authed = !options.auth;
    let envelope: { from: string; to: string[]; eightBit: boolean } | undefined;
    await send("220 plaza-test ESMTP ready");
    for (;;) {
      const line = await readText();
      if (line === null) return;
      const [verb, ...args] = line.split(" ");
      const arg = args.join(" ");
      switch (verb.toUpperCase()) {
        case "EHLO": {
          envelope = undefined;
          const auth = options.auth ? [`250-AUTH ${mechanisms.join(" ")}`] : [];
          await send("250-plaza-test greets you", ...auth, "250-8BITMIME", "250 SIZE 10485760");
          break;
        }
        case "HELO":
          envelope = undefined;
          await send("250 plaza-test");
          break;
        case "AUTH": {
          if (!options.auth || authed) {
            await send("503 5.5.1 AUTH not available");
            break;
          }
          const mechanism = (args[0] ?? "").toUpperCase();
          if (!mechanisms.includes(mechanism as "PLAIN")) {
            await send("504 5.5.4 Unrecognized authentication type");
            break;
          }
          const ask = async (prompt: string) => {
            await send(`334 ${prompt}`);
            return await readText() ?? "*";
          };
          let user: string, pass: string;
          try {
            if (mechanism === "PLAIN") {
              const response = args[1] ?? await ask("");
              if (response === "*") throw new Error("cancelled");
              [, user, pass] = utf8.decode(bytesOfBase64(response)).split("\0");
            } else {
              user = utf8.decode(bytesOfBase64(await ask(btoa("Username:"))));
              pass = utf8.decode(bytesOfBase64(await ask(btoa("Password:"))));
            }
          } catch {
            await send("501 5.5.2 Cannot decode AUTH response");
            break;
          }
          authed = user === options.auth.user && pass === options.auth.pass;
          await send(authed ? "235 2.7.0 Authentication successful" : "535 5.7.8 Authentication failed");
          break;
        }
        case "MAIL": {
          const m = /^FROM:\s*<([^<>]*)>(.*)$/i.exec(arg);
          if (!authed) await send("530 5.7.0 Authentication required");
          else if (!m) await send("501 5.5.4 Syntax: MAIL FROM:<address>");
          else {
            envelope = { from: m[1], to: [], eightBit: /\bBODY=8BITMIME\b/i.test(m[2]) };
            await send("250 2.1.0 Ok");
          }
          break;
        }
        case "RCPT": {
          const m = /^TO:\s*<([^<>]+)>/i.exec(arg);
          if (!envelope) await send("503 5.5.1 Need MAIL first");
          else if (!m) await send("501 5.5.4 Syntax: RCPT TO:<address>");
          else if (failure) await send(takeFailure()!);
          else {
            envelope.to.push(m[1]);
            await send("250 2.1.5 Ok");
          }
          break;
        }
        case "DATA": {
          if (!envelope?.to.length) {
            await send("503 5.5.1 Need RCPT first");
            break;
          }
          await send("354 End data with <CR><LF>.<CR><LF>");
          const lines: string[] = [];
          let problem: string | undefined;
          for (;;) {
            const bytes = await read();
            if (bytes === null) return;
            if (bytes.length === 1 && bytes[0] === 46) break;
            if (bytes.length > 998) problem ??= "552 5.3.4 Line longer than 998 octets";
            if (bytes.includes(13) || bytes.includes(10)) problem ??= "554 5.6.0 Bare CR or LF in data";
            if (!envelope.eightBit && bytes.some((b) => b > 127)) {
              problem ??= "554 5.6.1 8-bit data without BODY=8BITMIME";
            }
            const line = new TextDecoder().decode(bytes);
            lines.push(line.startsWith(".") ? line.slice(1) : line);
          }
          const reply = problem ?? takeFailure();
          if (reply) await send(reply);
          else {
            messages.push({
              from: envelope.from,
              to: envelope.to,
              data: lines.map((l) => `${l}\r\n`).join(""),
            });
            await send(`250 2.0.0 Ok: queued as ${messages.length}`);
          }
          envelope = undefined;
          break;
        }
        case "RSET":
          envelope = undefined;
          await send("250 2.0.0 Ok");
          break;
        case "NOOP":
          await send("250 2.0.0 Ok");
          break;
        case "QUIT":
          await send("221 2.0.0 Bye");
          return;
        default:
          await send("502 5.5.2 Command not recognized");
      }
    }
  }

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        open.add(conn);
        const done: Promise<void> = session(conn).catch(() => {}).finally(() => {
          open.delete(conn);
          sessions.delete(done);
          try {
            conn.close();
          } catch { /* closed by close() */ }
        });
        sessions.add(done);
      }
    } catch { /* listener closed */ }
  })();

  const { port } = listener.addr as Deno.NetAddr;
  const credentials = options.auth
    ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@`
    : "";
  return Promise.resolve({
    url: `smtp://${credentials}${hostname}:${port}`,
    port,
    messages,
    failNext(code, message) {
      failure = `${code} ${message ?? (code < 500 ? "4.3.0 Try again later" : "5.1.1 Rejected")}`;
    },
    parse: parseMessage,
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await accepting;
      await Promise.all([...sessions]);
    },
  });
}

/** Splits an entity at its blank line into unfolded, RFC 2047-decoded headers and the body. */
function splitEntity(raw: string): { headers: Record<string, string>; body: string } {
  const end = raw.startsWith("\r\n") ? 0 : raw.indexOf("\r\n\r\n");
  const head = end < 0 ? raw : raw.slice(0, end);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n(?=[ \t])/g, "").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
    }
  }
  return { headers, body: end < 0 ? "" : raw.slice(end === 0 ? 2 : end + 4) };
}

/** Decodes RFC 2047 encoded words; adjacent words are joined as bytes, so split characters survive. */
function decodeWords(value: string): string {
  const joined = value.replace(/(\?=)[ \t]+(?==\?)/g, "$1");
  let out = "";
  let bytes: number[] = [];
  let last = 0;
  const flush = () => {
    out += utf8.decode(new Uint8Array(bytes));
    bytes = [];
  };
  for (const m of joined.matchAll(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g)) {
    if (!/^(utf-8|us-ascii)$/i.test(m[1])) throw new Error(`unsupported charset ${m[1]}`);
    if (m.index !== last) {
      flush();
      out += joined.slice(last, m.index);
    }
    if (m[2].toUpperCase() === "B") bytes.push(...bytesOfBase64(m[3]));
    else {
      const q = m[3].replace(/_/g, " ").replace(
        /=([0-9A-F]{2})/gi,
        (_, h) => String.fromCharCode(parseInt(h, 16)),
      );
      bytes.push(...Array.from(q, (c) => c.charCodeAt(0)));
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + joined.slice(last);
}

/** Quoted-printable decoding (RFC 2045 6.7), dropping the trailing whitespace transports may add. */
function bytesOfQuotedPrintable(body: string): Uint8Array {
  const bytes: number[] = [];
  body.split("\r\n").forEach((raw, i, lines) => {
    let line = raw.replace(/[ \t]+$/, "");
    const soft = line.endsWith("=");
    if (soft) line = line.slice(0, -1);
    for (let j = 0; j < line.length; j++) {
      const hex = line.slice(j + 1, j + 3);
      if (line[j] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
        bytes.push(parseInt(hex, 16));
        j += 2;
      } else bytes.push(...enc.encode(line[j]));
    }
    if (!soft && i < lines.length - 1) bytes.push(13, 10);
  });
  return new Uint8Array(bytes);
}

function decodeBody(body: string, encoding = "7bit"): string {
  const cte = encoding.toLowerCase();
  const bytes = cte === "base64"
    ? bytesOfBase64(body)
    : cte === "quoted-printable"
    ? bytesOfQuotedPrintable(body)
    : enc.encode(body);
  return utf8.decode(bytes).replace(/\r\n/g, "\n");
}

/** Decodes a message's text/plain and text/html parts (multipart or single) and its headers. */
export function parseMessage(data: string): ParsedMail {
  const { headers, body } = splitEntity(data);
  const parsed: ParsedMail = { headers, text: "", html: "" };
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(headers["content-type"] ?? "");
  const parts = m ? `\r\n${body}`.split(`\r\n--${m[1] ?? m[2]}`).slice(1) : [];
  const entities = m ? [] : [{ headers, body }];
  for (const part of parts) {
    if (part.startsWith("--")) break;
    entities.push(splitEntity(part.slice(part.indexOf("\r\n") + 2)));
  }
  for (const e of entities) {
    const type = (e.headers["content-type"] ?? "text/plain").toLowerCase();
    const text = decodeBody(e.body, e.headers["content-transfer-encoding"]);
    if (type.startsWith("text/plain")) parsed.text = text;
    else if (type.startsWith("text/html")) parsed.html = text;
  }
  return parsed;
}
