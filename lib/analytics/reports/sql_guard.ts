/**
 * Checks admin-written report SQL before it is run and compiles its `{{name}}` placeholders into bound,
 * cast parameters (`$1::text`). See docs/analytics.md, "SQL reports".
 *
 * This is a lexical guard, not a parser: it tokenizes the text the way Postgres does (comments, the string
 * forms, quoted identifiers, dollar quotes), then refuses what a report must not contain. The database role,
 * the read-only transaction and the statement timeout enforce the rest.
 */

/** Raised when report SQL is refused; `reason` is a stable code (`empty`, `too_long`, ...). */
export class SqlGuardError extends Error {
  /**
   * @param reason stable refusal code, e.g. `multiple_statements`
   * @param message human-readable explanation
   * @param position 0-based character offset in the SQL where the problem was found, when known
   */
  constructor(public reason: string, message: string, public position?: number) {
    super(message);
    this.name = "SqlGuardError";
  }
}

/** Compiled report SQL: `text` uses `$1..$n`; `params[i]` is the placeholder name bound to `$(i+1)`. */
export interface CompiledSql {
  text: string;
  params: string[];
  /** Where each piece of `text` came from: `[textStart, sqlStart, sqlEnd]`, in order (for error positions). */
  segments: [number, number, number][];
}

/**
 * The 1-based character position in the admin's `sql` of a 1-based `position` Postgres reported in
 * a statement that held `compiled.text` after `prefixLength` characters; null when it falls outside.
 */
export function sqlPosition(
  compiled: CompiledSql,
  sqlLength: number,
  position: number,
  prefixLength: number,
) {
  const at = position - 1 - prefixLength;
  if (at < 0) return null;
  if (at >= compiled.text.length) return sqlLength;
  let seg = compiled.segments[0];
  for (const s of compiled.segments) {
    if (s[0] > at) break;
    seg = s;
  }
  if (!seg) return null;
  return seg[1] + Math.min(at - seg[0], Math.max(0, seg[2] - seg[1] - 1)) + 1;
}

/** Longest report SQL accepted, in characters. */
export const MAX_SQL_LENGTH = 20_000;

const PLACEHOLDER_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

type TokenKind = "ws" | "comment" | "string" | "qident" | "ident" | "number" | "placeholder" | "op";

interface Token {
  kind: TokenKind;
  /** Start offset in the source. */
  start: number;
  /** End offset (exclusive). */
  end: number;
  /** ident: lower-cased name; qident: unescaped name as written; placeholder: its name; op: the character. */
  value: string;
}

const WS = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);

/** Postgres identifier start: ASCII letter, `_`, or any non-ASCII character. */
function isIdentStart(c: string): boolean {
  return /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
}

/** Postgres identifier continuation: also digits and `$`. */
function isIdentChar(c: string): boolean {
  return /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;
}

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

function unterminated(what: string, at: number): SqlGuardError {
  return new SqlGuardError("unterminated", `Unterminated ${what} starting at character ${at + 1}.`, at);
}

/** Splits SQL into tokens; throws for unterminated literals, `$1`, `U&` escapes and malformed placeholders. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value = "") => {
    tokens.push({ kind, start, end, value });
    i = end;
  };
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1] ?? "";
    if (WS.has(c)) {
      let j = i + 1;
      while (j < n && WS.has(sql[j])) j++;
      push("ws", i, j);
    } else if (c === "-" && next === "-") {
      let j = i + 2;
      while (j < n && sql[j] !== "\n" && sql[j] !== "\r") j++;
      push("comment", i, j);
    } else if (c === "/" && next === "*") {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === "/" && sql[j + 1] === "*") {
          depth++;
          j += 2;
        } else if (sql[j] === "*" && sql[j + 1] === "/") {
          depth--;
          j += 2;
        } else j++;
      }
      if (depth > 0) throw unterminated("block comment", i);
      push("comment", i, j);
    } else if (c === "'") {
      push("string", i, scanQuoted(sql, i, "'", false, "string"));
    } else if ((c === "e" || c === "E") && next === "'") {
      push("string", i, scanQuoted(sql, i + 1, "'", true, "string"));
    } else if ((c === "u" || c === "U") && next === "&" && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      throw new SqlGuardError(
        "unicode_escape",
        `U& escapes are not allowed (character ${i + 1}); write the characters themselves or use {{name}}.`,
        i,
      );
    } else if (c === '"') {
      const end = scanQuoted(sql, i, '"', false, "quoted identifier");
      push("qident", i, end, sql.slice(i + 1, end - 1).replaceAll('""', '"'));
    } else if (c === "$") {
      if (/[0-9]/.test(next)) {
        throw new SqlGuardError(
          "positional_parameter",
          `Positional parameters like $1 are not allowed (character ${i + 1}); write {{name}} instead.`,
          i,
        );
      }
      DOLLAR_TAG.lastIndex = i;
      const m = DOLLAR_TAG.exec(sql);
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        if (close < 0) throw unterminated(`dollar-quoted string ${m[0]}`, i);
        push("string", i, close + m[0].length);
      } else push("op", i, i + 1, c);
    } else if (c === "{" && next === "{") {
      const close = sql.indexOf("}}", i + 2);
      if (close < 0) {
        throw new SqlGuardError("bad_placeholder", `Placeholder at character ${i + 1} has no closing }}.`, i);
      }
      const name = sql.slice(i + 2, close).trim();
      if (!PLACEHOLDER_NAME.test(name)) {
        throw new SqlGuardError(
          "bad_placeholder",
          `Bad placeholder ${JSON.stringify(sql.slice(i, close + 2).slice(0, 60))} at character ${i + 1}: ` +
            "names are a lowercase letter or _ followed by up to 39 lowercase letters, digits or _.",
          i,
        );
      }
      push("placeholder", i, close + 2, name);
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(next))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(sql)!;
      push("number", i, i + m[0].length);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql[j])) j++;
      push("ident", i, j, sql.slice(i, j).toLowerCase());
    } else {
      push("op", i, i + 1, c);
    }
  }
  return tokens;
}

/**
 * Scans a quoted token whose opening quote is at `open`; a doubled quote is an escaped quote, and with
 * `backslash` a backslash escapes the next character. Returns the offset just past the closing quote.
 */
