/**
 * Migration runner over `supabase/migrations/*.sql`: applied in name order, each once, each in its
 * own transaction, recorded with a SHA-256 checksum. Changing an applied file is an error. An
 * advisory lock makes concurrent start-ups on real Postgres take turns.
 */
import type { Db } from "./port.ts";
import { sha256Hex } from "../hash.ts";

/** A migration file: name (e.g. `0001_profiles.sql`) and its SQL. */
export interface Migration {
  name: string;
  sql: string;
}

/** Raised when an applied migration's file was changed afterwards. */
export class MigrationChecksumError extends Error {
  override name = "MigrationChecksumError";
}

const LOCK_KEY = 727_274_001; // any constant shared by every Plaza process

/** The default migrations folder, next to this repository's `supabase/`. */
export const migrationsDir = new URL("../../supabase/migrations/", import.meta.url);

/** Reads the `.sql` files of `dir`, sorted by name. */
export async function readMigrations(dir: URL | string = migrationsDir): Promise<Migration[]> {
  const out: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const path = typeof dir === "string" ? `${dir}/${entry.name}` : new URL(entry.name, dir);
    out.push({ name: entry.name, sql: await Deno.readTextFile(path) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Applies the pending `migrations`; returns the names applied now. */
export async function migrate(db: Db, migrations?: Migration[]): Promise<string[]> {
  const list = migrations ?? await readMigrations();
  await db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await tx.exec(`
      create schema if not exists plaza;
      create table if not exists plaza.migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      );`);
  });
  const applied: string[] = [];
  for (const m of list) {
    const checksum = await sha256Hex(m.sql);
    const ran = await db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock($1)", [LOCK_KEY]);
      const [row] = await tx.query<{ checksum: string }>(
        "select checksum from plaza.migrations where name = $1",
        [m.name],
      );
      if (row) {
        if (row.checksum !== checksum) {
          throw new MigrationChecksumError(
            `Migration ${m.name} was changed after it was applied (checksum ${
              row.checksum.slice(0, 12)
            } in the database, ${checksum.slice(0, 12)} on disk). Add a new migration instead.`,
          );
        }
        return false;
      }
      await tx.exec(m.sql);
      await tx.query("insert into plaza.migrations (name, checksum) values ($1, $2)", [m.name, checksum]);
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}
