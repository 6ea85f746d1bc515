/**
 * A small SMTP client for Plaza's notification emails: one message, one recipient, over
 * `Deno.connect` (STARTTLS when offered) or `Deno.connectTls` (smtps://). The message is pure 7-bit
 * (quoted-printable bodies, RFC 2047 headers), so no 8BITMIME or SMTPUTF8 is needed. Invalid input
 * (bad address, CR/LF or other control characters in a header) throws a `TypeError` before any
 * connection is made, so header injection is impossible.
 */

/** A file attached to an email. */
export interface Attachment {
  /** Shown to the recipient; sanitized by {@link safeFilename}. */
  filename: string;
  /** A bare `type/subtype` (no parameters), e.g. `text/csv`. */
  contentType: string;
  content: Uint8Array;
}

/** One email with text and HTML parts, and optionally attachments. */
export interface Mail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
  attachments?: Attachment[];
}

/** A transient (4xx, network) or permanent (5xx) SMTP failure. */
export class SmtpError extends Error {
  override name = "SmtpError";
  constructor(message: string, readonly code: number, readonly retryable: boolean, options?: ErrorOptions) {
    super(message, options);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const RESERVED = new Set(
  "from to cc bcc subject date message-id mime-version content-type content-transfer-encoding".split(" "),
);

type Address = { name: string; addr: string };

function assertHeaderSafe(field: string, value: string): void {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new TypeError(`${field} must not contain CR, LF or other control characters`);
  }
}

function parseAddress(field: string, value: string): Address {
  assertHeaderSafe(field, value);
  const m = /^(.*?)\s*<([^<>]*)>$/s.exec(value.trim());
  let name = m ? m[1].trim() : "";
  const addr = m ? m[2].trim() : value.trim();
  if (/^".*"$/s.test(name)) name = name.slice(1, -1).replace(/\\(.)/g, "$1");
  if (!ADDRESS.test(addr) || addr.length > 254 || /^\.|\.\.|\.@/.test(addr)) {
    throw new TypeError(`${field}: invalid email address ${JSON.stringify(addr)}`);
  }
  return { name, addr };
}

const base64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
const isPlain = (s: string) => /^[\x20-\x7e\t]*$/.test(s) && !s.includes("=?");

/** RFC 2047 B-words of whole characters, short enough that every folded line stays within 76. */
function encodedWords(s: string): string[] {
  const words: string[] = [];
  let chunk = "";
  for (const ch of s) {
    if (chunk && enc.encode(chunk + ch).length > 39) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64(enc.encode(w))}?=`);
}

/** An unstructured header, folded at spaces when plain ASCII, otherwise as encoded words. */
function unstructured(name: string, value: string): string {
  if (isPlain(value)) {
    const lines = [`${name}:`];
    value.split(" ").forEach((word, i) => {
      const last = lines.length - 1;
      if (i > 0 && word && lines[last].length + 1 + word.length > 78) lines.push(` ${word}`);
      else lines[last] += ` ${word}`;
    });
    if (lines.every((l) => l.length <= 998)) return lines.join("\r\n");
  }
  return `${name}: ${encodedWords(value).join("\r\n ")}`;
}

function addressHeader(name: string, a: Address): string {
  if (!a.name) return `${name}: ${a.addr}`;
  let phrase = encodedWords(a.name).join("\r\n ");
  if (isPlain(a.name)) {
    phrase = /^[\w!#$%&'*+\-/=?^`{|}~ ]+$/.test(a.name) ? a.name : `"${a.name.replace(/[\\"]/g, "\\$&")}"`;
  }
  const head = `${name}: ${phrase}`;
  const lastLine = head.length - head.lastIndexOf("\n") - 1;
  return `${head}${lastLine + a.addr.length + 3 > 76 ? "\r\n " : " "}<${a.addr}>`;
}

function customHeader(name: string, value: string): string {
  if (!/^[!-9;-~]+$/.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  if (RESERVED.has(name.toLowerCase())) throw new TypeError(`header ${name} is set by sendMail`);
  assertHeaderSafe(name, value);
  return unstructured(name, value);
}

/** Quoted-printable (RFC 2045 6.7) with CRLF hard breaks and `=` soft breaks at 76 characters. */
function quotedPrintable(text: string): string {
  return text.split(/\r\n|\r|\n/).flatMap((line) => {
    const bytes = enc.encode(line);
    const out: string[] = [];
    let cur = "";
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const literal = (b > 32 && b < 127 && b !== 61) || ((b === 32 || b === 9) && !last);
      const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
      if (cur.length + token.length > (last ? 76 : 75)) {
        out.push(`${cur}=`);
        cur = "";
      }
      cur += token;
    });
    return [...out, cur];
  }).join("\r\n");
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/** Whether `type` is a bare `type/subtype` of token characters (RFC 2045), safe in any header. */
export function isContentType(type: string): boolean {
  return type.length <= 127 && CONTENT_TYPE.test(type);
}

