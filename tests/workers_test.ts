import assert from "node:assert/strict";
import { z } from "zod";
import { qstashSignature } from "./support/fake_qstash.ts";
import { defineJob } from "@/lib/jobs/runner.ts";
import { createLogger } from "@/lib/log.ts";
import { loadConfig } from "@/lib/config.ts";
import { createPlatform } from "@/lib/platform.ts";
import { createApp } from "@/routes/app.ts";
import { freshDb } from "./support/db.ts";
import { testIslands } from "./support/app.ts";

const ran: unknown[] = [];
const ping = defineJob({
  name: "ping",
  payload: z.strictObject({ n: z.number() }),
  run: (p) => {
    ran.push(p.n);
    return Promise.resolve();
  },
});

const sign = (key: string, body: string, url: string, over: Record<string, unknown> = {}) =>
  qstashSignature(key, url, body, over);

Deno.test({
  name: "[workers] /workers/* runs only requests signed like QStash's, with the current or the next key",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await freshDb();
    const dataDir = await Deno.makeTempDir();
    const keys = {
      QSTASH_TOKEN: "t",
      QSTASH_CURRENT_SIGNING_KEY: "sig_current_key",
      QSTASH_NEXT_SIGNING_KEY: "sig_next_key",
    };
    const config = loadConfig({
      PLAZA_DATA_DIR: dataDir,
      PUBLIC_URL: "https://plaza.example.org",
      PLAZA_SECRET: "w".repeat(40),
      ...keys,
    });
    const platform = await createPlatform(config, { db: t.db, log: createLogger("error") });
    const app = await createApp(platform, { islands: await testIslands(), workers: [ping] });
    const call = (path: string, body: string, headers: Record<string, string> = {}, method = "POST") =>
      app.request(path, {
        method,
        body: method === "GET" ? undefined : body,
        headers: { "content-type": "application/json", ...headers },
      });
    const url = "https://plaza.example.org/workers/ping";
    try {
      ran.length = 0;
      const body = JSON.stringify({ n: 1 });
      const firstSignature = await sign("sig_current_key", body, url);
      const ok = await call("/workers/ping", body, { "upstash-signature": firstSignature });
      assert.equal(ok.status, 200);
      const replay = await call("/workers/ping", body, { "upstash-signature": firstSignature });
      assert.equal(replay.status, 401, "a used signature is not accepted again");
      assert.equal((await replay.json()).error.code, "replayed_signature");
      const next = await call("/workers/ping", JSON.stringify({ n: 2 }), {
        "upstash-signature": await sign("sig_next_key", JSON.stringify({ n: 2 }), url),
      });
      assert.equal(next.status, 200, "the next key is accepted during rotation");
      assert.deepEqual(ran, [1, 2]);

      const refused: [string, Response][] = [
        ["missing", await call("/workers/ping", body)],
        [
          "wrong key",
          await call("/workers/ping", body, { "upstash-signature": await sign("sig_other", body, url) }),
        ],
        [
          "tampered body",
          await call("/workers/ping", JSON.stringify({ n: 666 }), {
            "upstash-signature": await sign("sig_current_key", body, url),
          }),
        ],
        [
          "other url",
          await call("/workers/ping", body, {
            "upstash-signature": await sign("sig_current_key", body, "https://evil.example/workers/ping"),
          }),
        ],
        [
          "expired",
          await call("/workers/ping", body, {
            "upstash-signature": await sign("sig_current_key", body, url, { exp: 1000, nbf: 900, iat: 900 }),
          }),
        ],
        [
          "wrong issuer",
          await call("/workers/ping", body, {
            "upstash-signature": await sign("sig_current_key", body, url, { iss: "me" }),
          }),
        ],
        ["unsigned unknown worker", await call("/workers/nope", body)],
        ["garbage", await call("/workers/ping", body, { "upstash-signature": "not-a-jwt" })],
      ];
      for (const [label, res] of refused) {
        assert.equal(res.status, 401, label);
        assert.equal((await res.json()).error.code, "invalid_signature", label);
      }
      assert.deepEqual(ran, [1, 2], "no refused call ran anything");

      const unknownUrl = "https://plaza.example.org/workers/nope";
      const unknown = await call("/workers/nope", body, {
        "upstash-signature": await sign("sig_current_key", body, unknownUrl),
      });
      assert.equal(unknown.status, 404);
      const bad = JSON.stringify({ n: "x" });
      const invalid = await call("/workers/ping", bad, {
        "upstash-signature": await sign("sig_current_key", bad, url),
      });
      assert.equal(invalid.status, 422);
      const get = await call("/workers/ping", "", {
        "upstash-signature": await sign("sig_current_key", "", url),
      }, "GET");
      assert.equal(get.status, 405);
    } finally {
      await platform.close();
      await t.drop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
