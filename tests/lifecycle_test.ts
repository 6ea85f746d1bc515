import assert from "node:assert/strict";
import postgres from "postgres";
import { DATABASE_URL, withDatabase } from "./support/db.ts";
import { appTest } from "./support/app.ts";
import { startServer } from "./support/server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const credentials = { email: "durable@example.test", password: "durable-password", name: "Durable" };

Deno.test({
  name: "[lifecycle] SIGTERM finishes in-flight requests, closes the database, and data survives a restart",
  ...opts,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "plaza-life-" });
    let dbName: string | undefined;
    const env: Record<string, string> = { PLAZA_DATA_DIR: dataDir };
    if (DATABASE_URL) {
      dbName = `plaza_life_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${dbName}`);
      await admin.end();
      env.DATABASE_URL = withDatabase(DATABASE_URL, dbName);
    }
    try {
      const first = await startServer(env);
      // A signup is in flight (PBKDF2 takes a while) when the stop signal arrives.
      const inFlight = fetch(`${first.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(credentials),
      });
      await new Promise((r) => setTimeout(r, 30));
      first.process.kill("SIGTERM");
      const res = await inFlight;
      assert.equal(res.status, 201, first.output());
      await res.body?.cancel();
      const status = await first.exited;
      assert.equal(status.code, 0, first.output());
      assert.match(first.output(), /"msg":"stopped"/);

      const second = await startServer(env);
      try {
        const login = await fetch(`${second.url}/api/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: credentials.email, password: credentials.password }),
        });
        assert.equal(login.status, 200);
        await login.body?.cancel();
        const health = await fetch(`${second.url}/health`);
        assert.equal((await health.json()).status, "ok");
      } finally {
        second.process.kill("SIGTERM");
        await second.process.status;
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      if (dbName) {
        const admin = postgres(DATABASE_URL!, { max: 1, onnotice: () => {} });
        await admin.unsafe(`drop database if exists ${dbName} with (force)`);
        await admin.end();
      }
    }
  },
});

Deno.test({
  name: "[lifecycle] two processes starting at once on one Postgres migrate it exactly once",
  ignore: !DATABASE_URL,
  ...opts,
  fn: async () => {
    const dbName = `plaza_twin_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = postgres(DATABASE_URL!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${dbName}`);
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const env = (dir: string) => ({
      PLAZA_DATA_DIR: dir,
      DATABASE_URL: withDatabase(DATABASE_URL!, dbName),
      PLAZA_SECRET: "shared-secret-shared-secret-shared-secret-0",
    });
    const servers = await Promise.all(dirs.map((d) => startServer(env(d))));
    try {
      const db = postgres(withDatabase(DATABASE_URL!, dbName), { max: 1, onnotice: () => {} });
      const rows = await db`select name, count(*)::int as n from plaza.migrations group by name`;
      await db.end();
      assert.ok(rows.length >= 3);
      for (const r of rows) assert.equal(r.n, 1);
      // A session made on one process is accepted by the other (shared secret and database).
      const signup = await fetch(`${servers[0].url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(credentials),
      });
      const { session } = await signup.json();
      const me = await fetch(`${servers[1].url}/api/v1/me`, {
        headers: { authorization: `Bearer ${session.access_token}` },
      });
      assert.equal(me.status, 200);
      await me.body?.cancel();
    } finally {
      for (const s of servers) {
        s.process.kill("SIGTERM");
        await s.process.status;
      }
      await admin.unsafe(`drop database if exists ${dbName} with (force)`);
      await admin.end();
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  },
});

appTest("[health] reports the database down with 503", async (t) => {
  const ok = await t.request("/health");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("cache-control"), "no-store");
  const body = await ok.json();
  assert.deepEqual(body, { status: "ok", db: "ok", kv: "ok", version: body.version });
  await t.platform.db.close();
  const down = await t.request("/health");
  assert.equal(down.status, 503);
  assert.equal((await down.json()).db, "down");
});
