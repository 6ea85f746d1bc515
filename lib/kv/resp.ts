/**
 * A minimal Redis client over TCP speaking RESP2: pipelined commands, replies matched in order,
 * reconnect on the next command after a failure, a timeout per command.
 */

/** A reply from Redis. */
export type RespValue = string | number | null | RespValue[] | RespError;

/** An error reply (`-ERR …`). */
export class RespError extends Error {
  override name = "RespError";
}

const enc = new TextEncoder();

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: (string | number)[]): Uint8Array {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${enc.encode(s).length}\r\n${s}\r\n`;
  }
  return enc.encode(out);
}

/**
 * Parses one RESP value from `buf` at `pos`; returns it and the next position, or undefined when
 * the buffer does not hold a whole value yet.
 */
export function parseReply(buf: Uint8Array, pos = 0): [RespValue, number] | undefined {
  return parseAt(buf, pos, 0);
}

const MAX_DEPTH = 64;

function length(line: string): number {
  const n = Number(line);
  if (!/^-?\d+$/.test(line) || !Number.isSafeInteger(n) || n < -1) {
    throw new RespError(`bad RESP length ${JSON.stringify(line.slice(0, 20))}`);
  }
  return n;
}

function integer(line: string): number {
  const n = Number(line);
  if (!/^-?\d+$/.test(line) || !Number.isSafeInteger(n)) {
    throw new RespError(`bad RESP integer ${JSON.stringify(line.slice(0, 20))}`);
  }
  return n;
}

function parseAt(buf: Uint8Array, pos: number, depth: number): [RespValue, number] | undefined {
  if (depth > MAX_DEPTH) throw new RespError("RESP reply nested too deeply");
  const lineEnd = buf.indexOf(13, pos);
  if (lineEnd < 0 || lineEnd + 1 >= buf.length) return undefined;
  if (buf[lineEnd + 1] !== 10) throw new RespError("RESP line not ended by CRLF");
  const type = String.fromCharCode(buf[pos]);
  const line = new TextDecoder().decode(buf.subarray(pos + 1, lineEnd));
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":":
      return [integer(line), next];
    case "$": {
      const len = length(line);
      if (len < 0) return [null, next];
      if (next + len + 2 > buf.length) return undefined;
      if (buf[next + len] !== 13 || buf[next + len + 1] !== 10) {
        throw new RespError("RESP bulk string not ended by CRLF");
      }
      return [new TextDecoder().decode(buf.subarray(next, next + len)), next + len + 2];
    }
    case "*": {
      const n = length(line);
      if (n < 0) return [null, next];
      const items: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseAt(buf, p, depth + 1);
        if (!r) return undefined;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new RespError(`unexpected RESP type byte ${buf[pos]}`);
  }
}

interface Pending {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A connection to one Redis server. */
export class RespClient {
  #conn: Deno.Conn | undefined;
  #connecting: Promise<Deno.Conn> | undefined;
  #pending: Pending[] = [];
  #closed = false;
  #writes: Promise<void> = Promise.resolve();
  #dropped = new WeakSet<Deno.Conn>();
  readonly #url: URL;

  constructor(url: string, readonly timeoutMs = 2000) {
    this.#url = new URL(url);
  }

  async #connect(): Promise<Deno.Conn> {
    if (this.#conn) return this.#conn;
    this.#connecting ??= (async () => {
      const target = { hostname: this.#url.hostname || "127.0.0.1", port: Number(this.#url.port || 6379) };
      const conn = this.#url.protocol === "rediss:"
        ? await Deno.connectTls(target)
        : await Deno.connect(target);
      if (this.#closed) {
        conn.close();
        throw new Error("redis client closed");
      }
      this.#readLoop(conn);
      this.#writes = Promise.resolve();
      const password = decodeURIComponent(this.#url.password);
      const user = decodeURIComponent(this.#url.username);
      const db = this.#url.pathname.slice(1);
      const setup = [
        ...(password ? [user ? ["AUTH", user, password] : ["AUTH", password]] : []),
        ...(db ? [["SELECT", db]] : []),
      ];
      for (const args of setup) {
        const reply = await this.#send(conn, args);
        if (reply instanceof RespError) {
          this.#drop(conn, reply);
          throw reply;
        }
      }
      if (this.#closed) {
        this.#drop(conn, new Error("redis client closed"));
        throw new Error("redis client closed");
      }
      // Published only now: commands issued meanwhile waited on #connecting, so none of them can
      // reach the server before AUTH and SELECT.
      this.#conn = conn;
      return conn;
    })().finally(() => (this.#connecting = undefined));
    return await this.#connecting;
  }

  async #readLoop(conn: Deno.Conn) {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(chunk);
        if (n === null) break;
        const merged = new Uint8Array(buf.length + n);
        merged.set(buf);
        merged.set(chunk.subarray(0, n), buf.length);
        buf = merged;
        let pos = 0;
        while (pos < buf.length) {
          const r = parseReply(buf, pos);
          if (!r) break;
          pos = r[1];
          const p = this.#pending.shift();
          if (p) {
            clearTimeout(p.timer);
            p.resolve(r[0]);
          }
        }
        buf = buf.slice(pos);
      }
    } catch {
      // fall through: the connection is gone
    }
    this.#drop(conn, new Error("redis connection closed"));
  }

  #drop(conn: Deno.Conn, err: Error) {
    if (this.#dropped.has(conn)) return;
    this.#dropped.add(conn);
    if (this.#conn === conn) this.#conn = undefined;
    try {
      conn.close();
    } catch { /* already closed */ }
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  #send(conn: Deno.Conn, args: (string | number)[]): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(conn, new Error(`redis command timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.#pending.push({ resolve, reject, timer });
      // Writes are chained so commands never interleave, and looped because write() may be partial.
      const bytes = encodeCommand(args);
      this.#writes = this.#writes.then(async () => {
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      }).catch((e) => this.#drop(conn, e));
    });
  }

  /** Sends one command; rejects on error replies and connection failures. */
  async command(...args: (string | number)[]): Promise<RespValue> {
    if (this.#closed) throw new Error("redis client closed");
    const reply = await this.#send(await this.#connect(), args);
    if (reply instanceof RespError) throw reply;
    return reply;
  }

  close() {
    this.#closed = true;
    if (this.#conn) this.#drop(this.#conn, new Error("redis client closed"));
  }
}