function scanQuoted(sql: string, open: number, quote: string, backslash: boolean, what: string): number {
  let j = open + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslash && c === "\\") j += 2;
    else if (c === quote) {
      if (sql[j + 1] === quote) j += 2;
      else return j + 1;
    } else j++;
  }
  throw unterminated(what, open);
}

/** Functions refused by exact name (the final name part, after any schema). */
const DENY_EXACT = new Set([
  "set_config",
  "ts_stat",
  "ts_rewrite",
  "pg_stat_file",
  "pg_terminate_backend",
  "pg_cancel_backend",
  "pg_reload_conf",
  "pg_rotate_logfile",
  "pg_promote",
  "pg_notify",
  "pg_switch_wal",
  "pg_export_snapshot",
  "pg_import_snapshot",
  "txid_current",
  "pg_current_xact_id",
  "nextval",
  "setval",
  "currval",
  "lastval",
]);

/** Functions refused by name prefix. */
const DENY_PREFIX = [
  "query_to_xml",
  "cursor_to_xml",
  "table_to_xml",
  "schema_to_xml",
  "database_to_xml",
  "pg_read_",
  "pg_ls_",
  "pg_file_",
  "lo_",
  "dblink",
  "pg_advisory",
  "pg_try_advisory",
  "pg_logical_",
  "pg_replication_",
  "pg_create_",
  "pg_drop_",
];

/** Refused only in embedded mode (PGlite cannot interrupt a running statement). */
const EMBEDDED_DENY_PREFIX = ["pg_sleep"];

const QUERY_KEYWORDS = new Set(["select", "with", "values", "table"]);

function isName(t: Token | undefined): t is Token {
  return t !== undefined && (t.kind === "ident" || t.kind === "qident");
}

function displayName(t: Token): string {
  return t.kind === "qident" ? `"${t.value.replaceAll('"', '""')}"` : t.value;
}

/** Throws when a function call in the significant tokens is deny-listed or schema-qualified. */
function checkCalls(sig: Token[], embedded: boolean): void {
  for (let k = 0; k < sig.length; k++) {
    const t = sig[k];
    if (!isName(t) || sig[k + 1]?.kind !== "op" || sig[k + 1].value !== "(") continue;
    const name = t.value;
    if (DENY_EXACT.has(name) || DENY_PREFIX.some((p) => name.startsWith(p))) {
      throw new SqlGuardError(
        "forbidden_function",
        `Reports may not call ${displayName(t)}() (settings, SQL from text, files, large objects, locks, ` +
          "signals, notifications, sequences and remote connections are off limits).",
        t.start,
      );
    }
    if (embedded && EMBEDDED_DENY_PREFIX.some((p) => name.startsWith(p))) {
      throw new SqlGuardError(
        "forbidden_function",
        `Reports may not call ${
          displayName(t)
        }() in embedded mode: embedded mode cannot interrupt a running ` +
          "query, so the statement timeout would not stop it.",
        t.start,
      );
    }
    const dot = sig[k - 1];
    const schema = sig[k - 2];
    if (dot?.kind === "op" && dot.value === "." && isName(schema) && schema.value !== "pg_catalog") {
      throw new SqlGuardError(
        "qualified_function",
        `Reports may not call functions qualified with schema ${displayName(schema)} ` +
          `(${displayName(schema)}.${displayName(t)}); only pg_catalog may be named.`,
        schema.start,
      );
    }
  }
}

