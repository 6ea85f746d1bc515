/** `deno task seed`: creates the demo accounts in the configured database. */
import { loadConfig } from "./config.ts";
import { createPlatform } from "./platform.ts";
import { describeDemo, seedDemo } from "./seed.ts";

const config = loadConfig();
const platform = await createPlatform(config);
try {
  const created = await seedDemo(platform.db, platform.auth, config.dataDir);
  console.log(created.length ? describeDemo(created) : "The demo accounts exist already.");
} finally {
  await platform.close();
}
