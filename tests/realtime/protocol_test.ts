import assert from "node:assert/strict";
import { hmacKey } from "@/lib/auth/jwt.ts";
import { createLogger } from "@/lib/log.ts";
import type { RealtimeLimits } from "@/lib/realtime/connection.ts";
import { createRealtimeServer } from "@/lib/realtime/server.ts";
import { mintApiKeys } from "@/lib/realtime/tokens.ts";
import { freshDb } from "../support/db.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A bare realtime server (no HTTP app) with test limits, and raw WebSocket helpers. */
async function rawServer(limits: Partial<RealtimeLimits> = {}) {
  const testDb = await freshDb();
  const jwtKey = await hmacKey("protocol-test-secret-protocol-test-secret");
  const rt = await createRealtimeServer({ db: testDb.db, jwtKey, log: createLogger("error"), limits });
  const keys = await mintApiKeys(jwtKey);
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => rt.upgrade(req));
  const url = `ws://127.0.0.1:${http.addr.port}/realtime/v1/websocket?apikey=${keys.anonKey}&vsn=2.0.0`;
  return {
    url,
    async open() {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const inbox: unknown[] = [];
      const waiters: (() => void)[] = [];
      ws.onmessage = (e) => {
        inbox.push(typeof e.data === "string" ? JSON.parse(e.data) : new Uint8Array(e.data));
        waiters.splice(0).forEach((w) => w());
      };
      const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
      await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
      return {
        ws,
        inbox,
        closed,
        send: (frame: unknown) =>
          ws.send(
            typeof frame === "string" || frame instanceof Uint8Array
              ? frame as string
              : JSON.stringify(frame),
          ),
        /** Waits until a message matching `pred` arrives. */
        async expect(pred: (m: unknown) => boolean, timeoutMs = 3000): Promise<unknown> {
          const end = Date.now() + timeoutMs;
          while (Date.now() < end) {
            const found = inbox.find(pred);
            if (found) return found;
            await new Promise<void>((r) => {
              waiters.push(r);
              setTimeout(r, 50);
            });
          }
          throw new Error(`no matching message; got ${JSON.stringify(inbox).slice(0, 500)}`);
        },
      };
    },
    async close() {
      await rt.close();
      await http.shutdown();
      await testDb.drop();
    },
  };
}

const replyTo = (ref: string) => (m: unknown) => Array.isArray(m) && m[1] === ref && m[3] === "phx_reply";

