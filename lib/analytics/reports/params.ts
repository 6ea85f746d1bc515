/**
 * Report parameter definitions and values: validating what an admin declares (`paramDefsSchema`) and turning
 * query-string or JSON values into bind values for the compiled SQL. See docs/analytics.md, "Parameters".
 */
import { z } from "zod";

/** The parameter types a report may declare. */
export const PARAM_TYPES = [
  "text",
  "number",
  "date",
  "date_range",
  "text_list",
  "number_list",
  "date_list",
] as const;
/** One of {@link PARAM_TYPES}. */
export type ParamType = typeof PARAM_TYPES[number];

/** A declared report parameter. Defaults use the query-string form; list defaults are arrays of strings. */
export interface ParamDef {
  name: string;
  type: ParamType;
  label?: string;
  default?: string | string[];
  required?: boolean;
}

/** The SQL cast each parameter type is bound with (`$1::numeric`). */
export const SQL_CASTS: Record<ParamType, string> = {
  text: "text",
  number: "numeric",
  date: "date",
  date_range: "daterange",
  text_list: "text[]",
  number_list: "numeric[]",
  date_list: "date[]",
};

/** Most characters in one text value (and in one default string). */
export const MAX_TEXT_LENGTH = 1000;
/** Most elements in a list value. */
export const MAX_LIST_LENGTH = 100;
/** Most characters in a number value. */
export const MAX_NUMBER_LENGTH = 100;

/** Why parameter values were refused; `param` names the parameter (the `details.param` of the 422). */
export class ParamError extends Error {
  constructor(
    public code: "unknown_parameter" | "invalid_parameter" | "missing_parameter",
    message: string,
    public param?: string,
  ) {
    super(message);
    this.name = "ParamError";
  }
}

/** Values as they arrive: a query string (repeated keys for lists) or a JSON object. */
export type ParamInput = URLSearchParams | Record<string, string | string[] | number | null>;

type ListType = "text_list" | "number_list" | "date_list";
type Scalar = "text" | "number" | "date";

const NAME = /^[a-z_][a-z0-9_]{0,39}$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for the list types. */
function isList(type: ParamType): type is ListType {
  return type.endsWith("_list");
}

/** The element type of a list type. */
function scalarOf(type: ListType): Scalar {
  return type.slice(0, -"_list".length) as Scalar;
}

/** True when `s` is `YYYY-MM-DD` naming a real calendar date (years 0001–9999). */
export function isCalendarDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return d <= days;
}

/** An error message for a scalar value of `type`, or null when it is valid. */
function scalarProblem(name: string, type: Scalar, value: string): string | null {
  switch (type) {
    case "text":
      if (value.includes("\u0000")) return `${name} must not contain NUL characters`;
      return value.length > MAX_TEXT_LENGTH ? `${name} must be at most ${MAX_TEXT_LENGTH} characters` : null;
    case "number":
      return value.length <= MAX_NUMBER_LENGTH && NUMBER.test(value)
        ? null
        : `${name} must be a number like 42, -0.5 or 1e3`;
    case "date":
      return isCalendarDate(value) ? null : `${name} must be a date like 2026-11-01`;
  }
}

/** Validates one string value of a non-list type and returns its bind value; throws invalid_parameter. */
function parseScalar(name: string, type: Exclude<ParamType, ListType>, value: string): string {
  if (type === "date_range") {
    const [start, end, ...rest] = value.split("..");
    const message = `${name} must be a date range like 2026-11-01..2026-11-30`;
    if (rest.length > 0 || end === undefined || !isCalendarDate(start) || !isCalendarDate(end)) {
      throw new ParamError("invalid_parameter", message, name);
    }
    if (start > end) {
      throw new ParamError("invalid_parameter", `${message} (the start must not be after the end)`, name);
    }
    return `[${start},${end}]`;
  }
  const problem = scalarProblem(name, type, value);
  if (problem) throw new ParamError("invalid_parameter", problem, name);
  return value;
}

/** Validates the values of a list type and returns a copy; throws invalid_parameter. */
function parseList(name: string, type: ListType, values: string[], allowEmpty: boolean): string[] {
  if (values.length === 0 && !allowEmpty) {
    throw new ParamError("invalid_parameter", `${name} needs at least one value`, name);
  }
  if (values.length > MAX_LIST_LENGTH) {
    throw new ParamError("invalid_parameter", `${name} takes at most ${MAX_LIST_LENGTH} values`, name);
  }
  const scalar = scalarOf(type);
  values.forEach((value, i) => {
    const problem = scalarProblem(name, scalar, value);
    if (problem) {
      throw new ParamError("invalid_parameter", `${problem} (value ${i + 1}: ${preview(value)})`, name);
    }
  });
  return [...values];
}

/** A short quoted rendering of a value for messages. */
function preview(value: string): string {
  return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
}

/** The bind value of a default (a string, or an array of strings for lists; `[]` allowed). */
function parseDefault(def: ParamDef, value: string | string[]): string | string[] {
  if (isList(def.type)) return parseList(def.name, def.type, Array.isArray(value) ? value : [value], true);
  if (Array.isArray(value)) {
    throw new ParamError("invalid_parameter", `the default of ${def.name} must be a single value`, def.name);
  }
  return parseScalar(def.name, def.type, value);
}

