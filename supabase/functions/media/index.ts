/**
 * The media edge function (DESIGN section 1): renders an upload's variants. Deployed to Supabase
 * Edge Functions in cloud mode (`supabase functions deploy media`), where it reads and writes the
 * Storage bucket with the service role key from its environment and renders in its own isolate.
 * In embedded mode Plaza calls the same handler in process (lib/platform.ts) with a Web Worker pool.
 */
import { createMediaFunction } from "../../../lib/media/function.ts";
import { createImagePool } from "../../../lib/media/image_pool.ts";
import { supabaseStorage } from "../../../lib/storage/supabase.ts";

if (import.meta.main) {
  const env = (name: string) => {
    const value = Deno.env.get(name);
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const serviceKey = env("SUPABASE_SERVICE_ROLE_KEY");
  Deno.serve(createMediaFunction({
    storage: supabaseStorage({
      url: env("SUPABASE_URL"),
      serviceRoleKey: serviceKey,
      bucket: Deno.env.get("SUPABASE_STORAGE_BUCKET") ?? "media",
    }),
    serviceKey,
    pool: createImagePool({ inline: true }),
    maxPixels: Number(Deno.env.get("PLAZA_MEDIA_MAX_PIXELS") ?? 40_000_000),
  }));
}