Deno.test({
  name:
    "[realtime] malformed frames, unknown events and bad binary headers get errors; the socket and others survive",
  ...opts,
  fn: async () => {
    const s = await rawServer();
    try {
      const a = await s.open();
      const b = await s.open();
      b.send(["1", "1", "realtime:x", "phx_join", { config: {} }]);
      await b.expect(replyTo("1"));
      for (
        const junk of [
          "not json",
          "[1,2]",
          '{"a":1}',
          "[null,null,null,null,null]",
          '[null,"2","","e",{}]',
          '["1","3","realtime:x","e",5]',
        ]
      ) {
        a.send(junk);
      }
      a.send(new Uint8Array([9, 9, 9]));
      a.send(new Uint8Array([3, 1, 1, 200, 1, 0, 1, 0x31, 0x32]));
      a.send(["1", "4", "realtime:nojoin", "broadcast", { type: "broadcast", event: "e", payload: {} }]);
      const unmatched = await a.expect(replyTo("4")) as [
        unknown,
        unknown,
        unknown,
        unknown,
        { status: string; response: { reason: string } },
      ];
      assert.equal(unmatched[4].status, "error");
      assert.equal(unmatched[4].response.reason, "unmatched topic");
      a.send([null, "5", "phoenix", "heartbeat", {}]);
      const hb = await a.expect(replyTo("5")) as unknown[];
      assert.deepEqual(hb, [null, "5", "phoenix", "phx_reply", { status: "ok", response: {} }]);
      a.send(["1", "6", "realtime:x", "phx_join", { config: {} }]);
      await a.expect(replyTo("6"));
      a.send(["1", "7", "realtime:x", "whatever", {}]);
      const unknown = await a.expect(replyTo("7")) as [
        unknown,
        unknown,
        unknown,
        unknown,
        { response: { reason: string } },
      ];
      assert.equal(unknown[4].response.reason, "unknown event");
      // b is unaffected and still hears a's broadcasts.
      a.send(["1", "8", "realtime:x", "broadcast", { type: "broadcast", event: "hi", payload: { ok: 1 } }]);
      await b.expect((m) => Array.isArray(m) && m[3] === "broadcast");
      a.ws.close();
      b.ws.close();
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "[realtime] fuzz: random frames never crash the server",
  ...opts,
  fn: async () => {
    const s = await rawServer({ maxMessagesPerSecond: 10_000 });
    try {
      const a = await s.open();
      let seed = 7;
      const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      for (let i = 0; i < 500; i++) {
        const len = Math.floor(rand() * 64);
        const bytes = Uint8Array.from({ length: len }, () => Math.floor(rand() * 256));
        if (rand() < 0.3) bytes[0] = 3;
        if (rand() < 0.5) a.send(bytes);
        else a.send(new TextDecoder().decode(bytes));
      }
      const b = await s.open();
      b.send([null, "1", "phoenix", "heartbeat", {}]);
      await b.expect(replyTo("1"));
      b.ws.close();
      a.ws.close();
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "[realtime] limits: too many channels, too many joins, floods and silent sockets",
  ...opts,
  fn: async () => {
    const s = await rawServer({
      maxChannelsPerSocket: 3,
      maxJoinsPer10s: 5,
      maxMessagesPerSecond: 20,
      idleTimeoutMs: 1500,
    });
    try {
      const a = await s.open();
      for (let i = 1; i <= 4; i++) {
        a.send([String(i), String(i), `realtime:c${i}`, "phx_join", { config: {} }]);
      }
      const fourth = await a.expect(replyTo("4")) as [
        unknown,
        unknown,
        unknown,
        unknown,
        { response: { reason: string } },
      ];
      assert.equal(fourth[4].response.reason, "too_many_channels");
      a.send(["1", "5", "realtime:c1", "phx_leave", {}]);
      const left = await a.expect(replyTo("5")) as [unknown, unknown, unknown, unknown, { status: string }];
      assert.equal(left[4].status, "ok");

      // Rejoining one topic over and over does not add channels, but it does count as joins.
      const j = await s.open();
      for (let i = 1; i <= 6; i++) {
        j.send([String(i), String(i), "realtime:same", "phx_join", { config: {} }]);
      }
      const sixth = await j.expect(replyTo("6")) as [
        unknown,
        unknown,
        unknown,
        unknown,
        { response: { reason: string } },
      ];
      assert.equal(sixth[4].response.reason, "too_many_joins");
      j.ws.close();

      const flood = await s.open();
      // Twice the per-second allowance, plus one: the server closes the socket.
      for (let i = 0; i < 41; i++) flood.send([null, String(i), "phoenix", "heartbeat", {}]);
      const closed = await flood.closed;
      assert.equal(`${closed.code} ${closed.reason}`, "1008 too_many_messages");

      const silent = await s.open();
      const idle = await silent.closed;
      assert.equal(idle.reason, "heartbeat_timeout");
      a.ws.close();
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "[realtime] an oversized binary frame and an overlong topic are refused with a reason",
  ...opts,
  fn: async () => {
    const s = await rawServer({ maxPayloadBytes: 2048 });
    try {
      const a = await s.open();
      a.send(["1", "1", "realtime:x", "phx_join", { config: {} }]);
      await a.expect(replyTo("1"));
      const header = new TextEncoder().encode("12realtime:xe");
      const frame = new Uint8Array(7 + header.length + 10_000);
      frame.set([3, 1, 1, 10, 1, 0, 1]);
      frame.set(header, 7);
      a.send(frame);
      const big = await a.expect(replyTo("2")) as [
        unknown,
        unknown,
        unknown,
        unknown,
        { response: { reason: string } },
      ];
      assert.equal(big[4].response.reason, "payload_too_large");
      a.send(["3", "3", `realtime:${"t".repeat(250)}`, "phx_join", { config: {} }]);
      const long = await a.expect(replyTo("3")) as [
        unknown,
        unknown,
        unknown,
        unknown,
        { response: { reason: string } },
      ];
      assert.match(long[4].response.reason, /InvalidTopic/);
      a.ws.close();
    } finally {
      await s.close();
    }
  },
});
