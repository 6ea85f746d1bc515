/**
 * A Plaza process with the demo data, for browser tests that sign in as the demo member, partner
 * or admin: a fresh database (seeded by the server on PGlite, by the test on Postgres, where the
 * server process cannot see the test's database before it starts) and a temporary data dir.
 */
import { loadConfig } from "@/lib/config.ts";
import { createLogger } from "@/lib/log.ts";
import { createPlatform } from "@/lib/platform.ts";
import { seedDemo } from "@/lib/seed.ts";
import { freshDb } from "./db.ts";
import { startServer } from "./server.ts";

/** A running demo server. */
export interface DemoServer {
  url: string;
  dataDir: string;
  /** A demo account's email and password (role: member, partner or admin). */
  account(role: string): Promise<{ email: string; password: string }>;
  /** Stops the process and removes the database and the data dir. */
  stop(): Promise<void>;
}

/** Starts a demo server. */
export async function startDemoServer(env: Record<string, string> = {}): Promise<DemoServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "plaza-e2e-" });
  const testDb = await freshDb();
  if (testDb.url) {
    const config = loadConfig({ PLAZA_DATA_DIR: dataDir, PLAZA_SECRET: "e".repeat(40) });
    const platform = await createPlatform(config, { db: testDb.db, log: createLogger("error") });
    await seedDemo(platform.db, platform.auth, dataDir);
  }
  const server = await startServer({
    PLAZA_DATA_DIR: dataDir,
    DATABASE_URL: testDb.url ?? "",
    PLAZA_SEED: "auto",
    ...env,
  });
  return {
    url: server.url,
    dataDir,
    async account(role) {
      const lines = (await Deno.readTextFile(`${dataDir}/demo-accounts.txt`)).split("\n");
      const [, email, password] = lines.find((l) => l.startsWith(`${role}\t`))!.split("\t");
      return { email, password };
    },
    async stop() {
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
