/**
 * The media edge function's handler (supabase/functions/media/index.ts serves it on Supabase; in
 * embedded mode the platform calls it in process and the app mounts it at /functions/v1/media).
 * It reads an upload from storage, renders the variants off the caller's event loop (a Web Worker
 * pool, or the function's own isolate), writes them next to the original and says what it made.
 * It touches no database: the `media-process` job records the result.
 */
import { z } from "zod";
import { timingSafeEqual } from "../auth/password.ts";
import type { Storage } from "../storage/port.ts";
import type { ImagePool } from "./image_pool.ts";
import { ImageError, type RenderedVariant } from "./images.ts";

/** What the function is asked to do. */
export const renderRequest = z.strictObject({
  source: z.string().regex(/^[0-9a-f-]{36}\/original\.(jpg|png|gif|webp)$/),
  mime: z.enum(["image/jpeg", "image/png", "image/gif", "image/webp"]),
  known_size: z.strictObject({ width: z.number().int().min(1), height: z.number().int().min(1) }).nullable()
    .default(null),
});

/** One stored variant. */
export interface StoredVariant {
  key: string;
  mime: string;
  width: number;
  height: number;
  bytes: number;
}

/** What the function answers on success. */
export interface RenderResponse {
  width: number;
  height: number;
  color: string | null;
  variants: { thumb: StoredVariant; medium: StoredVariant; full: StoredVariant };
}

/** What the handler needs. */
export interface MediaFunctionDeps {
  storage: Storage;
  /** Callers must present it as a bearer token (the service role key). */
  serviceKey: string;
  pool: ImagePool;
  maxPixels: number;
}

const EXT: Record<string, string> = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp" };
const enc = new TextEncoder();

function problem(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

function authorized(req: Request, key: string): boolean {
  const header = req.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  return token.length > 0 && timingSafeEqual(enc.encode(token), enc.encode(key));
}

async function store(storage: Storage, prefix: string, v: RenderedVariant): Promise<StoredVariant> {
  const key = `${prefix}/${v.name}.${EXT[v.mime]}`;
  await storage.put(key, v.bytes, { contentType: v.mime });
  return { key, mime: v.mime, width: v.width, height: v.height, bytes: v.bytes.byteLength };
}

/** Renders one upload's variants; POST JSON {source, mime, known_size?}. */
export function createMediaFunction(deps: MediaFunctionDeps): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== "POST") return problem(405, "method_not_allowed", "POST a render request.");
    if (!authorized(req, deps.serviceKey)) {
      return problem(401, "unauthorized", "The service key is required.");
    }
    let input: z.output<typeof renderRequest>;
    try {
      input = renderRequest.parse(await req.json());
    } catch {
      return problem(400, "bad_request", "Send {source, mime, known_size?} as JSON.");
    }
    const bytes = await deps.storage.read(input.source);
    if (!bytes) return problem(404, "source_missing", "The upload is not in storage.");
    try {
      const result = await deps.pool.render(bytes, input.mime, {
        maxPixels: deps.maxPixels,
        knownSize: input.known_size ?? undefined,
      });
      const prefix = input.source.slice(0, 36);
      const stored = new Map<string, StoredVariant>();
      for (const v of result.variants) stored.set(v.name, await store(deps.storage, prefix, v));
      // A WebP cannot be decoded here: its one metadata-free copy serves every size.
      const full = stored.get("full")!;
      const body: RenderResponse = {
        width: result.width,
        height: result.height,
        color: result.color,
        variants: {
          thumb: stored.get("thumb") ?? full,
          medium: stored.get("medium") ?? full,
          full,
        },
      };
      return Response.json(body);
    } catch (err) {
      if (err instanceof ImageError) return problem(422, err.code, err.message);
      throw err;
    }
  };
}