/** Checks the SQL and returns its tokens and the index of the one trailing `;` token (or -1). */
function check(
  sql: string,
  casts: Record<string, string>,
  embedded: boolean,
): { tokens: Token[]; semi: number } {
  if (sql.length > MAX_SQL_LENGTH) {
    throw new SqlGuardError(
      "too_long",
      `The SQL is ${sql.length} characters long; the limit is ${MAX_SQL_LENGTH}.`,
    );
  }
  const tokens = tokenize(sql);
  const sigIndex: number[] = [];
  tokens.forEach((t, idx) => {
    if (t.kind !== "ws" && t.kind !== "comment") sigIndex.push(idx);
  });
  let semi = -1;
  const firstSemi = sigIndex.findIndex((idx) => tokens[idx].kind === "op" && tokens[idx].value === ";");
  if (firstSemi >= 0) {
    if (firstSemi < sigIndex.length - 1) {
      const at = tokens[sigIndex[firstSemi]].start;
      throw new SqlGuardError(
        "multiple_statements",
        `Only one statement is allowed; found more after the ; at character ${at + 1}.`,
        at,
      );
    }
    semi = sigIndex.pop()!;
  }
  const sig = sigIndex.map((idx) => tokens[idx]);
  if (sig.length === 0) throw new SqlGuardError("empty", "The SQL is empty.");
  const first = sig.find((t) => !(t.kind === "op" && t.value === "("));
  if (!first || first.kind !== "ident" || !QUERY_KEYWORDS.has(first.value)) {
    const word = first ? sql.slice(first.start, first.end).slice(0, 40) : "(";
    throw new SqlGuardError(
      "not_a_query",
      `A report must be a query starting with SELECT, WITH, VALUES or TABLE, not ${JSON.stringify(word)}.`,
      first?.start,
    );
  }
  checkCalls(sig, embedded);
  for (const t of sig) {
    if (t.kind === "placeholder" && !Object.hasOwn(casts, t.value)) {
      throw new SqlGuardError(
        "unknown_placeholder",
        `{{${t.value}}} is not a declared parameter.`,
        t.start,
      );
    }
  }
  return { tokens, semi };
}

/**
 * Checks `sql` and replaces each `{{name}}` with `$k::<cast>` using `casts[name]`; the same name reuses the
 * same `$k`. One trailing `;` is removed. Throws {@link SqlGuardError} when the SQL is refused.
 *
 * @param casts SQL type for each declared placeholder, e.g. `{q: "text", period: "daterange"}`
 * @param options.embedded also refuse `pg_sleep*` (embedded Postgres cannot interrupt a running query)
 */
export function compileReportSql(
  sql: string,
  casts: Record<string, string>,
  options: { embedded?: boolean } = {},
): CompiledSql {
  const { tokens, semi } = check(sql, casts, options.embedded === true);
  const params: string[] = [];
  const segments: [number, number, number][] = [];
  let text = "";
  tokens.forEach((t, idx) => {
    if (idx === semi) return;
    segments.push([text.length, t.start, t.end]);
    if (t.kind !== "placeholder") {
      text += sql.slice(t.start, t.end);
      return;
    }
    let k = params.indexOf(t.value);
    if (k < 0) k = params.push(t.value) - 1;
    let bound = `$${k + 1}::${casts[t.value]}`;
    // `$1::text[][1]` would read the subscript as array bounds of the type; `($1::text[])[1]` subscripts.
    const nextSig = tokens.slice(idx + 1).find((u) => u.kind !== "ws" && u.kind !== "comment");
    if (nextSig?.kind === "op" && nextSig.value === "[") bound = `(${bound})`;
    // Keep the parameter a token of its own: `x{{a}}` must not become the identifier `x$1`.
    if (text.length > 0 && isIdentChar(text[text.length - 1])) bound = " " + bound;
    const after = sql[t.end];
    if (after !== undefined && (isIdentChar(after) || after === "'" || after === '"')) bound += " ";
    text += bound;
  });
  return { text, params, segments };
}

/**
 * Names of the `{{placeholders}}` outside strings and comments, in order of first appearance (for
 * validating declared params). Throws {@link SqlGuardError} when the SQL cannot be tokenized.
 */
export function placeholderNames(sql: string): string[] {
  const names: string[] = [];
  for (const t of tokenize(sql)) {
    if (t.kind === "placeholder" && !names.includes(t.value)) names.push(t.value);
  }
  return names;
}

/** What {@link wrapForRun} puts before the compiled text. */
export const RUN_PREFIX = "select * from (\n";

/**
 * Wraps compiled text as `select * from (\n<text>\n) as report limit $<n+1>`; the caller binds the row cap
 * (plus one, to detect truncation) as the last parameter. The newline before the closing parenthesis keeps
 * a trailing `--` comment from swallowing it.
 */
export function wrapForRun(compiled: CompiledSql): string {
  return `${RUN_PREFIX}${compiled.text}\n) as report limit $${compiled.params.length + 1}`;
}