/** One parameter definition, as an admin declares it. */
export const paramDefSchema = z.strictObject({
  name: z.string().regex(
    NAME,
    "parameter names are a lowercase letter or _ followed by up to 39 lowercase letters, digits or _",
  ),
  type: z.enum(PARAM_TYPES),
  label: z.string().max(80).optional(),
  default: z.union([
    z.string().max(MAX_TEXT_LENGTH),
    z.array(z.string().max(MAX_TEXT_LENGTH)).max(MAX_LIST_LENGTH),
  ]).optional(),
  required: z.boolean().optional(),
}).superRefine((def, ctx) => {
  if (def.default === undefined) return;
  const list = isList(def.type);
  if (list !== Array.isArray(def.default)) {
    ctx.addIssue({
      code: "custom",
      path: ["default"],
      message: list
        ? `the default of a ${def.type} is an array of strings`
        : `the default of a ${def.type} is a string`,
    });
    return;
  }
  try {
    parseDefault(def, def.default);
  } catch (err) {
    if (!(err instanceof ParamError)) throw err;
    ctx.addIssue({ code: "custom", path: ["default"], message: `invalid default: ${err.message}` });
  }
});

/** A report's parameter list: at most 20, names unique. */
export const paramDefsSchema = z.array(paramDefSchema).max(20).refine(
  (defs) => new Set(defs.map((d) => d.name)).size === defs.length,
  { message: "duplicate parameter name" },
);

/** Reads the input into name → list of strings (null values count as absent). */
function readInput(input: ParamInput): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (input instanceof URLSearchParams) {
    for (const key of input.keys()) {
      if (!out.has(key)) out.set(key, input.getAll(key));
    }
    return out;
  }
  for (const [key, value] of Object.entries(input)) {
    if (value === null || value === undefined) continue;
    out.set(key, Array.isArray(value) ? value.map((v) => String(v)) : [String(value)]);
  }
  return out;
}

/** Throws unknown_parameter for an input key that is not declared (and not in `ignore`). */
function checkKeys(defs: ParamDef[], values: Map<string, string[]>, ignore: string[]): void {
  const declared = new Set(defs.map((d) => d.name));
  for (const key of values.keys()) {
    if (!declared.has(key) && !ignore.includes(key)) {
      throw new ParamError("unknown_parameter", `${preview(key)} is not a parameter of this report`, key);
    }
  }
}

/** The bind value of one declared parameter given its input values (undefined when absent). */
function resolve(def: ParamDef, given: string[] | undefined): string | string[] | null {
  if (given === undefined || (given.length === 0 && !isList(def.type))) {
    if (def.default !== undefined) return parseDefault(def, def.default);
    if (def.required === false) return null;
    throw new ParamError("missing_parameter", `${def.name} is required`, def.name);
  }
  if (isList(def.type)) return parseList(def.name, def.type, given, false);
  if (given.length > 1) {
    throw new ParamError(
      "invalid_parameter",
      `${def.name} takes a single value, not ${given.length}`,
      def.name,
    );
  }
  return parseScalar(def.name, def.type, given[0]);
}

/**
 * Reads values from a URLSearchParams (repeated keys for lists) or a plain object `{name: string |
 * string[]}` and returns bind values in the order of `order` (placeholder names from compileReportSql).
 * Every declared parameter is validated, used in the SQL or not. Scalars bind as strings (`number` as its
 * decimal text, `date_range` as the daterange literal `[start,end]`), lists as arrays of strings, absent
 * optional parameters as null; a null in the object counts as absent. Throws {@link ParamError}.
 *
 * @param options.ignore input keys that are not parameters (e.g. `format`) and must not be refused
 */
export function bindValues(
  defs: ParamDef[],
  input: ParamInput,
  order: string[],
  options: { ignore?: string[] } = {},
): unknown[] {
  const values = readInput(input);
  checkKeys(defs, values, options.ignore ?? []);
  const resolved = new Map<string, unknown>();
  for (const def of defs) resolved.set(def.name, resolve(def, values.get(def.name)));
  return order.map((name) => {
    if (!resolved.has(name)) {
      throw new ParamError("unknown_parameter", `{{${name}}} is not a declared parameter`, name);
    }
    return resolved.get(name);
  });
}

/**
 * The values as a JSON-able object for the audit log (`{name: value}`), in the form they were given
 * (`date_range` as `start..end`), defaults filled in and absent optional parameters as null. Never throws,
 * so failed runs can be audited too: undeclared keys (other than `options.ignore`) are included as given,
 * strings are cut at 1000 characters and lists at 100 values.
 */
export function describeValues(
  defs: ParamDef[],
  input: ParamInput,
  options: { ignore?: string[] } = {},
): Record<string, unknown> {
  const values = readInput(input);
  const clip = (s: string) => s.length > MAX_TEXT_LENGTH ? s.slice(0, MAX_TEXT_LENGTH) : s;
  const list = (items: string[]) => items.slice(0, MAX_LIST_LENGTH).map(clip);
  // Entries, not assignments: a key like "__proto__" must stay an own property.
  const entries: [string, unknown][] = [];
  const seen = new Set<string>(options.ignore ?? []);
  for (const def of defs) {
    seen.add(def.name);
    const raw = values.get(def.name) ?? def.default ?? null;
    if (raw === null) entries.push([def.name, null]);
    else if (!Array.isArray(raw)) entries.push([def.name, clip(raw)]);
    else if (isList(def.type) || raw.length !== 1) entries.push([def.name, list(raw)]);
    else entries.push([def.name, clip(raw[0])]);
  }
  for (const [key, given] of values) {
    if (!seen.has(key)) entries.push([clip(key), given.length === 1 ? clip(given[0]) : list(given)]);
  }
  return Object.fromEntries(entries);
}
