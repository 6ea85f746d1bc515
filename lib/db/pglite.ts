/** PGlite adapter: Postgres compiled to WebAssembly, in process, on disk or in memory. */
import { PGlite, type PGliteInterface, type Transaction } from "@electric-sql/pglite";
import type { ArrayResult, Db, Queryable } from "./port.ts";

async function arrays(
  q: Pick<Transaction, "query">,
  sql: string,
  params?: unknown[],
): Promise<ArrayResult> {
  const res = await q.query<unknown[]>(sql, params, { rowMode: "array" });
  return { columns: res.fields.map((f) => ({ name: f.name, type: f.dataTypeID })), rows: res.rows };
}

function wrapTx(tx: Transaction): Queryable {
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await tx.query<T>(sql, params)).rows,
    queryArrays: (sql: string, params?: unknown[]) => arrays(tx, sql, params),
    exec: async (sql: string) => {
      await tx.exec(sql);
    },
  };
}

/** Wraps an open PGlite instance as a {@link Db}. */
export function pgliteDb(pg: PGliteInterface): Db {
  return {
    kind: "pglite",
    query: async <T>(sql: string, params?: unknown[]) => (await pg.query<T>(sql, params)).rows,
    queryArrays: (sql: string, params?: unknown[]) => arrays(pg, sql, params),
    exec: async (sql: string) => {
      await pg.exec(sql);
    },
    transaction: (fn) => pg.transaction((tx) => fn(wrapTx(tx))),
    listen: async (channel, onPayload) => {
      const unlisten = await pg.listen(channel, onPayload);
      return () => unlisten();
    },
    notify: async (channel, payload) => {
      await pg.query("select pg_notify($1, $2)", [channel, payload]);
    },
    close: async () => {
      if (!pg.closed) await pg.close();
    },
  };
}

/**
 * Opens PGlite with its data in `dataDir` (created when absent), or in memory when `dataDir` is
 * undefined.
 */
export async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) await Deno.mkdir(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  return pgliteDb(pg);
}
