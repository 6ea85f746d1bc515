/**
 * Fresh, migrated databases for tests. Embedded: PGlite in memory, migrated once per process and
 * cloned per test. With DATABASE_URL: a template database migrated once, copied per test with
 * CREATE DATABASE … TEMPLATE, dropped afterwards.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { migrate, readMigrations } from "@/lib/db/migrate.ts";
import { pgliteDb } from "@/lib/db/pglite.ts";
import { openPostgres } from "@/lib/db/postgres.ts";
import type { Db } from "@/lib/db/port.ts";

/** The Postgres server the suites also run against, when set. */
export const DATABASE_URL = Deno.env.get("DATABASE_URL") || undefined;

/** A database for one test, and how to drop it. */
export interface TestDb {
  db: Db;
  /** Connection URL (postgres only), for a second pool or process. */
  url?: string;
  drop(): Promise<void>;
}

let pgliteTemplate: Promise<PGlite> | undefined;

async function migratedPglite(): Promise<PGlite> {
  const pg = await PGlite.create();
  await migrate(pgliteDb(pg));
  return pg;
}

let templateName: Promise<string> | undefined;

async function postgresTemplate(url: string): Promise<string> {
  const migrations = await readMigrations();
  const text = migrations.map((m) => m.name + m.sql).join("\0");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const name = "plaza_tpl_" + Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(727274002)`;
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) {
      const building = `${name}_build`;
      await admin.unsafe(`drop database if exists ${building} with (force)`);
      await admin.unsafe(`create database ${building}`);
      const db = openPostgres(withDatabase(url, building), { max: 1 });
      try {
        await migrate(db);
      } finally {
        await db.close();
      }
      await admin.unsafe(`alter database ${building} rename to ${name}`);
    }
    await admin`select pg_advisory_unlock(727274002)`;
  } finally {
    await admin.end();
  }
  return name;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh migrated database. */
export async function freshDb(options: { max?: number } = {}): Promise<TestDb> {
  if (!DATABASE_URL) {
    pgliteTemplate ??= migratedPglite();
    const pg = await (await pgliteTemplate).clone();
    const db = pgliteDb(pg);
    return { db, drop: () => db.close() };
  }
  templateName ??= postgresTemplate(DATABASE_URL);
  const template = await templateName;
  const name = `plaza_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(DATABASE_URL, name);
  const db = openPostgres(url, { max: options.max ?? 5 });
  return {
    db,
    url,
    async drop() {
      await db.close();
      const a = postgres(DATABASE_URL!, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}
