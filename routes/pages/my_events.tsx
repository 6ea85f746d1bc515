/** Placeholder: filled in by the events pages work (docs/events.md, Pages). */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** Routes of this page group. */
export const myEventsPages = new Hono<AppEnv>();
