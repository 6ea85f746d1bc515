/**
 * Typed errors thrown anywhere in Plaza; one HTTP error handler maps them to the error shape
 * `{"error": {"code", "message", "details"}}` of DESIGN section 6.
 */

/** An error a client caused or may see: carries an HTTP status, a stable code and safe details. */
export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** 400: the request could not be read (malformed JSON, broken form). */
export const badRequest = (message: string, details?: unknown) =>
  new AppError(400, "bad_request", message, details);
/** 401: no credentials, or they are invalid or expired. */
export const unauthorized = (message = "Sign in to continue.", code = "unauthorized") =>
  new AppError(401, code, message);
/** 403: signed in but not allowed. */
export const forbidden = (message = "You are not allowed to do that.", code = "forbidden") =>
  new AppError(403, code, message);
/** 404: nothing at that address, or nothing the caller may see. */
export const notFound = (message = "Not found.") => new AppError(404, "not_found", message);
/** 409: conflicts with the current state (duplicate email, …). */
export const conflict = (message: string, code = "conflict") => new AppError(409, code, message);
/** 413: the body is larger than allowed. */
export const payloadTooLarge = (limit: number) =>
  new AppError(413, "payload_too_large", `The request body is larger than ${limit} bytes.`, { limit });
/** 415: the body is not of a type this endpoint reads. */
export const unsupportedMediaType = (expected: string) =>
  new AppError(415, "unsupported_media_type", `Send the body as ${expected}.`, { expected });
/** 422: well-formed but invalid; `details` lists the offending paths. */
export const unprocessable = (message: string, details?: unknown) =>
  new AppError(422, "validation_failed", message, details);
/** 429: rate limited; carries Retry-After and RateLimit headers. */
export const tooManyRequests = (retryAfterSeconds: number, headers: Record<string, string> = {}) =>
  new AppError(429, "rate_limited", `Too many requests. Try again in ${retryAfterSeconds} s.`, {
    retry_after: retryAfterSeconds,
  }, { "Retry-After": String(retryAfterSeconds), ...headers });
/** 503: a dependency Plaza needs for this request is unavailable. */
export const serviceUnavailable = (message: string, retryAfterSeconds = 30) =>
  new AppError(503, "service_unavailable", message, undefined, {
    "Retry-After": String(retryAfterSeconds),
  });
