/**
 * Plaza's app served on 127.0.0.1:$PORT without the job runner, for the upload benchmark
 * (bench/media_uploads.ts): uploads queue their `media-process` jobs but nothing renders them, so the
 * figures are the upload path alone. Configured from the environment like main.ts; stops on SIGTERM.
 */
import { loadConfig } from "@/lib/config.ts";
import { createPlatform } from "@/lib/platform.ts";
import { createApp } from "@/routes/app.ts";

const config = loadConfig();
const platform = await createPlatform(config);
const app = await createApp(platform);
const server = Deno.serve({ hostname: "127.0.0.1", port: config.port, onListen() {} }, app.fetch);
const stop = async () => {
  await server.shutdown();
  await platform.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
await server.finished;
