/**
 * Fresh migrated databases for the job benchmark: PGlite in memory (migrated once, cloned per
 * scenario), or scratch databases on the Postgres server of a URL (`plaza_bench_<random>` migrated
 * once, copied per scenario with CREATE DATABASE … TEMPLATE). `close()` drops every one of them;
 * the database named in the URL is only used to issue CREATE and DROP.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { migrate } from "@/lib/db/migrate.ts";
import { pgliteDb } from "@/lib/db/pglite.ts";
import { openPostgres } from "@/lib/db/postgres.ts";
import type { Db } from "@/lib/db/port.ts";

/** One scenario's database. */
export interface ScratchDb {
  /** The first handle on it. */
  db: Db;
  /** Another handle: its own connection pool on Postgres, the same instance on PGlite. */
  connect(): Db;
  /** Closes every handle and drops the database. */
  drop(): Promise<void>;
}

/** Where scratch databases come from. */
export interface ScratchServer {
  /** Which database serves the scratch databases. */
  kind: "pglite" | "postgres";
  /** A fresh migrated database. */
  fresh(): Promise<ScratchDb>;
  /** Drops whatever is left (the template, databases of a failed scenario). */
  close(): Promise<void>;
}

/** PGlite in memory: one migrated instance, cloned for each scenario. */
export async function pgliteScratch(): Promise<ScratchServer> {
  const template = await PGlite.create();
  await migrate(pgliteDb(template));
  const open = new Set<Db>();
  return {
    kind: "pglite",
    async fresh() {
      const db = pgliteDb(await template.clone());
      open.add(db);
      return {
        db,
        connect: () => db,
        async drop() {
          open.delete(db);
          await db.close();
        },
      };
    },
    async close() {
      for (const db of open) await db.close().catch(() => {});
      await template.close();
    },
  };
}

/** `url` with its database name replaced. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Scratch databases on the Postgres server of `url`, named `plaza_bench_<random>[_<n>]`. */
export async function postgresScratch(url: string): Promise<ScratchServer> {
  const base = `plaza_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const created: string[] = [];
  const admin = async (statement: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end();
    }
  };
  const dropDatabase = async (name: string) => {
    await admin(`drop database if exists ${name} with (force)`);
    const i = created.indexOf(name);
    if (i >= 0) created.splice(i, 1);
  };

  await admin(`create database ${base}`);
  created.push(base);
  const migrator = openPostgres(withDatabase(url, base), { max: 1 });
  try {
    await migrate(migrator);
  } finally {
    await migrator.close();
  }

  let count = 0;
  return {
    kind: "postgres",
    async fresh() {
      const name = `${base}_${++count}`;
      await admin(`create database ${name} template ${base}`);
      created.push(name);
      const pools: Db[] = [];
      const connect = () => {
        const db = openPostgres(withDatabase(url, name));
        pools.push(db);
        return db;
      };
      return {
        db: connect(),
        connect,
        async drop() {
          for (const db of pools) await db.close().catch(() => {});
          await dropDatabase(name);
        },
      };
    },
    async close() {
      // Newest first: the template goes last, after the copies made from it.
      for (const name of [...created].reverse()) await dropDatabase(name).catch(() => {});
    },
  };
}
