/**
 * CSV encoding for report downloads: RFC 4180 quoting with CRLF record ends, and protection against
 * spreadsheet formula injection. See docs/analytics.md, "Results".
 */

/** Characters that make a spreadsheet treat a cell as a formula when they start it. */
const FORMULA_START = new Set(["=", "+", "-", "@", "\t", "\r"]);
/** A plain number (`-12.5`, `+3`, `1e-3`): safe to leave unprefixed even if it starts with `-` or `+`. */
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const NEEDS_QUOTES = /[,"\r\n]/;

/** The text of a value before quoting; `check` says whether the formula check applies (text only). */
function toText(value: unknown): { text: string; check: boolean } {
  if (value === null || value === undefined) return { text: "", check: false };
  switch (typeof value) {
    case "string":
      return { text: value, check: true };
    case "number":
    case "bigint":
      return { text: String(value), check: false };
    case "boolean":
      return { text: value ? "true" : "false", check: false };
  }
  if (value instanceof Date) {
    return { text: Number.isNaN(value.getTime()) ? "" : value.toISOString(), check: false };
  }
  if (value instanceof Uint8Array) {
    let hex = "\\x";
    for (const byte of value) hex += byte.toString(16).padStart(2, "0");
    return { text: hex, check: false };
  }
  if (typeof value === "object") {
    const json = JSON.stringify(value, (_key, v) => typeof v === "bigint" ? v.toString() : v);
    return { text: json ?? "", check: true };
  }
  return { text: String(value), check: true };
}

/**
 * One CSV field (RFC 4180): quoted when it holds `,` `"` CR or LF (quotes doubled); formula-safe: a text cell
 * starting with `=` `+` `-` `@` TAB or CR gets a leading `'` unless it is a plain number like -12.5 or +3.
 *
 * null/undefined are empty, numbers and bigints and booleans are written as is, a Date as its ISO string,
 * a Uint8Array as `\x` + hex, other objects as JSON (checked and quoted like text).
 */
export function csvField(value: unknown): string {
  let { text, check } = toText(value);
  if (check && text.length > 0 && FORMULA_START.has(text[0]) && !PLAIN_NUMBER.test(text)) text = "'" + text;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record: the fields joined with `,` and ended with CRLF. */
export function csvLine(values: unknown[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
