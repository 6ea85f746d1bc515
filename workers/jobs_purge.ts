/** `jobs-purge` (daily): forgets finished jobs after seven days, which frees their dedup ids. */
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const jobsPurge = (platform: Platform) =>
  defineJob({
    name: "jobs-purge",
    payload: z.object({ slot: z.string().optional() }),
    run: async () => {
      await platform.db.query(
        "delete from plaza.jobs where status = 'done' and finished_at < now() - interval '7 days'",
      );
      await platform.db.query(
        "delete from plaza.qstash_messages where created_at < now() - interval '90 days'",
      );
    },
  });
