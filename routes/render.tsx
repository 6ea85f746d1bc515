/**
 * Renders a page: the layout and the page body to HTML on the server, then the document shell with
 * the stylesheet and, only when islands were rendered, one nonce'd module script that loads the
 * island runtime and the islands' bundles.
 */
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { Layout, type LayoutUser } from "@/components/Layout.tsx";
import { collectIslands } from "@/components/island.tsx";
import type { IslandBundles } from "@/lib/islands/build.ts";
import type { Ctx } from "./env.ts";
import { roleOf } from "./session.ts";
import { clientConfig } from "./realtime.ts";

/** Static asset URLs with content versions, filled in by the app at start. */
export interface Assets {
  url(name: string): string;
  islands: IslandBundles;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/** The signed-in user for the layout, from the token claims. */
export function layoutUser(c: Ctx): LayoutUser | null {
  const claims = c.var.claims;
  if (!claims) return null;
  const meta = claims.user_metadata as { name?: string } | undefined;
  return { name: meta?.name ?? claims.email ?? "You", email: claims.email ?? "", role: roleOf(claims)! };
}

/** Options for {@link renderPage}. */
export interface PageOptions {
  title: string;
  status?: number;
  /** Overrides the layout user (after a profile change the token still has the old name). */
  user?: LayoutUser | null;
}

/** Renders `body` inside the layout as a full HTML response. */
export function renderPage(c: Ctx, body: VNode, options: PageOptions): Response {
  const a = c.var.assets;
  const user = options.user !== undefined ? options.user : layoutUser(c);
  const claims = c.var.claims;
  const bell = user && claims ? { ...clientConfig(c, c.var.platform), userId: claims.sub } : undefined;
  const [html, used] = collectIslands(() =>
    renderToString(
      <Layout user={user} path={c.req.path} bell={bell}>{body}</Layout>,
    )
  );
  let scripts = "";
  if (used.length) {
    const nonce = c.var.nonce;
    const modules = [a.islands.runtime, ...used.map((n) => a.islands.islands.get(n)!)];
    const preload = new Set<string>();
    for (const m of modules) {
      preload.add(m);
      for (const dep of a.islands.imports.get(m) ?? []) preload.add(dep);
    }
    const imports = used.map((n, i) => `import I${i} from ${JSON.stringify(a.islands.islands.get(n))};`).join(
      "",
    );
    const calls = used.map((n, i) => `h(${JSON.stringify(n)},I${i});`).join("");
    scripts = [...preload].map((u) => `<link rel="modulepreload" href="${u}">`).join("") +
      `<script type="module" nonce="${nonce}">import{hydrateIslands as h}from ${
        JSON.stringify(a.islands.runtime)
      };${imports}${calls}</script>`;
  }
  const doc = `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark">` +
    `<title>${escapeHtml(options.title)} · Plaza</title>` +
    `<link rel="stylesheet" href="${a.url("styles.css")}">` +
    `<link rel="icon" href="${a.url("icon.svg")}" type="image/svg+xml">` +
    `</head><body>${html}${scripts}</body></html>`;
  return c.html(doc, (options.status ?? 200) as 200);
}
