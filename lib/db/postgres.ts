/** postgres.js adapter: a connection pool to any Postgres 15+ (Supabase included). */
import postgres from "postgres";
import type { Db, Queryable } from "./port.ts";

type Sql = postgres.Sql;

function wrap(sql: Sql | postgres.TransactionSql): Queryable {
  return {
    // Spread into a plain array so both adapters return the same shape.
    query: async <T>(text: string, params: unknown[] = []) =>
      [...await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])] as unknown as T[],
    queryArrays: async (text: string, params: unknown[] = []) => {
      const res = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]).values();
      const columns = (res.columns ?? []).map((c) => ({ name: c.name, type: c.type }));
      return { columns, rows: [...res] as unknown as unknown[][] };
    },
    exec: async (text: string) => {
      await sql.unsafe(text);
    },
  };
}

/** Options for the pool; `max` connections (10 by default). */
export interface PostgresOptions {
  max?: number;
}

/** Connects to `url` and returns a {@link Db} over a pool. */
export function openPostgres(url: string, options: PostgresOptions = {}): Db {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // Timestamps come back as Date, bigint as string (we cast counts to int in SQL).
    connection: { application_name: "plaza" },
  });
  const base = wrap(sql);
  return {
    kind: "postgres",
    ...base,
    // A reserved connection instead of sql.begin: BEGIN is sent without waiting for its reply, so
    // it travels in one round trip with the first statements of `fn` (postgres.js pipelines).
    transaction: async <T>(fn: (tx: Queryable) => Promise<T>) => {
      const conn = await sql.reserve();
      try {
        const begin = conn.unsafe("begin");
        begin.catch(() => {}); // a failed BEGIN fails the statements after it, which fn sees
        let result: T;
        try {
          result = await fn(wrap(conn));
          await begin;
        } catch (err) {
          await conn.unsafe("rollback").catch(() => {});
          throw err;
        }
        await conn.unsafe("commit");
        return result;
      } finally {
        conn.release();
      }
    },
    listen: async (channel, onPayload) => {
      const sub = await sql.listen(channel, onPayload);
      return () => sub.unlisten();
    },
    notify: async (channel, payload) => {
      await sql.notify(channel, payload);
    },
    // Safe to call twice: ending an ended pool is a no-op in postgres.js.
    close: () => sql.end({ timeout: 5 }),
  };
}
