import assert from "node:assert/strict";
import { encodeCommand, parseReply, RespClient, RespError, type RespValue } from "./resp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);
const parse = (s: string, pos?: number) => parseReply(bytes(s), pos);

Deno.test("[resp] encodeCommand writes an array of bulk strings", () => {
  assert.equal(dec.decode(encodeCommand(["SET", "k", "v"])), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  assert.equal(dec.decode(encodeCommand(["PING"])), "*1\r\n$4\r\nPING\r\n");
  assert.equal(dec.decode(encodeCommand([])), "*0\r\n");
});

Deno.test("[resp] encodeCommand writes numbers as decimal strings and keeps empty strings", () => {
  assert.equal(
    dec.decode(encodeCommand(["SET", "k", "", "PX", 100])),
    "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$2\r\nPX\r\n$3\r\n100\r\n",
  );
  assert.equal(
    dec.decode(encodeCommand(["INCRBY", "k", -12])),
    "*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$3\r\n-12\r\n",
  );
});

Deno.test("[resp] encodeCommand counts bytes, not UTF-16 units, for multi-byte strings", () => {
  assert.equal(dec.decode(encodeCommand(["é"])), "*1\r\n$2\r\né\r\n");
  assert.equal(dec.decode(encodeCommand(["€"])), "*1\r\n$3\r\n€\r\n");
  assert.equal(dec.decode(encodeCommand(["👋"])), "*1\r\n$4\r\n👋\r\n");
  assert.equal(dec.decode(encodeCommand(["héllo 👋"])), "*1\r\n$11\r\nhéllo 👋\r\n");
  // Values with CR/LF inside are framed by their length, not by the line end.
  assert.equal(dec.decode(encodeCommand(["a\r\nb"])), "*1\r\n$4\r\na\r\nb\r\n");
});

Deno.test("[resp] encodeCommand output parses back to the same arguments", () => {
  const args = ["EVAL", "return 1", 1, "key:é", "", "a\r\nb", "👋👋", 0];
  const buf = encodeCommand(args);
  assert.deepEqual(parseReply(buf), [args.map(String), buf.length]);
});

Deno.test("[resp] parseReply reads a simple string", () => {
  assert.deepEqual(parse("+OK\r\n"), ["OK", 5]);
  assert.deepEqual(parse("+\r\n"), ["", 3]);
  assert.deepEqual(parse("+PONG\r\n"), ["PONG", 7]);
});

Deno.test("[resp] parseReply returns an error reply as a RespError value, not a throw", () => {
  const r = parse("-ERR wrong number of arguments\r\n");
  assert.ok(r);
  const [value, next] = r;
  assert.ok(value instanceof RespError);
  assert.equal(value.message, "ERR wrong number of arguments");
  assert.equal(value.name, "RespError");
  assert.equal(next, 32);
});

Deno.test("[resp] parseReply reads integers", () => {
  assert.deepEqual(parse(":0\r\n"), [0, 4]);
  assert.deepEqual(parse(":42\r\n"), [42, 5]);
  assert.deepEqual(parse(":-7\r\n"), [-7, 5]);
  assert.deepEqual(parse(":1700000000000\r\n"), [1700000000000, 16]);
});

Deno.test("[resp] parseReply reads bulk strings, empty and null ones", () => {
  assert.deepEqual(parse("$5\r\nhello\r\n"), ["hello", 11]);
  assert.deepEqual(parse("$0\r\n\r\n"), ["", 6]);
  assert.deepEqual(parse("$-1\r\n"), [null, 5]);
  // The length frames the value: CR/LF inside it are data.
  assert.deepEqual(parse("$4\r\na\r\nb\r\n"), ["a\r\nb", 10]);
});

Deno.test("[resp] parseReply reads multi-byte UTF-8 bulk strings by byte length", () => {
  const cases = ["é", "€", "👋", "héllo wörld", "日本語", "a👋b"];
  for (const s of cases) {
    const n = bytes(s).length;
    assert.ok(n > s.length || s === "", `${s} has multi-byte characters`);
    const wire = `$${n}\r\n${s}\r\n`;
    assert.deepEqual(parse(wire), [s, bytes(wire).length], s);
  }
  // Two bulk strings back to back: the position after the first points exactly at the second.
  const buf = bytes("$2\r\né\r\n$4\r\n👋\r\n");
  const first = parseReply(buf);
  assert.ok(first);
  assert.deepEqual(first, ["é", 8]);
  assert.deepEqual(parseReply(buf, first[1]), ["👋", buf.length]);
  // Cut inside a multi-byte character: not whole yet, rather than a mangled string.
  assert.equal(parseReply(bytes("$4\r\n👋\r\n").subarray(0, 6)), undefined);
});

Deno.test("[resp] parseReply reads arrays, empty and null ones", () => {
  assert.deepEqual(parse("*0\r\n"), [[], 4]);
  assert.deepEqual(parse("*-1\r\n"), [null, 5]);
  const wire = "*4\r\n$3\r\nfoo\r\n:12\r\n$-1\r\n+OK\r\n";
  assert.deepEqual(parse(wire), [["foo", 12, null, "OK"], wire.length]);
});

Deno.test("[resp] parseReply reads nested arrays and errors inside arrays", () => {
  const wire = "*3\r\n*2\r\n:1\r\n*1\r\n$1\r\na\r\n*0\r\n-ERR inner\r\n";
  const r = parseReply(bytes(wire));
  assert.ok(r);
  const [value, next] = r as [RespValue[], number];
  assert.equal(next, wire.length);
  assert.deepEqual(value.slice(0, 2), [[1, ["a"]], []]);
  assert.ok(value[2] instanceof RespError);
  assert.equal(value[2].message, "ERR inner");
  // An EXEC-style reply.
  assert.deepEqual(parse("*2\r\n+OK\r\n:3\r\n"), [["OK", 3], 13]);
});

Deno.test("[resp] parseReply starts at the given position", () => {
  const buf = bytes("+OK\r\n:5\r\n$1\r\nx\r\n");
  const a = parseReply(buf, 0);
  assert.ok(a);
  assert.deepEqual(a, ["OK", 5]);
  const b = parseReply(buf, a[1]);
  assert.ok(b);
  assert.deepEqual(b, [5, 9]);
  assert.deepEqual(parseReply(buf, b[1]), ["x", buf.length]);
  assert.equal(parseReply(buf, buf.length), undefined);
});

Deno.test("[resp] parseReply returns undefined for every prefix of an incomplete reply", () => {
  const wires = [
    "+OK\r\n",
    "-ERR no\r\n",
    ":123\r\n",
    "$5\r\nhello\r\n",
    "$-1\r\n",
    "$6\r\nhéllo\r\n",
    "*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
    "*-1\r\n",
  ];
  for (const wire of wires) {
    const buf = bytes(wire);
    for (let cut = 0; cut < buf.length; cut++) {
      assert.equal(parseReply(buf.subarray(0, cut)), undefined, `${JSON.stringify(wire)} cut at ${cut}`);
    }
    assert.equal(parseReply(buf)?.[1], buf.length, JSON.stringify(wire));
  }
});

Deno.test("[resp] parseReply throws a RespError on an unknown type byte", () => {
  for (const wire of ["?x\r\n", "OK\r\n", "\r\n", "\x00\r\n"]) {
    assert.throws(() => parse(wire), RespError, JSON.stringify(wire));
  }
});

/** A small seeded PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 2,000 buffers: random bytes, RESP-looking token soup, and mangled valid replies. */
function fuzzBuffers(seed: number, count: number): Uint8Array[] {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const tokens = [
    "*",
    "$",
    ":",
    "+",
    "-",
    "\r\n",
    "\r",
    "\n",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "10",
    "999999999",
    "1e3",
    "abc",
    "OK",
    "é",
    "👋",
    " ",
    ".5",
  ];
  const valid = [
    "+OK\r\n",
    "-ERR x\r\n",
    ":42\r\n",
    "$3\r\nabc\r\n",
    "$-1\r\n",
    "*2\r\n$1\r\na\r\n:1\r\n",
    "*1\r\n*1\r\n*0\r\n",
    "$2\r\né\r\n",
  ];
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const buf = new Uint8Array(int(64));
      for (let j = 0; j < buf.length; j++) buf[j] = int(256);
      out.push(buf);
    } else if (kind === 1) {
      let s = "";
      for (let j = int(16); j >= 0; j--) s += tokens[int(tokens.length)];
      out.push(bytes(s));
    } else {
      let s = "";
      for (let j = int(4); j >= 0; j--) s += valid[int(valid.length)];
      const buf = bytes(s);
      for (let j = int(4); j > 0; j--) buf[int(buf.length)] = int(256);
      out.push(buf.subarray(int(2) ? 0 : int(buf.length), int(2) ? buf.length : int(buf.length + 1)));
    }
  }
  return out;
}

