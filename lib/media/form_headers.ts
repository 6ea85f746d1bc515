/**
 * The header side of multipart/form-data (RFC 7578): a part's Content-Disposition name and filename
 * (`filename*` per RFC 5987, browsers' escaping undone) and Content-Type, and the sanitizing of client
 * filenames for display. The streaming parser is ./multipart.ts.
 */
import { AppError } from "@/lib/errors.ts";
import type { Part } from "./multipart.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The error every malformed header block raises. */
function fail(message: string): AppError {
  return new AppError(400, "bad_multipart", message);
}

/** Name, filename and content type from a part's raw header block. */
export function parsePartHeaders(block: Uint8Array): Omit<Part, "body"> {
  const headers = new Map<string, string>();
  const lines = decoder.decode(block).split("\r\n").filter((line) => line !== "");
  for (const [i, line] of lines.entries()) {
    if (line[0] === " " || line[0] === "\t") continue; // folded continuation, joined below
    const colon = line.indexOf(":");
    if (colon <= 0) throw fail("A part has a malformed header line.");
    let value = line.slice(colon + 1);
    for (let j = i + 1; j < lines.length && (lines[j][0] === " " || lines[j][0] === "\t"); j++) {
      value += " " + lines[j].trim();
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, value.trim());
  }
  const disposition = headers.get("content-disposition") ?? "";
  const semi = disposition.indexOf(";");
  const type = (semi < 0 ? disposition : disposition.slice(0, semi)).trim().toLowerCase();
  const params = semi < 0 ? new Map<string, string>() : parseParams(disposition, semi);
  const name = params.get("name");
  if (type !== "form-data" || name === undefined) {
    throw fail("A part lacks a Content-Disposition: form-data header with a name.");
  }
  const extended = params.get("filename*");
  const plain = params.get("filename");
  const filename = (extended === undefined ? null : decodeExtValue(extended)) ??
    (plain === undefined ? null : unescapeFormValue(plain));
  return { name: unescapeFormValue(name), filename, contentType: headers.get("content-type") || null };
}

/**
 * `; key=value` parameters after index `i` (the first `;`), keys lowercased, first occurrence wins.
 * A quoted value ends at a `"` followed by `;` or the end; `\"` before that is an escaped quote, and
 * other backslashes stay literal (browsers send Windows paths unescaped).
 */
export function parseParams(s: string, i: number): Map<string, string> {
  const params = new Map<string, string>();
  while (i < s.length) {
    i = s.indexOf(";", i);
    if (i < 0) break;
    const eq = s.indexOf("=", i + 1);
    const nextSemi = s.indexOf(";", i + 1);
    if (eq < 0 || (nextSemi >= 0 && nextSemi < eq)) {
      i = nextSemi < 0 ? s.length : nextSemi;
      continue;
    }
    const key = s.slice(i + 1, eq).trim().toLowerCase();
    let value: string;
    i = skipSpaces(s, eq + 1);
    if (s[i] === '"') {
      [value, i] = readQuoted(s, i + 1);
    } else {
      const end = nextSemi < 0 ? s.length : nextSemi;
      value = s.slice(i, end).trim();
      i = end;
    }
    if (key !== "" && !params.has(key)) params.set(key, value);
  }
  return params;
}

/** The quoted string starting after its opening quote at `i`, and the index after it. */
function readQuoted(s: string, i: number): [string, number] {
  let out = "";
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '"') return [out, i + 1];
    if (c === "\\" && s[i + 1] === '"' && !endsParam(s, i + 2)) {
      out += '"';
      i++;
    } else {
      out += c;
    }
  }
  return [out, i];
}

/** Whether only spaces and then `;` or the end follow index `i`. */
function endsParam(s: string, i: number): boolean {
  i = skipSpaces(s, i);
  return i >= s.length || s[i] === ";";
}

function skipSpaces(s: string, i: number): number {
  while (s[i] === " " || s[i] === "\t") i++;
  return i;
}

/**
 * Undoes the browsers' form-data escaping of `"`, CR and LF (WHATWG HTML), as undici and the
 * multipart/form-data draft do (Deno's own `formData()` keeps them escaped).
 */
function unescapeFormValue(value: string): string {
  return value.replace(/%0A/gi, "\n").replace(/%0D/gi, "\r").replace(/%22/g, '"');
}

/** An RFC 5987 ext-value (`UTF-8''caf%C3%A9.txt`), or null when malformed or in another charset. */
function decodeExtValue(value: string): string | null {
  const m = /^([A-Za-z0-9!#$&+\-^_`{}~]+)'[^']*'(.*)$/.exec(value);
  if (!m) return null;
  const charset = m[1].toLowerCase();
  if (!["utf-8", "iso-8859-1", "us-ascii"].includes(charset)) return null;
  const bytes: number[] = [];
  const text = m[2];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...encoder.encode(text[i]));
    }
  }
  try {
    return new TextDecoder(charset === "utf-8" ? "utf-8" : "latin1", { fatal: true })
      .decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

const UNSAFE_CHARS_RE = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069"'<>]/gu;
const MAX_FILENAME = 200;
const MAX_EXTENSION = 20;

/**
 * Sanitizes a client filename for display metadata: basename only (strip any path with / or \), remove
 * control chars, bidi overrides (U+202A-U+202E, U+2066-U+2069; also LRM, RLM, ALM), NUL, quotes and <>;
 * NFC; collapse whitespace; trim dots/spaces at ends; max 200 chars (code points) keeping the extension;
 * "" stays "" (caller substitutes).
 */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  const cleaned = base.replace(/\s/gu, " ").replace(UNSAFE_CHARS_RE, "").normalize("NFC");
  const collapsed = cleaned.replace(/\s+/gu, " ");
  return truncateKeepingExtension(trimDotsAndSpaces(collapsed), MAX_FILENAME);
}

function trimDotsAndSpaces(s: string): string {
  return s.replace(/^[.\s]+|[.\s]+$/gu, "");
}

/** `s` cut to `max` code points, keeping a short extension intact. */
function truncateKeepingExtension(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  const dot = s.lastIndexOf(".");
  const extension = dot > 0 ? Array.from(s.slice(dot)) : [];
  if (extension.length < 2 || extension.length > MAX_EXTENSION) {
    return trimDotsAndSpaces(chars.slice(0, max).join(""));
  }
  const stem = trimDotsAndSpaces(chars.slice(0, max - extension.length).join(""));
  return stem + extension.join("");
}
