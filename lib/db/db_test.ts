import assert from "node:assert/strict";
import { freshDb } from "@/tests/support/db.ts";
import { asService, asUser, type Claims } from "./as_user.ts";
import { migrate, MigrationChecksumError } from "./migrate.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const claimsFor = (sub: string): Claims => ({ sub, role: "authenticated", app_metadata: { role: "member" } });

Deno.test({
  name: "[db] a user's claims and role never leak into the next transaction on a pooled connection",
  ...opts,
  fn: async () => {
    const t = await freshDb({ max: 1 });
    try {
      const sub = crypto.randomUUID();
      const inside = await asUser(
        t.db,
        claimsFor(sub),
        (tx) => tx.query<{ who: string; uid: string }>("select current_user as who, auth.uid()::text as uid"),
      );
      assert.deepEqual(inside, [{ who: "authenticated", uid: sub }]);
      // A failing transaction must not leave its settings behind either.
      await assert.rejects(asUser(t.db, claimsFor(crypto.randomUUID()), async (tx) => {
        await tx.query("select 1");
        throw new Error("handler failed");
      }));
      const after = await t.db.transaction((tx) =>
        tx.query<{ who: string; claims: string | null }>(
          "select current_user as who, nullif(current_setting('request.jwt.claims', true), '') as claims",
        )
      );
      assert.equal(after[0].claims, null);
      assert.notEqual(after[0].who, "authenticated");
      const anon = await asUser(t.db, null, (tx) => tx.query<{ who: string }>("select current_user as who"));
      assert.equal(anon[0].who, "anon");
      const service = await asService(t.db, (tx) => tx.query<{ who: string }>("select current_user as who"));
      assert.equal(service[0].who, "service_role");
    } finally {
      await t.drop();
    }
  },
});

Deno.test({
  name: "[db] every table in the public schema has row level security enabled",
  ...opts,
  fn: async () => {
    const t = await freshDb();
    try {
      const rows = await t.db.query<{ relname: string; relrowsecurity: boolean }>(
        `select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p')`,
      );
      assert.ok(rows.length >= 1);
      for (const r of rows) assert.ok(r.relrowsecurity, `RLS is off on public.${r.relname}`);
      const [rt] = await t.db.query<{ relrowsecurity: boolean }>(
        "select relrowsecurity from pg_class where oid = 'realtime.messages'::regclass",
      );
      assert.ok(rt.relrowsecurity);
    } finally {
      await t.drop();
    }
  },
});

Deno.test({
  name: "[db] Supabase-compatible auth functions read the request's claims",
  ...opts,
  fn: async () => {
    const t = await freshDb();
    try {
      const sub = crypto.randomUUID();
      const [row] = await asUser(
        t.db,
        { ...claimsFor(sub), email: "x@example.test" },
        (tx) =>
          tx.query<{ uid: string; role: string; email: string }>(
            "select auth.uid()::text as uid, auth.role() as role, auth.jwt() ->> 'email' as email",
          ),
      );
      assert.deepEqual(row, { uid: sub, role: "authenticated", email: "x@example.test" });
      const [rt] = await t.db.transaction(async (tx) => {
        await tx.query("select set_config('realtime.topic', 'room:1', true)");
        return await tx.query<{ topic: string }>("select realtime.topic() as topic");
      });
      assert.equal(rt.topic, "room:1");
      await t.db.query("select realtime.send('{\"a\":1}'::jsonb, 'ping', 'room:1', true)");
      const [msg] = await t.db.query<{ event: string; private: boolean }>(
        "select event, private from realtime.messages where topic = 'room:1'",
      );
      assert.deepEqual(msg, { event: "ping", private: true });
    } finally {
      await t.drop();
    }
  },
});

Deno.test({
  name: "[db] migrations apply once, and a changed applied migration is an error",
  ...opts,
  fn: async () => {
    const t = await freshDb();
    try {
      const extra = [{ name: "9000_test.sql", sql: "create table public.migration_probe (id int);" }];
      // Everything shipped is applied already; only the new one runs, once, even when run twice at once.
      const [a, b] = await Promise.all([migrate(t.db, extra), migrate(t.db, extra)]);
      assert.deepEqual([...a, ...b], ["9000_test.sql"]);
      assert.deepEqual(await migrate(t.db, extra), []);
      const changed = [{ name: "9000_test.sql", sql: "create table public.migration_probe (id bigint);" }];
      await assert.rejects(migrate(t.db, changed), MigrationChecksumError);
      // A failing migration leaves nothing half-applied.
      const broken = [{ name: "9001_broken.sql", sql: "create table public.half (id int); select nope;" }];
      await assert.rejects(migrate(t.db, [...extra, ...broken]));
      const [half] = await t.db.query("select to_regclass('public.half') as r");
      assert.equal((half as { r: unknown }).r, null);
      const [rec] = await t.db.query(
        "select count(*)::int as n from plaza.migrations where name = '9001_broken.sql'",
      );
      assert.equal((rec as { n: number }).n, 0);
    } finally {
      await t.drop();
    }
  },
});

Deno.test({
  name: "[db] LISTEN/NOTIFY delivers payloads",
  ...opts,
  fn: async () => {
    const t = await freshDb();
    try {
      const got: string[] = [];
      const unlisten = await t.db.listen("plaza_test", (p) => got.push(p));
      await t.db.notify("plaza_test", "hello");
      for (let i = 0; i < 50 && !got.length; i++) await new Promise((r) => setTimeout(r, 20));
      await unlisten();
      assert.deepEqual(got, ["hello"]);
    } finally {
      await t.drop();
    }
  },
});

Deno.test({
  name: "[db] dollar-quoted claims survive quotes, dollars and backslashes",
  ...opts,
  fn: async () => {
    const { dollarQuote } = await import("./as_user.ts");
    const t = await freshDb();
    try {
      for (const text of [`it's "x" \\ $plz$ $$ $plz0$`, "", "plain", "abc$plz", "$plz", "$", "x$plz1"]) {
        const [row] = await t.db.query<{ v: string }>(`select ${dollarQuote(text)} as v`);
        assert.equal(row.v, text);
      }
      const sub = crypto.randomUUID();
      const [row] = await asUser(
        t.db,
        { ...claimsFor(sub), email: "o'brien$plz$@example.test" },
        (tx) => tx.query<{ email: string }>("select auth.jwt() ->> 'email' as email"),
      );
      assert.equal(row.email, "o'brien$plz$@example.test");
    } finally {
      await t.drop();
    }
  },
});
