import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

Deno.test("[config] defaults describe an embedded deployment", () => {
  const c = loadConfig({});
  assert.equal(c.port, 8000);
  assert.equal(c.dataDir, "./data");
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.supabase, undefined);
  assert.equal(c.upstash, undefined);
  assert.equal(c.adminEmails.size, 0);
});

Deno.test("[config] an invalid value names the variable", () => {
  assert.throws(
    () => loadConfig({ PORT: "eighty" }),
    (e) => e instanceof ConfigError && /PORT/.test(e.message),
  );
  assert.throws(() => loadConfig({ DATABASE_URL: "mysql://x" }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ PLAZA_SECRET: "short" }), /PLAZA_SECRET/);
  assert.throws(() => loadConfig({ PUBLIC_URL: "not a url" }), /PUBLIC_URL/);
});

Deno.test("[config] a partial cloud group names what is missing", () => {
  assert.throws(
    () => loadConfig({ SUPABASE_URL: "https://x.supabase.co" }),
    (e) =>
      e instanceof ConfigError && /SUPABASE_ANON_KEY/.test(e.message) &&
      /SUPABASE_JWT_SECRET/.test(e.message),
  );
  assert.throws(() => loadConfig({ UPSTASH_REDIS_REST_TOKEN: "t" }), /UPSTASH_REDIS_REST_URL/);
});

Deno.test("[config] admin emails are trimmed and lower-cased; empty values count as unset", () => {
  const c = loadConfig({
    PLAZA_ADMIN_EMAILS: " A@x.test, b@Y.test ,",
    DATABASE_URL: "",
    PUBLIC_URL: "https://p.example/",
  });
  assert.deepEqual([...c.adminEmails], ["a@x.test", "b@y.test"]);
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.publicUrl, "https://p.example");
});

Deno.test("[config] map tiles: OpenStreetMap by default, none turns them off, other schemes refused", () => {
  assert.match(loadConfig({}).map.tiles, /^https:\/\/tile\.openstreetmap\.org\//);
  assert.equal(loadConfig({ PLAZA_MAP_TILES: "none" }).map.tiles, "");
  assert.equal(
    loadConfig({ PLAZA_MAP_TILES: "https://tiles.example/{z}/{x}/{y}.png" }).map.tiles,
    "https://tiles.example/{z}/{x}/{y}.png",
  );
  assert.throws(() => loadConfig({ PLAZA_MAP_TILES: "javascript:alert(1)" }), /PLAZA_MAP_TILES/);
});
