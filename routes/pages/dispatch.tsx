/** Placeholder: the dispatch board (/admin/dispatch) is being written. */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** The dispatch board. */
export const dispatchPage = new Hono<AppEnv>();
