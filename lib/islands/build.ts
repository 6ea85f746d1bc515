/**
 * Bundles the islands for the browser with esbuild: one entry per `islands/*.tsx` plus the runtime,
 * code splitting so Preact is shared, minified ES modules with content-hashed names. The result is
 * cached on disk under a hash of the sources, so a restart with unchanged code does not rebuild.
 */
import * as esbuild from "esbuild";
import { sha256Hex } from "../hash.ts";

/** A built file, ready to serve. */
export interface BuiltFile {
  body: Uint8Array;
  contentType: string;
}

/** The island bundles: files by URL path, and what each island needs. */
export interface IslandBundles {
  /** `/_islands/<file>` -> file. */
  files: Map<string, BuiltFile>;
  /** URL of the runtime module. */
  runtime: string;
  /** Island name -> URL of its module. */
  islands: Map<string, string>;
  /** Module URL -> URLs of the chunks it imports (for modulepreload). */
  imports: Map<string, string[]>;
}

const root = new URL("../../", import.meta.url).pathname;
const sourceDirs = ["islands", "lib/client", "components"];

async function sourceHash(): Promise<string> {
  const parts: string[] = [];
  for (const dir of sourceDirs) {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${root}${dir}`)) if (e.isFile) names.push(e.name);
    for (const name of names.sort()) parts.push(name, await Deno.readTextFile(`${root}${dir}/${name}`));
  }
  parts.push(await Deno.readTextFile(`${root}deno.json`));
  return (await sha256Hex(parts.join("\0"))).slice(0, 16);
}

interface Manifest {
  runtime: string;
  islands: Record<string, string>;
  imports: Record<string, string[]>;
}

async function loadCached(dir: string): Promise<IslandBundles | undefined> {
  try {
    const manifest: Manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    const files = new Map<string, BuiltFile>();
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".js")) continue;
      files.set(`/_islands/${e.name}`, {
        body: await Deno.readFile(`${dir}/${e.name}`),
        contentType: "text/javascript; charset=utf-8",
      });
    }
    return {
      files,
      runtime: manifest.runtime,
      islands: new Map(Object.entries(manifest.islands)),
      imports: new Map(Object.entries(manifest.imports)),
    };
  } catch {
    return undefined;
  }
}

/** Resolves the `@/` alias of deno.json for esbuild. */
const aliasPlugin: esbuild.Plugin = {
  name: "plaza-alias",
  setup(build) {
    build.onResolve({ filter: /^@\// }, (args) => ({ path: `${root}${args.path.slice(2)}` }));
  },
};

/** Builds (or loads from `cacheDir`) the island bundles. */
export async function buildIslands(cacheDir?: string): Promise<IslandBundles> {
  const hash = await sourceHash();
  const dir = cacheDir ? `${cacheDir}/${hash}` : undefined;
  if (dir) {
    const cached = await loadCached(dir);
    if (cached) return cached;
  }
  const entryPoints: Record<string, string> = { runtime: `${root}lib/client/islands.ts` };
  for await (const e of Deno.readDir(`${root}islands`)) {
    if (e.isFile && e.name.endsWith(".tsx")) {
      entryPoints[e.name.replace(/\.tsx$/, "")] = `${root}islands/${e.name}`;
    }
  }
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      write: false,
      metafile: true,
      outdir: "/_islands",
      entryNames: "[name]-[hash]",
      chunkNames: "chunk-[hash]",
      jsx: "automatic",
      jsxImportSource: "preact",
      absWorkingDir: root,
      nodePaths: [`${root}node_modules`],
      plugins: [aliasPlugin],
      logLevel: "silent",
      legalComments: "none",
    });
  } finally {
    await esbuild.stop();
  }
  const files = new Map<string, BuiltFile>();
  for (const f of result.outputFiles) {
    files.set(f.path, { body: f.contents, contentType: "text/javascript; charset=utf-8" });
  }
  const manifest: Manifest = { runtime: "", islands: {}, imports: {} };
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    const url = `/${out.replace(/^\/?/, "").replace(/^.*?_islands\//, "_islands/")}`;
    manifest.imports[url] = meta.imports.filter((i) => i.kind === "import-statement").map((i) =>
      `/_islands/${i.path.split("/").pop()}`
    );
    if (!meta.entryPoint) continue;
    const name = Object.entries(entryPoints).find(([, p]) => p.endsWith(meta.entryPoint!))?.[0];
    if (name === "runtime") manifest.runtime = url;
    else if (name) manifest.islands[name] = url;
  }
  if (dir) {
    await Deno.mkdir(dir, { recursive: true });
    for (const [url, f] of files) await Deno.writeFile(`${dir}/${url.split("/").pop()}`, f.body);
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
  }
  return {
    files,
    runtime: manifest.runtime,
    islands: new Map(Object.entries(manifest.islands)),
    imports: new Map(Object.entries(manifest.imports)),
  };
}
