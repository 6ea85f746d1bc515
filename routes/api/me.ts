/** `/api/v1/me`: the caller's account and profile. */
import { Hono } from "hono";
import { z } from "zod";
import { nameSchema } from "@/lib/auth/schemas.ts";
import { getOwnProfile, updateOwnProfile } from "@/lib/profiles.ts";
import type { AppEnv } from "../env.ts";
import { renewCookieSession, requireUser, roleOf } from "../session.ts";
import { readJson } from "../validate.ts";

/** What a user may change on their profile. */
export const profilePatchSchema = z.strictObject({
  name: nameSchema.optional(),
  bio: z.string().max(500, "Use at most 500 characters.").optional(),
  avatar_url: z.union([
    z.url({ protocol: /^https?$/, error: "Use an http(s) URL." }).max(2048),
    z.null(),
  ]).optional(),
});

/** `/api/v1/me` routes. */
export const meApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = requireUser(c);
    const profile = await getOwnProfile(c.var.platform.db, claims);
    return c.json({ user: { ...profile, email: claims.email, role: roleOf(claims) } });
  })
  .patch("/", async (c) => {
    const claims = requireUser(c);
    const patch = await readJson(c, profilePatchSchema);
    const profile = await updateOwnProfile(c.var.platform.db, claims, patch);
    if (patch.name !== undefined) await renewCookieSession(c);
    return c.json({ user: { ...profile, email: claims.email, role: roleOf(claims) } });
  });
