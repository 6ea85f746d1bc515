/** `deno task migrate`: applies pending migrations to the configured database. */
import { loadConfig } from "../config.ts";
import { migrate } from "./migrate.ts";
import { openDb } from "./mod.ts";

const config = loadConfig();
const db = await openDb(config);
try {
  const applied = await migrate(db);
  console.log(applied.length ? `Applied: ${applied.join(", ")}` : "Nothing to apply.");
} finally {
  await db.close();
}
