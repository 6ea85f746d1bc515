/**
 * Static files from `static/` and the built island bundles. Assets are read once at start; their
 * URLs carry a content hash (`?v=` for static files, in the name for bundles), so responses for a
 * matching version are cached for a year as immutable.
 */
import { Hono } from "hono";
import type { IslandBundles } from "@/lib/islands/build.ts";
import type { AppEnv } from "./env.ts";
import type { Assets } from "./render.tsx";
import { sha256Hex } from "@/lib/hash.ts";

const types: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  webmanifest: "application/manifest+json",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
};

interface StaticFile {
  body: Uint8Array;
  type: string;
  hash: string;
}

const hashOf = async (bytes: Uint8Array) => (await sha256Hex(bytes)).slice(0, 12);

/** Loads `static/` into memory. */
export async function loadStatic(
  dir = new URL("../static/", import.meta.url),
): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const body = await Deno.readFile(new URL(e.name, dir));
    const ext = e.name.split(".").pop() ?? "";
    files.set(e.name, { body, type: types[ext] ?? "application/octet-stream", hash: await hashOf(body) });
  }
  return files;
}

/** The asset table pages use. */
export function assetTable(files: Map<string, StaticFile>, islands: IslandBundles): Assets {
  return {
    url: (name) => `/static/${name}?v=${files.get(name)?.hash ?? "missing"}`,
    islands,
  };
}

const IMMUTABLE = "public, max-age=31536000, immutable";

/** Routes serving static files and island bundles. */
export function staticRoutes(files: Map<string, StaticFile>, islands: IslandBundles) {
  return new Hono<AppEnv>()
    .get("/static/:name", (c) => {
      const f = files.get(c.req.param("name"));
      if (!f) return c.notFound();
      const etag = `"${f.hash}"`;
      const cache = c.req.query("v") === f.hash ? IMMUTABLE : "public, max-age=300";
      if (c.req.header("if-none-match") === etag) {
        return c.body(null, 304, { ETag: etag, "Cache-Control": cache });
      }
      return c.body(f.body as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": f.type,
        ETag: etag,
        "Cache-Control": cache,
      });
    })
    // The service worker needs a fixed URL at the root to control every page; never cached long.
    .get("/sw.js", (c) => {
      const f = files.get("sw.js");
      if (!f) return c.notFound();
      return c.body(f.body as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": f.type,
        "Cache-Control": "no-cache",
        "Service-Worker-Allowed": "/",
      });
    })
    .get("/_islands/:file", (c) => {
      const f = islands.files.get(`/_islands/${c.req.param("file")}`);
      if (!f) return c.notFound();
      return c.body(f.body as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": f.contentType,
        "Cache-Control": IMMUTABLE,
      });
    });
}