Deno.test({
  name: "[resp] fuzz: parseReply returns a value or undefined, or throws RespError, and never hangs",
  async fn() {
    const seed = Number(Deno.env.get("RESP_FUZZ_SEED") ?? Date.now() % 2 ** 31);
    const buffers = fuzzBuffers(seed, 2000);
    // parseReply is synchronous: a hang would freeze this process, so it runs in a worker that can
    // be stopped. The worker publishes the index it is at, to name the buffer that hung.
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const code = `
      import { parseReply, RespError } from ${JSON.stringify(new URL("./resp.ts", import.meta.url).href)};
      self.onmessage = ({ data: { buffers, progress } }) => {
        const counts = { value: 0, incomplete: 0, respError: 0 };
        const others = [];
        buffers.forEach((buf, i) => {
          Atomics.store(progress, 0, i);
          try {
            if (parseReply(buf) === undefined) counts.incomplete++;
            else counts.value++;
          } catch (err) {
            if (err instanceof RespError) counts.respError++;
            else others.push({ i, name: err?.name, message: String(err?.message ?? err) });
          }
        });
        self.postMessage({ counts, others });
      };
    `;
    const url = URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
    const worker = new Worker(url, { type: "module" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await new Promise<{
        counts: { value: number; incomplete: number; respError: number };
        others: { i: number; name: string; message: string }[];
      }>((resolve, reject) => {
        worker.onmessage = (m) => resolve(m.data);
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`fuzz worker failed: ${e.message}`));
        };
        timer = setTimeout(() => {
          const i = Atomics.load(progress, 0);
          reject(new Error(`parseReply hung on buffer ${i}: [${buffers[i]}] (seed ${seed})`));
        }, 20_000);
        worker.postMessage({ buffers, progress });
      });
      const show = (i: number) => JSON.stringify(dec.decode(buffers[i].subarray(0, 80)));
      assert.deepEqual(
        result.others.map((o) => `${o.name}: ${o.message} on ${show(o.i)}`),
        [],
        `seed ${seed}`,
      );
      const { value, incomplete, respError } = result.counts;
      assert.equal(value + incomplete + respError, buffers.length);
      // The corpus reaches every outcome, so the fuzz is not vacuous.
      assert.ok(value > 0 && incomplete > 0 && respError > 0, JSON.stringify(result.counts));
    } finally {
      clearTimeout(timer);
      worker.terminate();
      URL.revokeObjectURL(url);
    }
  },
});

