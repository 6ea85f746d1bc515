/**
 * A safe renderer for the Markdown subset users may write in event descriptions: a line-based block
 * parser, an index-based inline parser (no backtracking regexes), and the URL policy for links.
 * All text is HTML-escaped; the only markup in the output is the renderer's own tags.
 */

const DEFAULT_MAX_LENGTH = 20_000;
const MAX_INLINE_DEPTH = 4;
const MAX_QUOTE_DEPTH = 3;
const LINK_ATTRS = 'rel="nofollow noopener noreferrer ugc" target="_blank"';
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const URL_FORBIDDEN = '"<>`\\';
const URL_TRAILING = ".,:;!?*_'";

/** Options for `renderMarkdown`. */
export interface MarkdownOptions {
  /** Input beyond this many UTF-16 units is dropped before parsing (default 20,000). */
  maxLength?: number;
}

/** A rendered inline construct and the index just past it. */
interface Hit {
  html: string;
  next: number;
}

/** One block's text plus precomputed lookups that keep inline parsing linear. */
interface Ctx {
  s: string;
  brackets: Int32Array;
  parens: Int32Array;
  find: (token: string, from: number) => number;
}

type Kind = "blank" | "fence" | "heading" | "hr" | "quote" | "bullet" | "ordered" | "text";

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
const plain = (text: string): string => escapeHtml(text).replace(/\n/g, "<br>\n");
const isSpace = (c: string | undefined): boolean => c === undefined || /\s/.test(c);
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/** True for characters a link URL may not contain: whitespace, controls, quotes, angle brackets. */
function hasUnsafeUrlChar(url: string): boolean {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0xfeff || c === 0x2028 || c === 0x2029) return true;
    if (URL_FORBIDDEN.includes(url[i])) return true;
  }
  return /\s/.test(url);
}

