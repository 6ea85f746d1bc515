/** Tests for the safe Markdown renderer: each construct, URL policy, XSS vectors, pathological input. */
import assert from "node:assert/strict";
import { isSafeUrl, renderMarkdown } from "./markdown.ts";

const ALLOWED_TAGS = new Set([
  "p",
  "br",
  "h3",
  "h4",
  "h5",
  "strong",
  "em",
  "code",
  "pre",
  "ul",
  "ol",
  "li",
  "blockquote",
  "hr",
  "a",
]);
const REL = "nofollow noopener noreferrer ugc";

/** Every `<` must open a known tag with only the attributes the renderer emits; returns the tag names. */
function assertSafeHtml(html: string): string[] {
  assert.ok(!/<script/i.test(html), `raw <script in ${html}`);
  const tags: string[] = [];
  for (let i = html.indexOf("<"); i !== -1; i = html.indexOf("<", i + 1)) {
    const end = html.indexOf(">", i);
    assert.ok(end !== -1, `unterminated tag in ${html}`);
    const tag = html.slice(i, end + 1);
    assert.ok(!tag.slice(1).includes("<"), `stray < in ${html}`);
    const m = /^<(\/?)([a-z0-9]+)((?: [a-z]+="[^"<>]*")*)>$/.exec(tag);
    assert.ok(m, `malformed tag ${tag} in ${html}`);
    const [, closing, name, attrText] = m;
    assert.ok(ALLOWED_TAGS.has(name), `tag <${name}> not allowed in ${html}`);
    const attrs = new Map([...attrText.matchAll(/ ([a-z]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    for (const [key, value] of attrs) {
      assert.ok(!/^on/i.test(key), `event handler ${key} in ${html}`);
      assert.ok(!/javascript:|onerror|<script/i.test(value), `dangerous attribute value ${value}`);
    }
    if (closing || name !== "a") {
      const okStart = name === "ol" && !closing && [...attrs.keys()].every((k) => k === "start");
      assert.ok(attrs.size === 0 || okStart, `unexpected attributes on ${tag}`);
    } else {
      assert.deepEqual([...attrs.keys()].sort(), ["href", "rel", "target"], `link attributes in ${tag}`);
      assert.equal(attrs.get("rel"), REL);
      assert.equal(attrs.get("target"), "_blank");
      const href = attrs.get("href")!.replace(/&amp;/g, "&");
      assert.ok(/^(?:https?:\/\/|mailto:)/i.test(href), `href ${href} has a bad scheme`);
    }
    tags.push(closing + name);
  }
  return tags;
}

/** Renders and checks the output before handing it back. */
function render(source: string, options?: { maxLength?: number }): string {
  const html = renderMarkdown(source, options);
  assertSafeHtml(html);
  return html;
}

const link = (href: string, text: string) => `<a href="${href}" rel="${REL}" target="_blank">${text}</a>`;

Deno.test("[markdown] paragraphs split on blank lines; single newlines become <br>", () => {
  assert.equal(render("one\ntwo\n\nthree"), "<p>one<br>\ntwo</p>\n<p>three</p>");
  assert.equal(render("  padded  \r\n\r\n\r\nnext"), "<p>padded</p>\n<p>next</p>");
  assert.equal(render(""), "");
  assert.equal(render("\n\n  \n"), "");
});

Deno.test("[markdown] headings render as h3..h5, never h1 or h2", () => {
  assert.equal(render("# Title"), "<h3>Title</h3>");
  assert.equal(render("## Sub **x**"), "<h4>Sub <strong>x</strong></h4>");
  assert.equal(render("### Small ###"), "<h5>Small</h5>");
  assert.equal(render("###### Deep"), "<h5>Deep</h5>");
  assert.equal(render("#hashtag"), "<p>#hashtag</p>");
  assert.equal(render("C# rocks"), "<p>C# rocks</p>");
  assert.ok(!/<h[12]/.test(render("# a\n## b\nText\n---")));
});

Deno.test("[markdown] bold, emphasis and inline code", () => {
  assert.equal(
    render("**bold** and *em* and _em_"),
    "<p><strong>bold</strong> and <em>em</em> and <em>em</em></p>",
  );
  assert.equal(render("**bold *inside***"), "<p><strong>bold <em>inside</em></strong></p>");
  assert.equal(render("***both***"), "<p><strong><em>both</em></strong></p>");
  assert.equal(render("use `a < b && **c**`"), "<p>use <code>a &lt; b &amp;&amp; **c**</code></p>");
  assert.equal(render("snake_case_name"), "<p>snake_case_name</p>");
  assert.equal(render("2 * 3 * 4"), "<p>2 * 3 * 4</p>");
  assert.equal(render("\\*not em\\*"), "<p>*not em*</p>");
  assert.equal(render("``"), "<p>``</p>");
});

Deno.test("[markdown] unclosed emphasis stays literal", () => {
  assert.equal(render("**never closed"), "<p>**never closed</p>");
  assert.equal(render("*never closed"), "<p>*never closed</p>");
  assert.equal(render("_open and `code"), "<p>_open and `code</p>");
  assert.equal(render("** spaced **"), "<p>** spaced **</p>");
});

Deno.test("[markdown] fenced code blocks keep content verbatim and escaped", () => {
  const html = render('```js\nconst x = "<b>";\n\n**not bold**\n```\nafter');
  assert.equal(
    html,
    "<pre><code>const x = &quot;&lt;b&gt;&quot;;\n\n**not bold**</code></pre>\n<p>after</p>",
  );
  assert.equal(render("```\nunterminated <i>"), "<pre><code>unterminated &lt;i&gt;</code></pre>");
});

Deno.test("[markdown] bullet and ordered lists", () => {
  assert.equal(render("- one\n* two\n+ three"), "<ul>\n<li>one</li>\n<li>two</li>\n<li>three</li>\n</ul>");
  assert.equal(render("1. a\n2. b\n\n3. c"), "<ol>\n<li>a</li>\n<li>b</li>\n<li>c</li>\n</ol>");
  assert.equal(render("3. from three\n4. four"), '<ol start="3">\n<li>from three</li>\n<li>four</li>\n</ol>');
  assert.equal(render("- item\n  continued"), "<ul>\n<li>item<br>\ncontinued</li>\n</ul>");
  assert.equal(render("Intro:\n- a\n- b"), "<p>Intro:</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>");
  assert.equal(render("In\n2024. it happened"), "<p>In<br>\n2024. it happened</p>");
  assert.equal(render("- a\n\n1. b"), "<ul>\n<li>a</li>\n</ul>\n<ol>\n<li>b</li>\n</ol>");
});

Deno.test("[markdown] blockquotes, nested up to a limit", () => {
  assert.equal(
    render("> quoted\n> **line**"),
    "<blockquote>\n<p>quoted<br>\n<strong>line</strong></p>\n</blockquote>",
  );
  assert.equal(render("> # h\n> - x"), "<blockquote>\n<h3>h</h3>\n<ul>\n<li>x</li>\n</ul>\n</blockquote>");
  const deep = render(">>>>>> deep");
  assert.equal(deep.match(/<blockquote>/g)?.length, 3);
  assert.ok(deep.includes("&gt;&gt;&gt; deep"));
});

Deno.test("[markdown] horizontal rules", () => {
  assert.equal(render("a\n\n---\n\nb"), "<p>a</p>\n<hr>\n<p>b</p>");
  assert.equal(render("text\n---"), "<p>text</p>\n<hr>");
  assert.equal(render("* * *"), "<hr>");
  assert.equal(render("___"), "<hr>");
});

Deno.test("[markdown] links and autolinks", () => {
  assert.equal(
    render("[site](https://example.com/a?b=1&c=2)"),
    `<p>${link("https://example.com/a?b=1&amp;c=2", "site")}</p>`,
  );
  assert.equal(
    render("[**mail**](mailto:a@example.com)"),
    `<p>${link("mailto:a@example.com", "<strong>mail</strong>")}</p>`,
  );
  assert.equal(
    render("[wiki]( https://en.wikipedia.org/wiki/X_(y) )"),
    `<p>${link("https://en.wikipedia.org/wiki/X_(y)", "wiki")}</p>`,
  );
  assert.equal(
    render("see https://example.com/x."),
    `<p>see ${link("https://example.com/x", "https://example.com/x")}.</p>`,
  );
  assert.equal(
    render("(at http://example.com/a_b_c)"),
    `<p>(at ${link("http://example.com/a_b_c", "http://example.com/a_b_c")})</p>`,
  );
  assert.equal(
    render("**https://x.example**"),
    `<p><strong>${link("https://x.example", "https://x.example")}</strong></p>`,
  );
  assert.equal(render("nohttps://x.example"), "<p>nohttps://x.example</p>");
  assert.equal(
    render("[a [nested] link](https://x.example)"),
    `<p>${link("https://x.example", "a [nested] link")}</p>`,
  );
  assert.equal(render("[[x](https://x.example)"), `<p>[${link("https://x.example", "x")}</p>`);
  assert.equal(
    render("[outer [inner](https://a.example)](https://b.example)"),
    `<p>${link("https://b.example", "outer [inner](https://a.example)")}</p>`,
  );
  assert.equal(render("[not a link] (https://x.example)").includes("<a"), true);
  assert.equal(render("[](https://x.example)"), "<p>[](https://x.example)</p>");
  assert.equal(render("[rel](/relative/path)"), "<p>[rel](/relative/path)</p>");
});

Deno.test("[markdown] images are not supported", () => {
  const html = render("![alt](https://x.example/a.png)");
  assert.ok(!html.includes("<img"));
  assert.equal(html, `<p>!${link("https://x.example/a.png", "alt")}</p>`);
});

Deno.test("[markdown] isSafeUrl accepts only http, https and mailto", () => {
  for (const ok of ["https://a.example", "HTTP://A.EXAMPLE/x?y=1&z='2'", "mailto:me@example.com"]) {
    assert.ok(isSafeUrl(ok), ok);
  }
  for (
    const bad of [
      "",
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      " javascript:alert(1)",
      "java\tscript:alert(1)",
      "&#106;avascript:alert(1)",
      "data:text/html,x",
      "vbscript:x",
      "//evil.example",
      "/relative",
      "https://",
      "https:///x",
      "https://a.example/\u0000",
      "https://a.example/\u200b x",
      'https://a.example/"x',
      "https://a.example/<x>",
      "mailto:nobody",
    ]
  ) {
    assert.ok(!isSafeUrl(bad), JSON.stringify(bad));
  }
});

const XSS_VECTORS = [
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "[x](javascript:alert(1))",
  "[x](JaVaScRiPt:alert(1))",
  "[x](  javascript:alert(1))",
  "[x](java\tscript:alert(1))",
  "[x](java\nscript:alert(1))",
  "[x](java\u0000script:alert(1))",
  "[x](&#106;avascript:alert(1))",
  "[x](&#x6A;avascript:alert(1))",
  "[x](data:text/html,<script>)",
  "[x](vbscript:msgbox(1))",
  '[x](https://ok.example/" onmouseover="x)',
  '[x](https://ok.example/"onmouseover="x)',
  "[x](https://ok.example/'onmouseover='x)",
  "**<b>**",
  "*<i onclick=x>*",
  "`<script>`",
  "```\n</code></pre><script>alert(1)</script>\n```",
  "# <h1>big</h1>",
  "> <iframe src=javascript:alert(1)>",
  "- <svg onload=alert(1)>",
  "[<script>](https://ok.example)",
  "[x](https://ok.example)<script>",
  "https://ok.example/<script>alert(1)</script>",
  'https://ok.example/"onmouseover="alert(1)',
  "javascript:alert(1)",
  "[x]\n(javascript:alert(1))",
  "[[x](javascript:alert(1))](https://ok.example)",
  '<a href="javascript:alert(1)">x</a>',
  "&lt;script&gt;",
  "<!-- comment --><style>*{}</style>",
];

Deno.test("[markdown] XSS vectors render as inert text", () => {
  for (const vector of XSS_VECTORS) {
    const html = render(vector);
    assert.ok(!/<(?:script|img|iframe|svg|style|b|i|h1|!--)\b/i.test(html), `${vector} → ${html}`);
  }
  assert.equal(render("<script>alert(1)</script>"), "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
  assert.equal(render("<img src=x onerror=alert(1)>"), "<p>&lt;img src=x onerror=alert(1)&gt;</p>");
  assert.equal(render("[x](javascript:alert(1))"), "<p>[x](javascript:alert(1))</p>");
  assert.equal(render("[x](&#106;avascript:alert(1))"), "<p>[x](&amp;#106;avascript:alert(1))</p>");
  assert.equal(render("**<b>**"), "<p><strong>&lt;b&gt;</strong></p>");
  assert.equal(
    render('[x](https://ok.example/" onmouseover="x)'),
    "<p>[x](https://ok.example/&quot; onmouseover=&quot;x)</p>",
  );
  assert.equal(
    render("[x](https://ok.example/'q)"),
    `<p>${link("https://ok.example/&#39;q", "x")}</p>`,
  );
});

Deno.test("[markdown] input is truncated to maxLength", () => {
  assert.equal(render("abcdef", { maxLength: 3 }), "<p>abc</p>");
  assert.equal(render("x".repeat(30_000)).length, "<p></p>".length + 20_000);
  assert.equal(render("a😀", { maxLength: 2 }), "<p>a</p>");
  assert.equal(render("**bold**", { maxLength: 6 }), "<p>**bold</p>");
  assert.equal(render("abc", { maxLength: 0 }), "");
});

Deno.test("[markdown] adversarial input finishes quickly and stays safe", () => {
  const inputs = [
    "*".repeat(20_000),
    "_".repeat(20_000),
    "`".repeat(20_000),
    "**a".repeat(6_000),
    "*a _b ".repeat(3_000),
    "[".repeat(10_000) + "](",
    "[x](".repeat(5_000),
    "[](".repeat(6_000) + ")".repeat(2_000),
    "(".repeat(10_000) + ")".repeat(10_000),
    "https://".repeat(2_500),
    "https:///".repeat(2_200),
    ">".repeat(20_000),
    "# " + " ".repeat(19_990) + "x",
    "- \n".repeat(6_000),
    "1. a\n\n".repeat(3_000),
    "```\n".repeat(5_000),
    "\\".repeat(20_000),
    "<".repeat(20_000),
  ];
  for (const input of inputs) {
    const html = render(input);
    assert.ok(html.length > 0, input.slice(0, 20));
  }
});
