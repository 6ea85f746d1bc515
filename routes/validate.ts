/**
 * Reading request bodies: content type (415), size (413, also for streamed bodies), syntax (400),
 * and a zod schema (422 with the offending paths). Object schemas should be strict so that unknown
 * fields are reported.
 */
import { z } from "zod";
import { badRequest, notFound, payloadTooLarge, unprocessable, unsupportedMediaType } from "@/lib/errors.ts";
import type { Ctx } from "./env.ts";

/** One validation problem, as returned in `error.details`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Flattens zod issues to `{path, message}`; unknown keys get one issue each with their own path. */
export function zodIssues(error: z.ZodError): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: [...base, key].join("."), message: "Unknown field." });
    } else {
      out.push({ path: base.join(".") || "(body)", message: issue.message });
    }
  }
  return out;
}

/** Validates `value` with `schema` or throws 422. */
export function check<S extends z.ZodType>(schema: S, value: unknown, what = "body"): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = zodIssues(parsed.error);
    throw unprocessable(
      `The ${what} is invalid: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
      details,
    );
  }
  return parsed.data;
}

/** Reads the raw body up to `maxBytes` even when no Content-Length was sent. */
export async function readBody(c: Ctx, maxBytes: number): Promise<Uint8Array> {
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw payloadTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.length;
  }
  return out;
}

function mediaType(c: Ctx): string {
  return (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** Reads a JSON body and validates it. */
export async function readJson<S extends z.ZodType>(c: Ctx, schema: S): Promise<z.output<S>> {
  if (mediaType(c) !== "application/json") throw unsupportedMediaType("application/json");
  const bytes = await readBody(c, c.var.platform.config.maxBodyBytes);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw badRequest("The body is not valid JSON.");
  }
  return check(schema, value);
}

/** Reads an urlencoded form body (what HTML forms send) and validates it. */
export async function readForm<S extends z.ZodType>(c: Ctx, schema: S): Promise<z.output<S>> {
  if (mediaType(c) !== "application/x-www-form-urlencoded") {
    throw unsupportedMediaType("application/x-www-form-urlencoded");
  }
  const bytes = await readBody(c, c.var.platform.config.maxBodyBytes);
  const params = new URLSearchParams(new TextDecoder().decode(bytes));
  const obj: Record<string, string> = {};
  for (const [k, v] of params) obj[k] = v;
  return check(schema, obj, "form");
}

/** Validates query parameters. */
export function readQuery<S extends z.ZodType>(c: Ctx, schema: S): z.output<S> {
  return check(schema, c.req.query(), "query");
}

/** Text of `min`..`max` characters (as Postgres counts them), without NUL, not only spaces. */
export const text = (min: number, max: number) =>
  z.string()
    .refine((s) => !s.includes("\u0000"), "Must not contain NUL characters.")
    .refine((s) => [...s].length <= max, `At most ${max} characters.`)
    .refine(
      (s) => min === 0 || s.trim().length >= min,
      min === 1 ? "Must not be empty." : `At least ${min} characters.`,
    );

const uuidSchema = z.uuid();
/** A UUID path parameter (lower-cased); anything else names nothing: 404 with `message`. */
export function uuidParam(c: Ctx, name: string, message: string): string {
  const parsed = uuidSchema.safeParse(c.req.param(name));
  if (!parsed.success) throw notFound(message);
  return parsed.data.toLowerCase();
}
