/** `media-process`: renders an image's variants through the media edge function (lib/media/process.ts). */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { processMedia } from "@/lib/media/process.ts";
import { PROCESS_JOB } from "@/lib/media/upload.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const mediaProcess = (platform: Platform) =>
  defineJob({
    name: PROCESS_JOB,
    payload: z.strictObject({ media_id: z.uuid() }),
    run: async (p) => {
      const outcome = await processMedia(platform, p.media_id);
      platform.log.info("media processed", { id: p.media_id, outcome });
    },
  });
