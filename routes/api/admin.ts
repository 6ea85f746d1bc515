/** `/api/v1/admin/*`: user management for admins. */
import { Hono } from "hono";
import { z } from "zod";
import { listUsers, setUserRole } from "@/lib/admin_users.ts";
import { ROLES } from "@/lib/auth/service.ts";
import type { AppEnv } from "../env.ts";
import { requireRole } from "../session.ts";
import { check, readJson, readQuery } from "../validate.ts";

const listQuery = z.strictObject({
  after: z.string().max(254).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Admin API routes. */
export const adminApi = new Hono<AppEnv>()
  .get("/users", async (c) => {
    const claims = requireRole(c, "admin");
    const q = readQuery(c, listQuery);
    const users = await listUsers(c.var.platform.db, claims, q);
    const next = users.length === q.limit ? users[users.length - 1].email : null;
    return c.json({ users, next_cursor: next });
  })
  .patch("/users/:id", async (c) => {
    const claims = requireRole(c, "admin");
    const id = check(z.uuid(), c.req.param("id"), "user id");
    const { role } = await readJson(c, z.strictObject({ role: z.enum(ROLES) }));
    return c.json({ user: await setUserRole(c.var.platform.db, claims, id, role) });
  });
