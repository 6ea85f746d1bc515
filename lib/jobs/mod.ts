/** Chooses the jobs adapter from the config: QStash when configured, else the embedded queue. */
import type { Config } from "../config.ts";
import type { Db } from "../db/port.ts";
import { embeddedJobs } from "./embedded.ts";
import type { Jobs } from "./port.ts";
import { qstashJobs } from "./qstash.ts";

export type { EnqueueOptions, Jobs } from "./port.ts";

/** The jobs port for this deployment. */
export function openJobs(config: Config, db: Db): Jobs {
  if (config.qstash && config.publicUrl) {
    return qstashJobs({ ...config.qstash, publicUrl: config.publicUrl, db });
  }
  return embeddedJobs(db);
}
