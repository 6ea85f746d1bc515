/** Opens the database the config asks for: postgres.js on DATABASE_URL, else PGlite in the data dir. */
import type { Config } from "../config.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";
import type { Db } from "./port.ts";

export type { Db, Queryable } from "./port.ts";

/** Opens the configured database (not yet migrated). */
export function openDb(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Db> {
  if (config.databaseUrl) return Promise.resolve(openPostgres(config.databaseUrl));
  return openPglite(`${config.dataDir}/db`);
}
