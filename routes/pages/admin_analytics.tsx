/** `/admin/analytics`: the analytics dashboard (placeholder until the page lands). */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** Analytics dashboard page. */
export const adminAnalyticsPage = new Hono<AppEnv>();