/** True when `url` may become an href: literally starts with http://host, https://host or mailto:x@y. */
export function isSafeUrl(url: string): boolean {
  if (url.length === 0 || url.length > 2048 || hasUnsafeUrlChar(url)) return false;
  return /^(?:https?:\/\/[^/?#@:]|mailto:[^@]+@[^@])/i.test(url);
}

/** For each opening char, the index of its balanced closing char (or -1); backslash escapes skipped. */
function matchPairs(s: string, open: string, close: string): Int32Array {
  const out = new Int32Array(s.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === open) stack.push(i);
    else if (s[i] === close && stack.length > 0) out[stack.pop()!] = i;
  }
  return out;
}

/** `indexOf` with a per-token memo, so repeated forward searches over one block stay linear. */
function makeFinder(s: string): (token: string, from: number) => number {
  const memo = new Map<string, { from: number; at: number }>();
  return (token, from) => {
    const m = memo.get(token);
    if (m && from >= m.from && (m.at === -1 || from <= m.at)) return m.at;
    const at = s.indexOf(token, from);
    memo.set(token, { from, at });
    return at;
  };
}

const makeCtx = (s: string): Ctx => ({
  s,
  brackets: matchPairs(s, "[", "]"),
  parens: matchPairs(s, "(", ")"),
  find: makeFinder(s),
});

/** `\*` and friends: a backslash before ASCII punctuation yields the punctuation itself. */
function escapedChar(ctx: Ctx, i: number, end: number): Hit | null {
  const next = ctx.s[i + 1];
  return i + 1 < end && ASCII_PUNCT.includes(next) ? { html: escapeHtml(next), next: i + 2 } : null;
}

/** Single-backtick code span; its content is shown verbatim. */
function codeSpan(ctx: Ctx, i: number, end: number): Hit | null {
  const j = ctx.find("`", i + 1);
  if (j === -1 || j >= end || j === i + 1) return null;
  return { html: `<code>${escapeHtml(ctx.s.slice(i + 1, j)).replace(/\n/g, " ")}</code>`, next: j + 1 };
}

/** `**bold**`: the first `**` after the opener closes it; no whitespace just inside either end. */
function strong(ctx: Ctx, i: number, end: number, depth: number, inLink: boolean): Hit | null {
  const { s } = ctx;
  if (s[i + 1] !== "*") return null;
  if (s[i + 2] === "*") {
    const k = isSpace(s[i + 3]) ? -1 : ctx.find("***", i + 3);
    if (k === -1 || k + 3 > end || k === i + 3 || isSpace(s[k - 1])) return null;
    return {
      html: `<strong><em>${renderInline(ctx, i + 3, k, depth + 2, inLink)}</em></strong>`,
      next: k + 3,
    };
  }
  if (isSpace(s[i + 2])) return null;
  let j = ctx.find("**", i + 2);
  if (j !== -1 && s[j + 2] === "*") j++; // `**a *b***`: the inner emphasis takes the first star of the run
  if (j === -1 || j + 2 > end || j === i + 2 || isSpace(s[j - 1])) return null;
  return { html: `<strong>${renderInline(ctx, i + 2, j, depth + 1, inLink)}</strong>`, next: j + 2 };
}

/** `*em*` or `_em_`; underscores inside words (snake_case) stay literal. */
function emphasis(ctx: Ctx, i: number, end: number, depth: number, inLink: boolean): Hit | null {
  const { s } = ctx;
  const d = s[i];
  if (isSpace(s[i + 1]) || s[i + 1] === d || (d === "_" && isAlnum(s[i - 1]))) return null;
  const j = ctx.find(d, i + 1);
  if (j === -1 || j >= end || isSpace(s[j - 1]) || (d === "_" && isAlnum(s[j + 1]))) return null;
  return { html: `<em>${renderInline(ctx, i + 1, j, depth + 1, inLink)}</em>`, next: j + 1 };
}

const anchor = (url: string, inner: string): string =>
  `<a href="${escapeHtml(url)}" ${LINK_ATTRS}>${inner}</a>`;

/** `[text](url)`; an unsafe or malformed URL leaves the whole construct as plain text. */
function link(ctx: Ctx, i: number, end: number, depth: number): Hit | null {
  const { s } = ctx;
  const m = ctx.brackets[i];
  if (m === -1 || m >= end || s[m + 1] !== "(") return null;
  const p = ctx.parens[m + 1];
  if (p === -1 || p >= end) return null;
  const url = s.slice(m + 2, p).replace(/^ +| +$/g, "");
  if (m === i + 1 || !isSafeUrl(url)) return { html: plain(s.slice(i, p + 1)), next: p + 1 };
  return { html: anchor(url, renderInline(ctx, i + 1, m, depth + 1, true)), next: p + 1 };
}

/** A bare http(s) URL, minus trailing punctuation and unbalanced closing parentheses. */
function autolink(ctx: Ctx, i: number, end: number): Hit | null {
  const { s } = ctx;
  if (!/^https?:\/\//i.test(s.slice(i, i + 8)) || isAlnum(s[i - 1])) return null;
  let j = i;
  let balance = 0;
  while (j < end && !isSpace(s[j]) && !'<>"`'.includes(s[j])) {
    if (s[j] === "(") balance++;
    if (s[j] === ")") balance--;
    j++;
  }
  const stop = j;
  while (j > i && (URL_TRAILING.includes(s[j - 1]) || (s[j - 1] === ")" && balance < 0))) {
    if (s[j - 1] === ")") balance++;
    j--;
  }
  const url = s.slice(i, j);
  return isSafeUrl(url)
    ? { html: anchor(url, escapeHtml(url)), next: j }
    : { html: plain(s.slice(i, stop)), next: stop };
}

/** The inline construct starting at `i`, if any. */
function inlineAt(ctx: Ctx, i: number, end: number, depth: number, inLink: boolean): Hit | null {
  switch (ctx.s[i]) {
    case "\\":
      return escapedChar(ctx, i, end);
    case "`":
      return codeSpan(ctx, i, end);
    case "*":
      return strong(ctx, i, end, depth, inLink) ?? emphasis(ctx, i, end, depth, inLink);
    case "_":
      return emphasis(ctx, i, end, depth, inLink);
    case "[":
      return inLink ? null : link(ctx, i, end, depth);
    case "h":
    case "H":
      return inLink ? null : autolink(ctx, i, end);
    default:
      return null;
  }
}

/** Renders `ctx.s[start, end)` as inline HTML; links are not nested inside links. */
function renderInline(ctx: Ctx, start: number, end: number, depth: number, inLink: boolean): string {
  if (depth > MAX_INLINE_DEPTH) return plain(ctx.s.slice(start, end));
  let out = "";
  let run = start;
  let i = start;
  while (i < end) {
    const hit = inlineAt(ctx, i, end, depth, inLink);
    if (hit) {
      out += plain(ctx.s.slice(run, i)) + hit.html;
      i = run = hit.next;
    } else {
      i += ctx.s[i] === "*" && ctx.s[i + 1] === "*" ? 2 : 1;
    }
  }
  return out + plain(ctx.s.slice(run, end));
}

const inline = (text: string): string => renderInline(makeCtx(text), 0, text.length, 0, false);

/** `---`, `***` or `___` (three or more, spaces allowed between). */
const isRule = (t: string): boolean => /^(?:-{3,}|\*{3,}|_{3,})$/.test(t.replace(/[ \t]/g, ""));

/** What kind of block a line starts; quote markers count only while nesting is allowed. */
function classify(line: string, quotes: boolean): Kind {
  const t = line.trimStart();
  if (t === "") return "blank";
  if (t.startsWith("```")) return "fence";
  if (/^#{1,6}[ \t]+\S/.test(t)) return "heading";
  if (isRule(t)) return "hr";
  if (quotes && t[0] === ">") return "quote";
  if (/^[-*+][ \t]+\S/.test(t)) return "bullet";
  if (/^\d{1,9}[.)][ \t]+\S/.test(t)) return "ordered";
  return "text";
}

/** Whether a line ends a paragraph; only an ordered list starting at 1 interrupts one. */
function interrupts(line: string, quotes: boolean): boolean {
  const kind = classify(line, quotes);
  return kind !== "text" && (kind !== "ordered" || /^0*1[.)]/.test(line.trimStart()));
}

/** `# x` → h3, `## x` → h4, deeper → h5; an optional closing run of `#` is dropped. */
function heading(line: string): string {
  const t = line.trim();
  let hashes = 0;
  while (t[hashes] === "#") hashes++;
  let text = t.slice(hashes).trim();
  let k = text.length;
  while (k > 0 && text[k - 1] === "#") k--;
  if (k > 0 && k < text.length && (text[k - 1] === " " || text[k - 1] === "\t")) {
    text = text.slice(0, k).trimEnd();
  }
  const tag = `h${Math.min(hashes + 2, 5)}`;
  return `<${tag}>${inline(text)}</${tag}>`;
}

/** A fenced block from `lines[i]`; runs to a closing fence at least as long, or to the end. */
function fence(lines: string[], i: number): Hit {
  const open = lines[i].trimStart();
  let ticks = 0;
  while (open[ticks] === "`") ticks++;
  const body: string[] = [];
  let j = i + 1;
  for (; j < lines.length; j++) {
    const t = lines[j].trim();
    if (t.length >= ticks && /^`+$/.test(t)) break;
    body.push(lines[j]);
  }
  return { html: `<pre><code>${escapeHtml(body.join("\n"))}</code></pre>`, next: j + 1 };
}

/** A bullet or ordered list; blank lines between items of the same kind keep the list going. */
function list(lines: string[], i: number, kind: Kind, quotes: boolean): Hit {
  const items: string[] = [];
  const first = lines[i].trimStart();
  const start = kind === "ordered" ? parseInt(first, 10) : 1;
  while (i < lines.length) {
    const k = classify(lines[i], quotes);
    if (k === "blank") {
      let j = i;
      while (j < lines.length && classify(lines[j], quotes) === "blank") j++;
      if (j < lines.length && classify(lines[j], quotes) === kind) i = j;
      else break;
      continue;
    }
    if (k !== kind) break;
    const parts = [lines[i].trimStart().replace(/^(?:[-*+]|\d{1,9}[.)])[ \t]+/, "").trimEnd()];
    for (i++; i < lines.length && classify(lines[i], quotes) === "text"; i++) parts.push(lines[i].trim());
    items.push(`<li>${inline(parts.join("\n"))}</li>`);
  }
  const tag = kind === "ordered" ? "ol" : "ul";
  const open = tag === "ol" && start !== 1 ? `<ol start="${start}">` : `<${tag}>`;
  return { html: `${open}\n${items.join("\n")}\n</${tag}>`, next: i };
}

/** Renders a sequence of lines as blocks; `depth` counts enclosing blockquotes. */
function renderBlocks(lines: string[], depth: number): string {
  const quotes = depth < MAX_QUOTE_DEPTH;
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const kind = classify(lines[i], quotes);
    if (kind === "blank") {
      i++;
    } else if (kind === "fence") {
      const hit = fence(lines, i);
      out.push(hit.html);
      i = hit.next;
    } else if (kind === "heading") {
      out.push(heading(lines[i++]));
    } else if (kind === "hr") {
      out.push("<hr>");
      i++;
    } else if (kind === "quote") {
      const inner: string[] = [];
      for (; i < lines.length && classify(lines[i], quotes) === "quote"; i++) {
        inner.push(lines[i].trimStart().slice(1).replace(/^ /, ""));
      }
      out.push(`<blockquote>\n${renderBlocks(inner, depth + 1)}\n</blockquote>`);
    } else if (kind === "bullet" || kind === "ordered") {
      const hit = list(lines, i, kind, quotes);
      out.push(hit.html);
      i = hit.next;
    } else {
      const para = [lines[i++].trim()];
      for (; i < lines.length && !interrupts(lines[i], quotes); i++) para.push(lines[i].trim());
      out.push(`<p>${inline(para.join("\n"))}</p>`);
    }
  }
  return out.join("\n");
}

/** Clips to `max` UTF-16 units without leaving half a surrogate pair behind. */
function truncate(source: string, max: number): string {
  if (source.length <= max) return source;
  const cut = source.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** Renders user-written Markdown (the documented subset) to HTML that is safe to embed in a page. */
export function renderMarkdown(source: string, options: MarkdownOptions = {}): string {
  const requested = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const max = Number.isFinite(requested) ? Math.max(0, Math.floor(requested)) : DEFAULT_MAX_LENGTH;
  const text = truncate(String(source ?? ""), max).replace(/\r\n?/g, "\n").replace(/\0/g, "\uFFFD");
  return renderBlocks(text.split("\n"), 0);
}
