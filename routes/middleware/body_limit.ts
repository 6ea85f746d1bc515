/** Refuses bodies whose declared Content-Length exceeds the limit (413) before reading them. */
import type { MiddlewareHandler } from "hono";
import { badRequest, payloadTooLarge } from "@/lib/errors.ts";
import type { AppEnv } from "../env.ts";

/** Body-size guard; {@link readBody} enforces the same limit on streamed bodies without a length. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async function bodyLimit(c, next) {
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      const n = Number(declared);
      if (!/^\d+$/.test(declared)) throw badRequest("Content-Length is not a number.");
      if (n > maxBytes) throw payloadTooLarge(maxBytes);
    }
    await next();
  };
}
