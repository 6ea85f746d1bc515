/**
 * The one error handler: typed {@link AppError}s and known Postgres errors become the error shape
 * of DESIGN section 6; anything else is a 500 that leaks nothing and is logged with its stack.
 */
import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError } from "@/lib/errors.ts";
import type { AppEnv, Ctx } from "../env.ts";

/** Postgres SQLSTATEs that mean the client asked for something not allowed or not there. */
const pgErrors: Record<string, { status: number; code: string; message: string }> = {
  "42501": { status: 403, code: "forbidden", message: "You are not allowed to do that." },
  "23505": { status: 409, code: "conflict", message: "That already exists." },
  "23503": { status: 422, code: "validation_failed", message: "A referenced item does not exist." },
  "23514": { status: 422, code: "validation_failed", message: "A value is out of range." },
  "22P02": { status: 422, code: "validation_failed", message: "A value has the wrong format." },
  "22023": { status: 422, code: "validation_failed", message: "A value is not allowed." },
  "P0002": { status: 404, code: "not_found", message: "Not found." },
};

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Turns any thrown value into an {@link AppError}. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    return new AppError(err.status, err.status === 413 ? "payload_too_large" : "http_error", err.message);
  }
  const known = pgErrors[pgCode(err) ?? ""];
  if (known) return new AppError(known.status, known.code, known.message);
  return new AppError(500, "internal_error", "Something went wrong on our side. Try again.");
}

/** Wants an HTML page rather than JSON (a browser navigating, not the API). */
export function wantsHtml(c: Ctx): boolean {
  return !c.req.path.startsWith("/api/") && (c.req.header("accept") ?? "").includes("text/html");
}

/** Renders HTML error pages; set by the page routes. */
export type ErrorPageRenderer = (c: Ctx, error: AppError) => Response | Promise<Response>;

/** Creates Hono's onError handler. */
export function errorHandler(renderPage?: ErrorPageRenderer): ErrorHandler<AppEnv> {
  return (err, c) => {
    const error = toAppError(err);
    const log = c.var.log;
    if (error.status >= 500) log?.error("unhandled error", { err, path: c.req.path });
    else log?.info("request refused", { status: error.status, code: error.code, path: c.req.path });
    if (renderPage && wantsHtml(c)) {
      return Promise.resolve(renderPage(c, error)).then((res) => {
        for (const [k, v] of Object.entries(error.headers ?? {})) res.headers.set(k, v);
        return res;
      });
    }
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    return c.json({ error: body }, error.status as 400, error.headers);
  };
}
