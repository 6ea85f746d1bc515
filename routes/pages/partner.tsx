/** Placeholder: the partner page (/partner) is being written. */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** The partner page. */
export const partnerPage = new Hono<AppEnv>();
