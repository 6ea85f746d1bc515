/** Chooses the storage adapter from the config: a Supabase Storage bucket or a local directory. */
import type { Config } from "../config.ts";
import { localStore } from "./local.ts";
import type { Storage } from "./port.ts";
import { supabaseStorage } from "./supabase.ts";

export type { Storage, StoredObject } from "./port.ts";
export { isValidKey } from "./port.ts";
export { ensureBucket } from "./supabase.ts";

/**
 * Opens the configured storage: in cloud mode the Supabase bucket `config.media.bucket`
 * (SUPABASE_STORAGE_BUCKET, default `media`), else the directory `<dataDir>/media`.
 */
export function openStorage(config: Pick<Config, "supabase" | "dataDir" | "media">): Storage {
  if (config.supabase) {
    return supabaseStorage({
      url: config.supabase.url,
      serviceRoleKey: config.supabase.serviceRoleKey,
      bucket: config.media.bucket,
    });
  }
  return localStore(`${config.dataDir.replace(/[\\/]+$/, "")}/media`);
}
