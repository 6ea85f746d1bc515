/** Gives each request an id (echoed as X-Request-Id) and writes one log line when it finishes. */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "@/lib/log.ts";
import type { AppEnv } from "../env.ts";

const validId = /^[A-Za-z0-9._-]{8,128}$/;

/** Options: the base logger, and whether to trust an incoming X-Request-Id. */
export interface RequestLogOptions {
  log: Logger;
  trustIncomingId?: boolean;
}

/** The path as logged: secrets that travel in paths (calendar feed tokens) are left out. */
export function loggedPath(path: string): string {
  return path.replace(/^\/calendar\/[^/]+\.ics$/, "/calendar/<token>.ics");
}

export function requestLog({ log, trustIncomingId = false }: RequestLogOptions): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = trustIncomingId && incoming && validId.test(incoming) ? incoming : crypto.randomUUID();
    const reqLog = log.child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("log", reqLog);
    const start = performance.now();
    await next();
    c.header("X-Request-Id", requestId);
    const status = c.res.status;
    const fields = {
      method: c.req.method,
      path: loggedPath(c.req.path),
      status,
      duration_ms: Math.round((performance.now() - start) * 10) / 10,
    };
    if (status >= 500) reqLog.error("request", fields);
    else reqLog.debug("request", fields);
  };
}
