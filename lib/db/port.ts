/** The database port: what Plaza needs from Postgres, whichever adapter serves it. */

/** Rows as arrays and their columns (`type` is the Postgres type OID). */
export interface ArrayResult {
  columns: { name: string; type: number }[];
  rows: unknown[][];
}

/** Runs SQL with `$1`-style parameters. */
export interface Queryable {
  /** One statement with parameters; returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** One statement with parameters; rows as arrays, with every column (names may repeat). */
  queryArrays(sql: string, params?: unknown[]): Promise<ArrayResult>;
  /** One or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A Postgres database: PGlite in embedded mode, postgres.js on `DATABASE_URL` in cloud mode. */
export interface Db extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Calls `onPayload` for each NOTIFY on `channel`; resolves to an unlisten function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** Waits for running work, then closes; data written before is durable. */
  close(): Promise<void>;
}