Deno.test({
  name: "[resp] commands issued while connecting wait for SELECT: none lands in another database",
  ignore: !Deno.env.get("REDIS_URL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const base = new URL(Deno.env.get("REDIS_URL")!);
    const prefix = `plaza-test:select:${crypto.randomUUID()}:`;
    const db5 = new RespClient(Object.assign(new URL(base), { pathname: "/5" }).toString());
    const db0 = new RespClient(Object.assign(new URL(base), { pathname: "/0" }).toString());
    try {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => db5.command("SET", `${prefix}${i}`, "x", "PX", 60_000)),
      );
      const inDb0 = await Promise.all(
        Array.from({ length: 100 }, (_, i) => db0.command("EXISTS", `${prefix}${i}`)),
      );
      assert.equal(inDb0.reduce((a, b) => Number(a) + Number(b), 0), 0);
      const inDb5 = await Promise.all(
        Array.from({ length: 100 }, (_, i) => db5.command("EXISTS", `${prefix}${i}`)),
      );
      assert.equal(inDb5.reduce((a, b) => Number(a) + Number(b), 0), 100);
      await Promise.all(Array.from({ length: 100 }, (_, i) => db5.command("DEL", `${prefix}${i}`)));
    } finally {
      db5.close();
      db0.close();
    }
  },
});
