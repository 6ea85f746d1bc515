/** `/admin/reports`: saved SQL reports (placeholder until the page lands). */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** SQL reports page. */
export const adminSqlReportsPage = new Hono<AppEnv>();
