/**
 * `media-sweep` (every 10 minutes): removes stored files of deleted media and of uploads that never
 * finished, queues lost processing jobs again and fails items stuck for 30 minutes.
 */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { sweepMedia } from "@/lib/media/process.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const mediaSweep = (platform: Platform) =>
  defineJob({
    name: "media-sweep",
    payload: z.object({ slot: z.string().optional() }),
    run: async () => {
      const result = await sweepMedia(platform);
      if (result.purged || result.requeued || result.failed) platform.log.info("media swept", { ...result });
    },
  });
