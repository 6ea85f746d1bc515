import assert from "node:assert/strict";
import { mintApiKeys } from "@/lib/realtime/tokens.ts";
import { hmacKey } from "@/lib/auth/jwt.ts";
import { DATABASE_URL, freshDb } from "../support/db.ts";
import { startServer } from "../support/server.ts";
import { client, closeAll, collector, subscribe } from "../support/realtime.ts";

const SECRET = "cluster-test-secret-cluster-test-secret-0123";

Deno.test({
  name:
    "[realtime] two processes on one Postgres: broadcast, database sends and presence reach both, a dead process's presence leaves",
  ignore: !DATABASE_URL,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const testDb = await freshDb();
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const env = (dir: string) => ({
      PLAZA_DATA_DIR: dir,
      DATABASE_URL: testDb.url!,
      PLAZA_SECRET: SECRET,
      LOG_LEVEL: "warn",
    });
    const [one, two] = await Promise.all(dirs.map((d) => startServer(env(d))));
    const { anonKey } = await mintApiKeys(await hmacKey(SECRET));
    const a = client(one.url, anonKey);
    const b = client(two.url, anonKey);
    try {
      const gotB = collector<Record<string, unknown>>();
      const gotA = collector<Record<string, unknown>>();
      const presenceA = collector<{ event: string; key: string }>();
      const chA = a.channel("hall", { config: { presence: { key: "alice" } } })
        .on("broadcast", { event: "*" }, (m) => gotA.push(m))
        .on("presence", { event: "join" }, ({ key }) => presenceA.push({ event: "join", key }))
        .on("presence", { event: "leave" }, ({ key }) => presenceA.push({ event: "leave", key }));
      const chB = b.channel("hall", { config: { presence: { key: "bob" } } }).on(
        "broadcast",
        { event: "*" },
        (m) => gotB.push(m),
      );
      assert.equal((await subscribe(chA)).status, "SUBSCRIBED");
      assert.equal((await subscribe(chB)).status, "SUBSCRIBED");

      await chA.send({ type: "broadcast", event: "from-a", payload: { n: 1 } });
      const [m] = await gotB.waitFor(1);
      assert.equal(m.event, "from-a", "a broadcast on process one reaches a client of process two");

      await testDb.db.query("select realtime.send('{\"x\":1}'::jsonb, 'from-db', 'hall', false)");
      await gotA.waitFor(1);
      await gotB.waitFor(2);

      assert.equal(await chB.track({ name: "Bob" }), "ok");
      await presenceA.waitFor(1);
      assert.deepEqual(presenceA.items[0], { event: "join", key: "bob" });

      // Process two dies without a goodbye: its presences leave process one within 30 s.
      two.process.kill("SIGKILL");
      const started = Date.now();
      await presenceA.waitFor(2, 30_000);
      assert.deepEqual(presenceA.items[1], { event: "leave", key: "bob" });
      assert.ok(Date.now() - started < 30_000);
    } finally {
      await closeAll(a, b);
      await one.stop();
      await two.stop().catch(() => {});
      await testDb.drop();
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  },
});
