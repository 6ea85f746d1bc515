import assert from "node:assert/strict";
import { csvField, csvLine } from "./csv.ts";

/** A strict RFC 4180 reader: CRLF record ends, quoted fields may hold anything with `"` doubled. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        assert.ok(i < text.length, "unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r") {
        assert.ok(text[i] !== '"' && text[i] !== "\n", `bare ${JSON.stringify(text[i])} in unquoted field`);
        field += text[i++];
      }
    }
    row.push(field);
    if (text[i] === ",") i++;
    else {
      assert.equal(text.slice(i, i + 2), "\r\n", "record must end with CRLF");
      i += 2;
      rows.push(row);
      row = [];
    }
  }
  assert.equal(row.length, 0, "text must end with CRLF");
  return rows;
}

Deno.test("csv: plain values", () => {
  assert.equal(csvField("abc"), "abc");
  assert.equal(csvField(""), "");
  assert.equal(csvField(null), "");
  assert.equal(csvField(undefined), "");
  assert.equal(csvField(42), "42");
  assert.equal(csvField(-5), "-5");
  assert.equal(csvField(-12.5), "-12.5");
  assert.equal(csvField(12345678901234567890n), "12345678901234567890");
  assert.equal(csvField(-3n), "-3");
  assert.equal(csvField(true), "true");
  assert.equal(csvField(false), "false");
  assert.equal(csvField(new Date("2026-11-01T12:30:00Z")), "2026-11-01T12:30:00.000Z");
  assert.equal(csvField(new Uint8Array([0, 15, 255])), "\\x000fff");
  assert.equal(csvField(new Uint8Array([])), "\\x");
  assert.equal(csvField("héllo wörld ✓ 日本 🎉"), "héllo wörld ✓ 日本 🎉");
});

Deno.test("csv: quoting", () => {
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('"'), '""""');
  assert.equal(csvField("line1\r\nline2"), '"line1\r\nline2"');
  assert.equal(csvField("line1\nline2"), '"line1\nline2"');
  assert.equal(csvField("line1\rline2"), '"line1\rline2"');
  assert.equal(csvField("tab\tinside"), "tab\tinside");
  assert.equal(csvField(" spaces "), " spaces ");
});

Deno.test("csv: empty string and null are both empty fields", () => {
  assert.equal(csvLine(["", null, undefined, "x"]), ",,,x\r\n");
  assert.equal(csvLine([]), "\r\n");
});

Deno.test("csv: formula triggers are prefixed", () => {
  assert.equal(csvField("=1+2"), "'=1+2");
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField("@SUM(A1)"), "'@SUM(A1)");
  assert.equal(csvField("+1+cmd|' /C calc'!A0"), "'+1+cmd|' /C calc'!A0");
  assert.equal(csvField("-2+3"), "'-2+3");
  assert.equal(csvField("-"), "'-");
  assert.equal(csvField("+"), "'+");
  assert.equal(csvField("\t=x"), "'\t=x");
  assert.equal(csvField("\r=x"), `"'\r=x"`);
  assert.equal(csvField("=a,b"), `"'=a,b"`);
  // Only the first character matters.
  assert.equal(csvField("a=1"), "a=1");
  assert.equal(csvField(" =1"), " =1");
});

Deno.test("csv: plain numbers are not prefixed, as numbers or as strings", () => {
  for (const s of ["-5", "-12.5", "+3", "-0.5", "+1e3", "-1E-3", "-.5", "12"]) assert.equal(csvField(s), s);
  assert.equal(csvField(-1e21), "-1e+21");
  assert.equal(csvField(-0.000001), "-0.000001");
  assert.equal(csvField("-1e"), "'-1e");
  assert.equal(csvField("-12.5.1"), "'-12.5.1");
  assert.equal(csvField("-Infinity"), "'-Infinity");
  assert.equal(csvField("- 5"), "'- 5");
});

Deno.test("csv: a leading apostrophe is kept as is", () => {
  assert.equal(csvField("'already"), "'already");
  assert.equal(csvField("'=1"), "'=1");
  assert.equal(csvField("''"), "''");
});

Deno.test("csv: JSON values", () => {
  assert.equal(csvField({ a: 1, b: "x" }), `"{""a"":1,""b"":""x""}"`);
  assert.equal(csvField([1, 2]), `"[1,2]"`);
  assert.equal(csvField([]), "[]");
  assert.equal(csvField({}), "{}");
  assert.equal(csvField({ n: 10n }), `"{""n"":""10""}"`);
  // A JSON string value that starts with a trigger is still text.
  assert.equal(csvField(JSON.parse('"=1+2"')), "'=1+2");
  // JSON text of a string starts with a quote, which no spreadsheet runs.
  assert.equal(csvField({ toJSON: () => "=evil()" }), `"""=evil()"""`);
});

Deno.test("csv: csvLine joins fields with commas and ends with CRLF", () => {
  assert.equal(csvLine(["a", 1, null, "b,c", "=x", true]), `a,1,,"b,c",'=x,true\r\n`);
  assert.deepEqual(parseCsv(csvLine(["a", 'b"c', "d\r\ne"])), [["a", 'b"c', "d\r\ne"]]);
});

/** What a cell should read back as after the formula prefix, computed independently of csv.ts. */
function expected(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return String(value);
  const trigger = ["=", "+", "-", "@", "\t", "\r"].includes(value[0]);
  const plainNumber = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value);
  return trigger && !plainNumber ? "'" + value : value;
}

/** A small seeded PRNG so a failure can be reproduced. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("csv: fuzz round trip through an RFC 4180 reader", () => {
  const random = mulberry32(4180);
  const alphabet = [...'abcXYZ019 ,,""\r\n\r\n\t=+-@\'.eE;|!', "é", "日", "🎉", "\u0000", "\u2028"];
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const randomValue = (): unknown => {
    const r = random();
    if (r < 0.05) return null;
    if (r < 0.1) return Math.round((random() - 0.5) * 1e6) / 100;
    if (r < 0.15) return pick(["-5", "+3", "-12.5", "1e3", "-", "=", "@"]);
    const length = Math.floor(random() * 12);
    let s = "";
    for (let i = 0; i < length; i++) s += pick(alphabet);
    return s;
  };
  const rows: unknown[][] = [];
  let text = "";
  for (let r = 0; r < 1000; r++) {
    const row = Array.from({ length: 1 + Math.floor(random() * 8) }, randomValue);
    rows.push(row);
    text += csvLine(row);
  }
  const parsed = parseCsv(text);
  assert.equal(parsed.length, rows.length);
  rows.forEach((row, r) => {
    assert.deepEqual(parsed[r], row.map(expected), `row ${r}: ${JSON.stringify(row)}`);
    // Removing the prefix where it was applied gives the original cells back.
    const restored = parsed[r].map((cell, c) => cell === "'" + row[c] ? cell.slice(1) : cell);
    assert.deepEqual(restored, row.map((v) => v === null ? "" : String(v)));
  });
});