/** What a file name may not contain: controls, Unicode line separators, bidi marks, quotes, slashes. */
// deno-lint-ignore no-control-regex
const UNSAFE_IN_NAME = /[\x00-\x1f\x7f-\x9f"\\/\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A file name safe to show and to put in a header: NFC, {@link UNSAFE_IN_NAME} characters (CR, LF,
 * NUL, quotes, backslashes, slashes…) replaced by `_`, leading dots and surrounding spaces trimmed,
 * at most 200 characters (keeping a short extension); "attachment" when nothing is left.
 */
export function safeFilename(name: string): string {
  const chars = Array.from(name.normalize("NFC").replace(UNSAFE_IN_NAME, "_").replace(/^[\s.]+|\s+$/g, ""));
  if (chars.length > 200) {
    const ext = Array.from(/\.[^.\s]{1,16}$/.exec(chars.join(""))?.[0] ?? "");
    chars.splice(200 - ext.length, chars.length, ...ext);
  }
  return chars.join("").trim() || "attachment";
}

/** RFC 2231/5987 attr-chars: everything else is percent-encoded. */
const percent = (s: string) =>
  Array.from(enc.encode(s), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9!#$&+.^_`|~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");

/**
 * A MIME parameter as folded lines: `name="value"` when the value is short printable ASCII, else
 * RFC 2231 `name*=UTF-8''…` (split into `name*0*`, `name*1*`… continuations of whole characters).
 */
function mimeParam(name: string, value: string): string[] {
  if (/^[\x20-\x7e]*$/.test(value) && !/["\\]/.test(value) && value.length + name.length <= 70) {
    return [`${name}="${value}"`];
  }
  const chunks: string[] = [];
  let cur = "UTF-8''";
  for (const ch of value) {
    const piece = percent(ch);
    if (cur && cur.length + piece.length > 60) {
      chunks.push(cur);
      cur = "";
    }
    cur += piece;
  }
  chunks.push(cur);
  if (chunks.length === 1) return [`${name}*=${chunks[0]}`];
  return chunks.map((c, i) => `${name}*${i}*=${c}`);
}

/** Base64 in 76-character lines (57 input bytes each), CRLF-separated. */
function base64Lines(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 57 * 1024) {
    const b64 = bytes.subarray(i, i + 57 * 1024).toBase64();
    for (let j = 0; j < b64.length; j += 76) lines.push(b64.slice(j, j + 76));
  }
  return lines.join("\r\n");
}

function attachmentPart(boundary: string, a: Attachment, i: number): string {
  if (!a || typeof a.filename !== "string" || !(a.content instanceof Uint8Array)) {
    throw new TypeError(`attachment ${i}: expected a filename and Uint8Array content`);
  }
  if (typeof a.contentType !== "string" || !isContentType(a.contentType)) {
    throw new TypeError(`attachment ${i}: invalid content type ${JSON.stringify(a.contentType)}`);
  }
  const filename = safeFilename(a.filename);
  const params = (head: string, name: string) => [head, ...mimeParam(name, filename)].join(";\r\n ");
  return `--${boundary}\r\n` +
    `${params(`Content-Type: ${a.contentType.toLowerCase()}`, "name")}\r\n` +
    `${params("Content-Disposition: attachment", "filename")}\r\n` +
    `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(a.content)}\r\n`;
}

/** Builds the RFC 5322 message (exported for tests and for the admin outbox "view source"). */
export function buildMessage(mail: Mail, messageId: string, date: Date = new Date()): string {
  const from = parseAddress("from", mail.from);
  const to = parseAddress("to", mail.to);
  assertHeaderSafe("subject", mail.subject);
  const id = messageId.replace(/^<(.*)>$/, "$1");
  if (!/^[!-;=?-~]+@[!-;=?-~]+$/.test(id)) throw new TypeError(`invalid Message-ID ${JSON.stringify(id)}`);
  const boundary = `=_plaza_${crypto.randomUUID()}`;
  const attachments = mail.attachments ?? [];
  // With attachments the text/HTML alternative becomes the first part of a multipart/mixed.
  const mixed = attachments.length ? `=_plaza_${crypto.randomUUID()}` : null;
  const files = attachments.map((a, i) => attachmentPart(mixed!, a, i)).join("");
  const head = [
    addressHeader("From", from),
    addressHeader("To", to),
    unstructured("Subject", mail.subject),
    `Date: ${date.toUTCString().replace(/GMT$/, "+0000")}`,
    `Message-ID: <${id}>`,
    "MIME-Version: 1.0",
    ...Object.entries(mail.headers ?? {}).map(([k, v]) => customHeader(k, v)),
    mixed
      ? `Content-Type: multipart/mixed;\r\n boundary="${mixed}"`
      : `Content-Type: multipart/alternative;\r\n boundary="${boundary}"`,
  ].join("\r\n");
  if (head.split("\r\n").some((l) => l.length > 998)) throw new TypeError("a header line is too long");
  const part = (type: string, body: string) =>
    `--${boundary}\r\nContent-Type: ${type}; charset=UTF-8\r\n` +
    `Content-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(body)}\r\n`;
  const alternative = `${part("text/plain", mail.text)}${part("text/html", mail.html)}--${boundary}--\r\n`;
  if (!mixed) return `${head}\r\n\r\n${alternative}`;
  return `${head}\r\n\r\n--${mixed}\r\nContent-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n` +
    `${alternative}${files}--${mixed}--\r\n`;
}

function parseSmtpUrl(raw: string) {
  try {
    const url = new URL(raw);
    const secure = url.protocol === "smtps:";
    if (!secure && url.protocol !== "smtp:") throw new Error();
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const local = ["127.0.0.1", "localhost", "::1"].includes(hostname.toLowerCase());
    return {
      secure,
      hostname,
      port: Number(url.port) || (secure ? 465 : 587),
      starttls: !local && url.searchParams.get("tls") !== "off",
      user: url.username ? decodeURIComponent(url.username) : undefined,
      pass: decodeURIComponent(url.password),
    };
  } catch {
    // The URL may hold a password: never echo it.
    throw new TypeError("invalid SMTP URL: expected smtp://[user:pass@]host[:port] or smtps://...");
  }
}

function defaultHeloName(): string {
  const allowed = Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted";
  const name = allowed ? Deno.hostname() : "";
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(name) ? name : "[127.0.0.1]";
}

type Reply = { code: number; text: string };

const failure = (what: string, r: Reply) =>
  new SmtpError(`SMTP ${what} failed: ${r.text}`, r.code, r.code >= 400 && r.code < 500);

type Target = ReturnType<typeof parseSmtpUrl>;

/** One connection with an overall deadline: every read and write races it. */
class Session {
  #conn?: Deno.Conn;
  #buf = new Uint8Array(0);
  #timer: ReturnType<typeof setTimeout>;
  #deadline: Promise<never>;
  #timedOut = false;
  secure = false;

  constructor(timeoutMs: number) {
    let expire!: (e: Error) => void;
    this.#deadline = new Promise((_, reject) => expire = reject);
    this.#deadline.catch(() => {});
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      expire(new SmtpError(`SMTP timed out after ${timeoutMs} ms`, 0, true));
      this.close();
    }, timeoutMs);
  }

  #race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.#deadline]);
  }

  /** Adopts a connection being opened; one that arrives after the deadline is closed at once. */
  async #open(opening: Promise<Deno.Conn>): Promise<void> {
    opening.then((c) => this.#timedOut && c.close(), () => {});
    this.#conn = await this.#race(opening);
  }

  async connect(t: Target): Promise<void> {
    const { hostname, port } = t;
    await this.#open(t.secure ? Deno.connectTls({ hostname, port }) : Deno.connect({ hostname, port }));
    this.secure = t.secure;
  }

  async startTls(hostname: string): Promise<void> {
    if (this.#buf.length) throw new SmtpError("SMTP server sent data before the TLS handshake", 0, false);
    await this.#open(Deno.startTls(this.#conn as Deno.TcpConn, { hostname }));
    this.secure = true;
  }

  async write(text: string): Promise<void> {
    const bytes = enc.encode(text);
    for (let n = 0; n < bytes.length;) n += await this.#race(this.#conn!.write(bytes.subarray(n)));
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const line = dec.decode(this.#buf.subarray(0, i)).replace(/\r$/, "");
        this.#buf = this.#buf.slice(i + 1);
        return line;
      }
      if (this.#buf.length > 65536) throw new SmtpError("SMTP reply line too long", 0, false);
      const chunk = new Uint8Array(16384);
      const n = await this.#race(this.#conn!.read(chunk));
      if (n === null) throw new SmtpError("SMTP server closed the connection", 0, true);
      const joined = new Uint8Array(this.#buf.length + n);
      joined.set(this.#buf);
      joined.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = joined;
    }
  }

  /** Sends `line` (unless null) and reads the reply; throws unless its code is in `expect`, if given. */
  async command(line: string | null, expect: number[] | null, what: string): Promise<Reply> {
    if (line !== null) await this.write(`${line}\r\n`);
    const raw: string[] = [];
    for (;;) {
      const text = await this.#line();
      const m = /^(\d{3})([ -]|$)/.exec(text);
      if (!m || (raw.length && !text.startsWith(raw[0].slice(0, 3)))) {
        throw new SmtpError(`malformed SMTP reply: ${text.slice(0, 200)}`, 0, true);
      }
      raw.push(text);
      if (m[2] === "-") continue;
      const reply = { code: Number(m[1]), text: raw.join("\n") };
      if (expect && !expect.includes(reply.code)) throw failure(what, reply);
      return reply;
    }
  }

  /** EHLO, or HELO when the server refuses EHLO; returns the extensions offered. */
  async hello(name: string): Promise<Map<string, string>> {
    const r = await this.command(`EHLO ${name}`, null, "EHLO");
    if (r.code >= 500) {
      await this.command(`HELO ${name}`, [250], "HELO");
      return new Map();
    }
    if (r.code !== 250) throw failure("EHLO", r);
    const ext = new Map<string, string>();
    for (const l of r.text.split("\n").slice(1)) {
      const [key, ...params] = l.slice(4).trim().split(/[ =]/);
      const k = key.toUpperCase();
      ext.set(k, `${ext.get(k) ?? ""} ${params.join(" ")}`.trim());
    }
    return ext;
  }

  async auth(mechanisms: string, user: string, pass: string): Promise<void> {
    const offered = mechanisms.toUpperCase().split(/\s+/);
    const b64 = (s: string) => base64(enc.encode(s));
    if (offered.includes("PLAIN")) {
      await this.command(`AUTH PLAIN ${b64(`\0${user}\0${pass}`)}`, [235], "AUTH");
    } else if (offered.includes("LOGIN")) {
      await this.command("AUTH LOGIN", [334], "AUTH");
      await this.command(b64(user), [334], "AUTH");
      await this.command(b64(pass), [235], "AUTH");
    } else throw new SmtpError("SMTP server offers neither AUTH PLAIN nor AUTH LOGIN", 0, false);
  }

  close(): void {
    clearTimeout(this.#timer);
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
  }
}

/** Sends `mail` through the server at `smtpUrl` (smtp://user:pass@host:587, smtps://host:465 for implicit TLS; smtp:// upgrades with STARTTLS when the server offers it, unless the host is 127.0.0.1/localhost or the URL has ?tls=off). Returns the Message-ID used and the server's final reply. */
export async function sendMail(
  smtpUrl: string,
  mail: Mail,
  options: { timeoutMs?: number; heloName?: string } = {},
): Promise<{ messageId: string; response: string }> {
  const target = parseSmtpUrl(smtpUrl);
  const from = parseAddress("from", mail.from);
  const to = parseAddress("to", mail.to);
  const messageId = `<${crypto.randomUUID()}@${from.addr.split("@")[1].toLowerCase()}>`;
  const data = buildMessage(mail, messageId).replace(/(^|\r\n)\./g, "$1..");
  const helo = options.heloName ?? defaultHeloName();
  if (!/^[!-~]+$/.test(helo)) throw new TypeError("heloName must be one printable ASCII word");
  const s = new Session(options.timeoutMs ?? 15_000);
  try {
    await s.connect(target);
    await s.command(null, [220], "greeting");
    let ext = await s.hello(helo);
    if (!s.secure && target.starttls && ext.has("STARTTLS")) {
      await s.command("STARTTLS", [220], "STARTTLS");
      await s.startTls(target.hostname);
      ext = await s.hello(helo);
    }
    if (target.user !== undefined) {
      if (!s.secure && target.starttls) {
        throw new SmtpError("no STARTTLS offered: refusing to send the password in clear", 0, false);
      }
      await s.auth(ext.get("AUTH") ?? "", target.user, target.pass);
    }
    await s.command(`MAIL FROM:<${from.addr}>`, [250], "MAIL FROM");
    await s.command(`RCPT TO:<${to.addr}>`, [250, 251], "RCPT TO");
    await s.command("DATA", [354], "DATA");
    await s.write(`${data}.\r\n`);
    const done = await s.command(null, [250], "DATA");
    await s.command("QUIT", [221], "QUIT").catch(() => {});
    return { messageId, response: done.text };
  } catch (e) {
    if (e instanceof SmtpError) throw e;
    throw new SmtpError(`SMTP connection failed: ${(e as Error).message}`, 0, true, { cause: e });
  } finally {
    s.close();
  }
}
