/** Placeholder: the orders pages (/orders, /orders/:id, /track/:token) are being written. */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** The orders pages. */
export const orderPages = new Hono<AppEnv>();
